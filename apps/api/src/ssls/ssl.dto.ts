/**
 * The ssl model of the admin API (`ssl` of apisix/schema_def.lua; no `name` field, and
 * validity_start/validity_end/exptime are gone since 3.7). Documentation and client types only:
 * bodies are validated by apisix-schema with APISIX's error texts.
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ApiDescProperty,
  ApiIdProperty,
  ApiLabelsProperty,
  ApiTimestampProperty,
  CERTIFICATE_EXAMPLE,
  CERTIFICATE_SCHEMA,
  HOST_DEFINITION_PATTERN,
  PRIVATE_KEY_EXAMPLE,
  PRIVATE_KEY_SCHEMA,
} from '../common/resource-properties';

const SSL_TYPES = ['server', 'client'] as const;
const SSL_PROTOCOLS = ['TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;

/** Client certificate verification (mTLS) of a server ssl. */
export class SslClientDto {
  @ApiProperty({
    description: 'PEM CA certificate(s) that client certificates must chain to',
    ...CERTIFICATE_SCHEMA,
    example: CERTIFICATE_EXAMPLE,
  })
  ca!: string;

  @ApiPropertyOptional({
    description: 'Maximum length of the client certificate chain',
    type: 'integer',
    minimum: 0,
    default: 1,
    example: 1,
  })
  depth?: number;

  @ApiPropertyOptional({
    description:
      'URI regular expressions exempt from mTLS (HTTP only; ignored by the stream proxy)',
    type: 'string',
    isArray: true,
    minItems: 1,
    uniqueItems: true,
    example: ['^/health$'],
  })
  skip_mtls_uri_regex?: string[];
}

/**
 * An APISIX SSL object as written to and read from the admin API. A server ssl needs `cert`,
 * `key` and exactly one of `sni` or `snis` (otherwise `then clause did not match`); a client ssl
 * needs `cert` and `key`. GET answers leave out `key` and `keys`.
 */
export class SslDto {
  @ApiIdProperty('Ssl id (taken from the URL on PUT /{id})')
  id?: string | number;

  @ApiDescProperty('Wildcard certificate of example.com')
  desc?: string;

  @ApiLabelsProperty()
  labels?: Record<string, string>;

  @ApiTimestampProperty('create_time')
  create_time?: number;

  @ApiTimestampProperty('update_time')
  update_time?: number;

  @ApiPropertyOptional({
    description:
      'server: presented to clients of TLS listeners, chosen by SNI; client: presented to ' +
      'upstreams (tls.client_cert_id)',
    type: 'string',
    enum: SSL_TYPES,
    default: 'server',
    example: 'server',
  })
  type?: (typeof SSL_TYPES)[number];

  @ApiPropertyOptional({
    description: 'PEM certificate (chain), or a $secret:// or $env:// reference',
    ...CERTIFICATE_SCHEMA,
    example: CERTIFICATE_EXAMPLE,
  })
  cert?: string;

  @ApiPropertyOptional({
    description:
      'PEM private key of cert, or a $secret:// or $env:// reference; stored encrypted and ' +
      'never returned by GET',
    ...PRIVATE_KEY_SCHEMA,
    example: PRIVATE_KEY_EXAMPLE,
  })
  key?: string;

  @ApiPropertyOptional({
    description: 'Server name the certificate is chosen for; * wildcards the leftmost label',
    type: 'string',
    pattern: HOST_DEFINITION_PATTERN,
    example: '*.example.com',
  })
  sni?: string;

  @ApiPropertyOptional({
    description: 'Several server names (instead of sni)',
    type: 'string',
    isArray: true,
    minItems: 1,
    pattern: HOST_DEFINITION_PATTERN,
    example: ['example.com', '*.example.com'],
  })
  snis?: string[];

  @ApiPropertyOptional({
    description: 'Additional certificates (e.g. ECDSA beside RSA), paired with keys by position',
    ...CERTIFICATE_SCHEMA,
    isArray: true,
    example: [CERTIFICATE_EXAMPLE],
  })
  certs?: string[];

  @ApiPropertyOptional({
    description:
      'Private keys of certs, in the same order; stored encrypted and never returned by GET',
    ...PRIVATE_KEY_SCHEMA,
    isArray: true,
    example: [PRIVATE_KEY_EXAMPLE],
  })
  keys?: string[];

  @ApiPropertyOptional({ type: () => SslClientDto, description: 'Client certificate verification' })
  client?: SslClientDto;

  @ApiPropertyOptional({
    description: '1 enables the certificate, 0 keeps it but never selects it',
    type: 'integer',
    enum: [1, 0],
    default: 1,
    example: 1,
  })
  status?: 1 | 0;

  @ApiPropertyOptional({
    description: 'TLS versions offered with this certificate',
    type: 'string',
    isArray: true,
    enum: SSL_PROTOCOLS,
    maxItems: 3,
    uniqueItems: true,
    example: ['TLSv1.2', 'TLSv1.3'],
  })
  ssl_protocols?: (typeof SSL_PROTOCOLS)[number][];
}
