import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { AdminErrorDto } from '../admin/admin-envelope.dto';
import { HealthListDto, UpstreamHealthDto } from './health.dto';
import { HealthService } from './health.service';

/** Health-check state of upstream nodes (Strait extension; APISIX has only its control API). */
@ApiTags('Strait: health')
@ApiSecurity('X-API-KEY')
@Controller('strait/v1')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('upstreams/:id/health')
  @ApiOperation({
    operationId: 'getUpstreamHealth',
    summary: 'Health of the nodes of one stored upstream',
  })
  @ApiParam({ name: 'id', type: String, example: '1' })
  @ApiResponse({ status: 200, type: UpstreamHealthDto })
  @ApiResponse({ status: 404, type: AdminErrorDto, description: '`upstream <id> not found`' })
  getUpstreamHealth(@Param('id') id: string): Promise<UpstreamHealthDto> {
    return this.health.upstreamHealth(id);
  }

  @Get('health')
  @ApiOperation({
    operationId: 'listHealth',
    summary: 'Health of every upstream with running checks, stored and inline',
  })
  @ApiResponse({ status: 200, type: HealthListDto })
  listHealth(): Promise<HealthListDto> {
    return this.health.list();
  }
}
