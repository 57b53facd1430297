import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsIP,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';

/**
 * Composite decorators for Strait's own (/strait/v1) request models: one place bundles the
 * class-validator rule, the transform and the OpenAPI property, so validation and documentation
 * cannot drift apart. (APISIX resources are validated by apisix-schema instead, for its texts.)
 */

export function IpAddressField(options: {
  description: string;
  example: string;
  optional?: boolean;
}) {
  return applyDecorators(
    (options.optional ? ApiPropertyOptional : ApiProperty)({
      type: String,
      description: options.description,
      example: options.example,
    }),
    ...(options.optional ? [IsOptional()] : []),
    IsIP(undefined, { message: `$property must be an IPv4 or IPv6 address` }),
  );
}

export function PortField(options: { description: string; example: number; optional?: boolean }) {
  return applyDecorators(
    (options.optional ? ApiPropertyOptional : ApiProperty)({
      type: 'integer',
      minimum: 1,
      maximum: 65535,
      description: options.description,
      example: options.example,
    }),
    ...(options.optional ? [IsOptional()] : []),
    Type(() => Number),
    IsInt({ message: '$property must be an integer' }),
    Min(1, { message: '$property must be at least 1' }),
    Max(65535, { message: '$property must be at most 65535' }),
  );
}

export function ServerNameField(options: { description: string; example: string }) {
  return applyDecorators(
    ApiPropertyOptional({
      type: String,
      description: options.description,
      example: options.example,
    }),
    IsOptional(),
    IsString(),
    MaxLength(253),
    Matches(/^[0-9a-zA-Z-._]+$/, { message: '$property must be a host name' }),
  );
}

export function EnumField<T extends string>(options: {
  values: readonly T[];
  description: string;
  defaultValue?: T;
}) {
  return applyDecorators(
    ApiPropertyOptional({
      enum: options.values,
      description: options.description,
      default: options.defaultValue,
    }),
    IsOptional(),
    IsIn(options.values as T[], {
      message: `$property must be one of: ${options.values.join(', ')}`,
    }),
  );
}
