import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { AdminErrorDto } from '../admin/admin-envelope.dto';
import { STRAIT_CONFIG } from '../common/strait-config.token';
import type { StraitConfig } from '../config/strait-config';
import { normaliseSni } from '../proxy-runtime/proxy-config.mapper';
import { DataPlane } from '../data-plane/data-plane';
import { MatchRequestDto, MatchResultDto } from './match.dto';

/**
 * The route-match debugger: which stream route would a connection hit, and why every other route
 * does not. Answered by the running engine's own route table, so it cannot disagree with traffic.
 */
@ApiTags('Strait: runtime')
@ApiSecurity('X-API-KEY')
@Controller('strait/v1')
export class MatchController {
  constructor(
    private readonly dataPlane: DataPlane,
    @Inject(STRAIT_CONFIG) private readonly config: StraitConfig,
  ) {}

  @Post('match')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'postMatch',
    summary: 'Explain which stream route a connection would hit',
  })
  @ApiResponse({ status: 200, type: MatchResultDto })
  @ApiResponse({ status: 400, type: AdminErrorDto })
  postMatch(@Body() request: MatchRequestDto): Promise<MatchResultDto> {
    const protocol = request.protocol ?? 'tcp';
    // A UDP session never has an SNI; a TCP connection without one may use fallback_sni (spec 3.4).
    const sni = protocol === 'udp' ? undefined : (request.sni ?? this.config.fallbackSni);
    return this.dataPlane.explainMatch({
      protocol,
      remoteAddr: request.remote_addr,
      remotePort: request.remote_port ?? 0,
      serverAddr: request.server_addr,
      serverPort: request.server_port,
      sni: sni === undefined ? undefined : normaliseSni(sni),
    });
  }
}
