import { Controller, Delete, Get, Param, ParseIntPipe, Query } from '@nestjs/common';
import {
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiResponse,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import { AdminErrorDto } from '../admin/admin-envelope.dto';
import { AdminError } from '../common/admin-error';
import { DataPlane } from '../data-plane/data-plane';
import { ClosedCountDto, ConnectionListDto } from './runtime.dto';

/** The live connection table: list, close one, close all to a node (drain). */
@ApiTags('Strait: connections')
@ApiSecurity('X-API-KEY')
@Controller('strait/v1/connections')
export class ConnectionsController {
  constructor(private readonly dataPlane: DataPlane) {}

  @Get()
  @ApiOperation({
    operationId: 'listConnections',
    summary: 'Open TCP connections and UDP sessions',
  })
  @ApiQuery({ name: 'route_id', required: false, type: String })
  @ApiQuery({ name: 'node', required: false, type: String, description: 'host:port' })
  @ApiResponse({ status: 200, type: ConnectionListDto })
  async listConnections(
    @Query('route_id') routeId?: string,
    @Query('node') node?: string,
  ): Promise<ConnectionListDto> {
    const list = (await this.dataPlane.connections()).filter(
      (connection) =>
        (routeId === undefined || connection.routeId === routeId) &&
        (node === undefined || connection.node === node),
    );
    return { list, total: list.length };
  }

  @Delete(':id')
  @ApiOperation({ operationId: 'deleteConnection', summary: 'Close one connection' })
  @ApiParam({ name: 'id', type: Number })
  @ApiResponse({ status: 200, type: ClosedCountDto })
  @ApiResponse({ status: 404, type: AdminErrorDto })
  async deleteConnection(@Param('id', ParseIntPipe) id: number): Promise<ClosedCountDto> {
    if (!(await this.dataPlane.closeConnection(id))) {
      throw new AdminError(404, { error_msg: `connection ${id} is not open` });
    }
    return { closed: 1 };
  }

  /** Drain a node: close every connection it serves (new ones still go where the balancer says). */
  @Delete()
  @ApiOperation({
    operationId: 'deleteConnectionsToNode',
    summary: 'Close every connection to one upstream node',
  })
  @ApiQuery({
    name: 'node',
    required: true,
    type: String,
    description: 'host:port, e.g. 127.0.0.1:3306',
  })
  @ApiResponse({ status: 200, type: ClosedCountDto })
  @ApiResponse({ status: 400, type: AdminErrorDto })
  async deleteConnectionsToNode(@Query('node') node?: string): Promise<ClosedCountDto> {
    if (!node) throw AdminError.badRequest('node is required (host:port)');
    return { closed: await this.dataPlane.closeConnectionsToNode(node) };
  }
}
