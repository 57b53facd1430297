import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class CertificateDetailDto {
  @ApiProperty({ type: [String], example: ['*.test.com', 'test.com'] }) names!: string[];
  @ApiProperty({ example: 'CN=Strait Test CA' }) issuer!: string;
  @ApiProperty({ example: 'AB:CD:…' }) fingerprint256!: string;
  @ApiProperty({ description: 'ISO-8601' }) validFrom!: string;
  @ApiProperty({ description: 'ISO-8601' }) validTo!: string;
  @ApiProperty({ description: 'Whole days until expiry (negative when expired)' })
  daysLeft!: number;
  @ApiPropertyOptional({ example: 'ec' }) keyType?: string;
}

export class SslCertificatesDto {
  @ApiProperty({ example: '1' }) id!: string;
  @ApiProperty({ enum: ['server', 'client'] }) type!: string;
  /** False for `status: 0` objects, which take no part in SNI selection. */
  @ApiProperty() enabled!: boolean;
  @ApiProperty({ type: [String], description: 'SNIs the object is selected for' }) snis!: string[];
  @ApiProperty({ type: () => [CertificateDetailDto] }) certificates!: CertificateDetailDto[];
  /** Set when a certificate cannot be parsed (then it is not described). */
  @ApiPropertyOptional() error?: string;
}

export class UncoveredSniDto {
  @ApiProperty({ example: '3' }) routeId!: string;
  @ApiProperty({ example: 'b.example.com' }) sni!: string;
  @ApiProperty({
    enum: ['no_match', 'wildcard_too_deep', 'no_sni'],
    description: 'Why no certificate is selected',
  })
  reason!: string;
}

export class CertificateInventoryDto {
  @ApiProperty({ type: () => [SslCertificatesDto] }) list!: SslCertificatesDto[];
  @ApiProperty({
    type: () => [UncoveredSniDto],
    description: 'Stream route SNIs no enabled server certificate covers',
  })
  uncoveredSnis!: UncoveredSniDto[];
}
