import { Controller, DefaultValuePipe, Get, ParseIntPipe, Query } from '@nestjs/common';
import {
  ApiOperation,
  ApiProperty,
  ApiQuery,
  ApiResponse,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import { DataPlane } from '../data-plane/data-plane';

class TrafficSampleDto {
  @ApiProperty({ description: 'Epoch seconds' }) time!: number;
  @ApiProperty({ description: 'Connections opened in that second' }) connections!: number;
  @ApiProperty() bytesFromClient!: number;
  @ApiProperty() bytesToClient!: number;
}

class RouteTrafficDto {
  /** Empty for connections that matched no route. */
  @ApiProperty({ example: '1' }) routeId!: string;
  @ApiProperty() connectionsTotal!: number;
  @ApiProperty() activeConnections!: number;
  @ApiProperty() bytesFromClient!: number;
  @ApiProperty() bytesToClient!: number;
  @ApiProperty({ type: () => [TrafficSampleDto] }) series!: TrafficSampleDto[];
}

class TrafficDto {
  @ApiProperty({ type: () => [RouteTrafficDto] }) routes!: RouteTrafficDto[];
}

/** Per-route traffic for the dashboard's charts: totals and per-second samples. */
@ApiTags('Strait: runtime')
@ApiSecurity('X-API-KEY')
@Controller('strait/v1')
export class TrafficController {
  constructor(private readonly dataPlane: DataPlane) {}

  @Get('traffic')
  @ApiOperation({ operationId: 'getTraffic', summary: 'Per-route totals and per-second samples' })
  @ApiQuery({
    name: 'seconds',
    required: false,
    type: Number,
    description: 'History to return, 1..300 (default 60)',
  })
  @ApiResponse({ status: 200, type: TrafficDto })
  async getTraffic(
    @Query('seconds', new DefaultValuePipe(60), ParseIntPipe) seconds: number,
  ): Promise<TrafficDto> {
    const window = Math.min(300, Math.max(1, seconds));
    const report = await this.dataPlane.traffic(window);
    const routes = report.routes.map((counters) => ({
      routeId: counters.routeId,
      connectionsTotal: counters.connectionsTotal,
      activeConnections: counters.active,
      bytesFromClient: counters.bytesFromClient,
      bytesToClient: counters.bytesToClient,
      series: Object.hasOwn(report.series, counters.routeId) ? report.series[counters.routeId] : [],
    }));
    return { routes };
  }
}
