import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** `{"error_msg": ...}`: every APISIX admin error except the 404 of a missing key. */
export class AdminErrorDto {
  @ApiProperty({ example: 'invalid configuration: additional properties forbidden, found foo' })
  error_msg!: string;

  /** Present on 401 answers: `missing apikey`, `wrong apikey`, `invalid method for role viewer`. */
  @ApiPropertyOptional({ example: 'missing apikey' })
  description?: string;
}

/** The 404 of GET or DELETE on a missing id: note `message`, not `error_msg` (APISIX/etcd shape). */
export class KeyNotFoundDto {
  @ApiProperty({ example: 'Key not found' })
  message!: string;
}

export class DeletedDto {
  /** Always the string "1". */
  @ApiProperty({ example: '1' })
  deleted!: string;

  @ApiProperty({ example: '/apisix/stream_routes/1' })
  key!: string;
}
