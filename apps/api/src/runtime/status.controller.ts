import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { STRAIT_CONFIG } from '../common/strait-config.token';
import type { StraitConfig } from '../config/strait-config';
import { DataPlane } from '../data-plane/data-plane';
import { ResourceStore } from '../store/resource-store';
import { StatusDto } from './runtime.dto';

const STARTED_AT = Date.now();

/** What is running: listeners from the config and whether each is bound, object counts. */
@ApiTags('Strait: runtime')
@ApiSecurity('X-API-KEY')
@Controller('strait/v1')
export class StatusController {
  constructor(
    @Inject(STRAIT_CONFIG) private readonly config: StraitConfig,
    private readonly dataPlane: DataPlane,
    private readonly store: ResourceStore,
  ) {}

  @Get('status')
  @ApiOperation({
    operationId: 'getStatus',
    summary: 'Listeners, object counts and active connections',
  })
  @ApiResponse({ status: 200, type: StatusDto })
  async getStatus(): Promise<StatusDto> {
    const counts = await this.store.read(async (session) => ({
      stream_routes: (await session.list('stream_routes')).length,
      upstreams: (await session.list('upstreams')).length,
      ssls: (await session.list('ssls')).length,
      services: (await session.list('services')).length,
    }));
    return {
      version: '0.1.0',
      uptimeSeconds: Math.round((Date.now() - STARTED_AT) / 1000),
      streamEnabled: this.config.streamEnabled,
      listeners: await this.dataPlane.listenerStatus(),
      counts,
      activeConnections: await this.dataPlane.connectionCount(),
      dataPlane: { mode: this.dataPlane.mode, workers: this.dataPlane.workers() },
    };
  }
}
