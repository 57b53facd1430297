import { Body, Controller, Get, Inject, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiResponse,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import {
  getCoreSchema,
  getPluginSchema,
  getStreamPluginSummaries,
  listStreamPlugins,
  validateAgainstSchemaOnly,
} from '../apisix-schema';
import { AdminError } from '../common/admin-error';
import { STRAIT_CONFIG } from '../common/strait-config.token';
import type { StraitConfig } from '../config/strait-config';
import { AdminErrorDto } from '../admin/admin-envelope.dto';

const SUBSYSTEMS = ['stream', 'http'];

/** Plugin and schema discovery (apisix/admin/plugins.lua, init.lua schema endpoints). */
@ApiTags('Plugins and schemas')
@ApiSecurity('X-API-KEY')
@Controller('apisix/admin')
export class PluginsController {
  constructor(@Inject(STRAIT_CONFIG) private readonly config: StraitConfig) {}

  /** Enabled plugin names, highest priority first. Strait has no HTTP plugins, so `http` is empty. */
  @Get('plugins/list')
  @ApiOperation({ operationId: 'listPlugins', summary: 'List enabled plugin names' })
  @ApiQuery({
    name: 'subsystem',
    required: false,
    enum: SUBSYSTEMS,
    description: 'default http (as in APISIX)',
  })
  @ApiResponse({ status: 200, schema: { type: 'array', items: { type: 'string' } } })
  listPlugins(@Query('subsystem') subsystem = 'http'): string[] {
    // APISIX answers this one error in plain text (apisix/admin/plugins.lua).
    if (!SUBSYSTEMS.includes(subsystem)) throw new AdminError(400, 'invalid subsystem passed');
    return subsystem === 'stream' ? listStreamPlugins(this.config.streamPlugins) : [];
  }

  /** The deprecated `?all=true` form: every enabled stream plugin with priority and schema. */
  @Get('plugins')
  @ApiOperation({
    operationId: 'getAllPluginSchemas',
    summary: 'All enabled plugins with schemas (deprecated in APISIX)',
    deprecated: true,
  })
  @ApiQuery({ name: 'all', required: false })
  @ApiQuery({ name: 'subsystem', required: false, enum: SUBSYSTEMS })
  getAllPluginSchemas(@Query('subsystem') subsystem = 'stream') {
    if (!SUBSYSTEMS.includes(subsystem))
      throw AdminError.badRequest(`unsupported subsystem: ${subsystem}`);
    return subsystem === 'stream' ? getStreamPluginSummaries(this.config.streamPlugins) : {};
  }

  /**
   * A plugin's JSON schema with the injected `_meta`. Without `subsystem` Strait looks in the
   * stream plugins (APISIX defaults to http, where Strait has none).
   */
  @Get('plugins/:name')
  @ApiOperation({ operationId: 'getPluginSchema', summary: "A plugin's JSON schema" })
  @ApiParam({ name: 'name', example: 'limit-conn' })
  @ApiQuery({ name: 'subsystem', required: false, enum: SUBSYSTEMS })
  @ApiResponse({ status: 200, schema: { type: 'object' } })
  @ApiResponse({ status: 404, type: AdminErrorDto })
  getPluginSchema(@Param('name') name: string, @Query('subsystem') subsystem = 'stream') {
    if (!SUBSYSTEMS.includes(subsystem))
      throw AdminError.badRequest(`unsupported subsystem: ${subsystem}`);
    const schema =
      subsystem === 'stream' ? getPluginSchema(name, this.config.streamPlugins) : undefined;
    if (!schema)
      throw new AdminError(404, { error_msg: `plugin not found in subsystem ${subsystem}` });
    return schema;
  }

  @Get('schema/:name')
  @ApiOperation({
    operationId: 'getCoreSchema',
    summary: 'A core JSON schema: stream_route, upstream, ssl, service',
  })
  @ApiParam({ name: 'name', example: 'stream_route' })
  @ApiResponse({ status: 200, schema: { type: 'object' } })
  @ApiResponse({ status: 400, type: AdminErrorDto })
  getCoreSchema(@Param('name') name: string) {
    const schema = getCoreSchema(name);
    if (!schema) throw AdminError.badRequest(`not found schema: ${name}`);
    return schema;
  }

  /** Dry run: the JSON-schema check alone, raw message (no prefix, no store checks). */
  @Post('schema/validate/:resource')
  @ApiOperation({
    operationId: 'validateAgainstSchema',
    summary: 'Validate a body against a resource schema without storing it',
  })
  @ApiParam({ name: 'resource', example: 'stream_routes' })
  @ApiBody({ schema: { type: 'object' } })
  @ApiResponse({ status: 200, description: 'Valid (empty body)' })
  @ApiResponse({ status: 400, type: AdminErrorDto })
  validateAgainstSchema(
    @Param('resource') resource: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) response: Response,
  ): void {
    const outcome = validateAgainstSchemaOnly(resource, body);
    if (!outcome)
      throw new AdminError(404, { error_msg: `Unsupported resource type: ${resource}` });
    if (!outcome.ok) throw AdminError.badRequest(outcome.message);
    response.status(200);
  }
}
