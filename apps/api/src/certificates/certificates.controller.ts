import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { describeCertificate, selectCertificate } from '@strait/proxy';
import { DataPlane } from '../data-plane/data-plane';
import type { JsonObject } from '../store/resource-kind';
import { ResourceStore } from '../store/resource-store';
import {
  CertificateDetailDto,
  CertificateInventoryDto,
  SslCertificatesDto,
} from './certificates.dto';

const DAY_MS = 86_400_000;

/**
 * Every certificate Strait holds, read from the certificates themselves (names, issuer,
 * fingerprint, expiry), and the stream route SNIs that no enabled certificate would serve — the
 * usual reason an SNI route "does not work" (spec 6, item 3).
 */
@ApiTags('Strait: certificates')
@ApiSecurity('X-API-KEY')
@Controller('strait/v1/certificates')
export class CertificatesController {
  constructor(
    private readonly store: ResourceStore,
    private readonly dataPlane: DataPlane,
  ) {}

  @Get()
  @ApiOperation({
    operationId: 'listCertificates',
    summary: 'Certificates with names and expiry, and route SNIs without a certificate',
  })
  @ApiResponse({ status: 200, type: CertificateInventoryDto })
  async listCertificates(): Promise<CertificateInventoryDto> {
    const ssls = await this.store.read((session) => session.list('ssls'));
    const list = ssls.map((ssl) => describeSsl(ssl.id, ssl.value));
    const applied = this.dataPlane.appliedConfig();
    const uncoveredSnis = applied.routes.flatMap((route) => {
      if (route.sni === undefined) return [];
      const selection = selectCertificate(applied.certificates, route.sni);
      return selection.ok ? [] : [{ routeId: route.id, sni: route.sni, reason: selection.reason }];
    });
    return { list, uncoveredSnis };
  }
}

function describeSsl(id: string, value: JsonObject): SslCertificatesDto {
  const pems = [value.cert, ...(Array.isArray(value.certs) ? value.certs : [])].filter(
    (pem): pem is string => typeof pem === 'string',
  );
  const snis =
    typeof value.sni === 'string'
      ? [value.sni]
      : Array.isArray(value.snis)
        ? value.snis.map(String)
        : [];
  const result: SslCertificatesDto = {
    id,
    type: value.type === 'client' ? 'client' : 'server',
    enabled: value.status !== 0,
    snis,
    certificates: [],
  };
  try {
    result.certificates = pems.map((pem) => describePem(pem));
  } catch (error) {
    result.error = (error as Error).message;
  }
  return result;
}

function describePem(pem: string): CertificateDetailDto {
  const description = describeCertificate(pem);
  return {
    names: description.names,
    issuer: description.issuer,
    fingerprint256: description.fingerprint256,
    validFrom: description.validFrom,
    validTo: description.validTo,
    daysLeft: Math.floor((Date.parse(description.validTo) - Date.now()) / DAY_MS),
    keyType: description.keyType,
  };
}
