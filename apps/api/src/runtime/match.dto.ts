import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { EnumField, IpAddressField, PortField, ServerNameField } from '../common/validation';

/** A connection to imagine: who connects, to which local address and port, with which SNI. */
export class MatchRequestDto {
  @IpAddressField({ description: "The client's address ($remote_addr)", example: '127.0.0.1' })
  remote_addr!: string;

  @PortField({ description: "The client's port", example: 50000, optional: true })
  remote_port?: number;

  @IpAddressField({
    description: 'The local address the connection arrives at ($server_addr)',
    example: '127.0.0.10',
  })
  server_addr!: string;

  @PortField({ description: 'The listener port ($server_port)', example: 9101 })
  server_port!: number;

  @ServerNameField({ description: 'SNI of the TLS handshake, if any', example: 'a.test.com' })
  sni?: string;

  @EnumField({ values: ['tcp', 'udp'] as const, description: 'Transport', defaultValue: 'tcp' })
  protocol?: 'tcp' | 'udp';
}

export class MatchCandidateDto {
  @ApiProperty({ example: '2' })
  id!: string;

  /** The first criterion this route failed; `shadowed` = it matched but an earlier route won. */
  @ApiProperty({
    enum: ['sni', 'remote_addr', 'server_addr', 'server_port', 'shadowed', 'subordinate'],
    description:
      'The first criterion this route failed; shadowed = it matched but an earlier route won',
  })
  failed!: string;
}

export class MatchResultDto {
  /** The winning stream route's id, or null when the connection would be closed. */
  @ApiPropertyOptional({ type: String, nullable: true, example: '1' })
  matched!: string | null;

  @ApiProperty({ type: () => [MatchCandidateDto] })
  others!: MatchCandidateDto[];
}
