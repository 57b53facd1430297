import {
  applyDecorators,
  Body,
  Controller,
  Delete,
  Get,
  Inject,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Res,
  type Type,
} from '@nestjs/common';
import {
  ApiBody,
  ApiExcludeEndpoint,
  ApiExtraModels,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiResponse,
  ApiSecurity,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { AdminErrorDto, DeletedDto, KeyNotFoundDto } from './admin-envelope.dto';
import { AdminResourceService, type ListQuery, type WriteQuery } from './admin-resource.service';
import type { ResourcePolicy } from './resource-policy';
import { StreamModeGate } from './stream-mode.gate';

export interface AdminResourceControllerOptions {
  /** Collection path under /apisix/admin, e.g. `stream_routes`. */
  path: string;
  tag: string;
  /** Injection token of the resource's ResourcePolicy. */
  policy: Type<ResourcePolicy>;
  /** The resource in prose, with its article: `a stream route`, `an upstream`. */
  noun: string;
  /** Singular and plural names used to build operationIds (`putStreamRoute`, `listStreamRoutes`). */
  singular: string;
  plural: string;
  /** Request body model (documentation and the generated client's types). */
  body: Type<unknown>;
  /** Single-object and list response models. */
  item: Type<unknown>;
  list: Type<unknown>;
  writeResult: Type<unknown>;
  supportsPatch: boolean;
  /** POST and PUT-with-the-id-in-the-body (not for plugin_metadata, whose id is the plugin name). */
  supportsCollectionWrites: boolean;
  /** Stream routes answer 400 when stream mode is off (spec 1.1). */
  streamOnly?: boolean;
}

/**
 * Builds the thin controller of one APISIX admin resource. Every resource has the same routes and
 * APISIX semantics (AdminResourceService); what differs is the policy and the documented models,
 * so the controllers are generated rather than written five times.
 */
export function defineAdminResourceController(options: AdminResourceControllerOptions) {
  const { singular, plural } = options;
  const idParam = ApiParam({ name: 'id', description: `${singular} id: 1-64 of [a-zA-Z0-9-_.]` });
  const apiErrors = () =>
    applyDecorators(
      ApiResponse({
        status: 400,
        description: 'Invalid request (APISIX error text)',
        type: AdminErrorDto,
      }),
      ApiResponse({ status: 401, description: 'Missing or wrong admin key', type: AdminErrorDto }),
    );
  const ttlQuery = ApiQuery({
    name: 'ttl',
    required: false,
    type: Number,
    description: 'Seconds until the object expires',
  });
  // Routes that exist only to give APISIX's refusal (405, "do not need it", "missing id") stay out
  // of the document, so the generated client offers only calls that can succeed.
  const refusalOnly = () => ApiExcludeEndpoint();
  const documentedWhen = (supported: boolean) =>
    supported ? applyDecorators() : ApiExcludeEndpoint();
  const patchRoute = () => documentedWhen(options.supportsPatch);
  const collectionWrite = () => documentedWhen(options.supportsCollectionWrites);
  const { noun } = options;

  @ApiTags(options.tag)
  @ApiSecurity('X-API-KEY')
  @ApiExtraModels(options.body)
  @Controller(`apisix/admin/${options.path}`)
  class AdminResourceController {
    constructor(
      readonly admin: AdminResourceService,
      @Inject(options.policy) readonly policy: ResourcePolicy,
      readonly streamMode: StreamModeGate,
    ) {}

    gate(): void {
      if (options.streamOnly) this.streamMode.assertEnabled();
    }

    @Get()
    @ApiOperation({ operationId: `list${plural}`, summary: `List ${options.tag.toLowerCase()}` })
    @ApiQuery({ name: 'page', required: false, type: Number })
    @ApiQuery({ name: 'page_size', required: false, type: Number, description: '10..500' })
    @ApiQuery({
      name: 'name',
      required: false,
      type: String,
      description: 'Regular expression on name',
    })
    @ApiQuery({
      name: 'label',
      required: false,
      type: String,
      description: 'Label key that must be present',
    })
    @ApiQuery({
      name: 'filter',
      required: false,
      type: String,
      description: 'URL-encoded k=v pairs, e.g. service_id%3D1',
    })
    @ApiResponse({ status: 200, type: options.list })
    list(@Query() query: ListQuery) {
      this.gate();
      return this.admin.list(this.policy, query);
    }

    @Get(':id')
    @ApiOperation({ operationId: `get${singular}`, summary: `Get ${noun}` })
    @idParam
    @ApiResponse({ status: 200, type: options.item })
    @ApiResponse({ status: 404, type: KeyNotFoundDto })
    getOne(@Param('id') id: string) {
      this.gate();
      return this.admin.getOne(this.policy, id);
    }

    @Put(':id')
    @ApiOperation({ operationId: `put${singular}`, summary: `Create or replace ${noun}` })
    @idParam
    @ttlQuery
    @ApiBody({ schema: { $ref: getSchemaPath(options.body) } })
    @ApiResponse({ status: 201, description: 'Created', type: options.writeResult })
    @ApiResponse({ status: 200, description: 'Replaced', type: options.writeResult })
    @apiErrors()
    async put(
      @Param('id') id: string,
      @Body() body: unknown,
      @Query() query: WriteQuery,
      @Res({ passthrough: true }) response: Response,
    ) {
      this.gate();
      const { envelope, created } = await this.admin.put(this.policy, id, body, query);
      response.status(created ? 201 : 200);
      return envelope;
    }

    @Put()
    @collectionWrite()
    @ApiOperation({
      operationId: `put${singular}WithBodyId`,
      summary: `Create or replace ${noun} whose id is in the body`,
    })
    @ttlQuery
    @ApiBody({ schema: { $ref: getSchemaPath(options.body) } })
    @ApiResponse({ status: 201, description: 'Created', type: options.writeResult })
    @ApiResponse({ status: 200, description: 'Replaced', type: options.writeResult })
    @apiErrors()
    async putWithBodyId(
      @Body() body: unknown,
      @Query() query: WriteQuery,
      @Res({ passthrough: true }) response: Response,
    ) {
      this.gate();
      const { envelope, created } = await this.admin.put(this.policy, undefined, body, query);
      response.status(created ? 201 : 200);
      return envelope;
    }

    @Post()
    @collectionWrite()
    @ApiOperation({
      operationId: `post${singular}`,
      summary: `Create ${noun} with a generated 20-digit id`,
    })
    @ttlQuery
    @ApiBody({ schema: { $ref: getSchemaPath(options.body) } })
    @ApiResponse({ status: 201, type: options.writeResult })
    @apiErrors()
    async post(
      @Body() body: unknown,
      @Query() query: WriteQuery,
      @Res({ passthrough: true }) response: Response,
    ) {
      this.gate();
      const envelope = await this.admin.post(this.policy, undefined, body, query);
      response.status(201);
      return envelope;
    }

    @Post(':id')
    @refusalOnly()
    postWithId(@Param('id') id: string, @Body() body: unknown, @Query() query: WriteQuery) {
      this.gate();
      return this.admin.post(this.policy, id, body, query);
    }

    @Patch(':id')
    @patchRoute()
    @ApiOperation({
      operationId: `patch${singular}`,
      summary: `Deep-merge into ${noun} (null deletes a key)`,
    })
    @idParam
    @ApiBody({ schema: { type: 'object' } })
    @ApiResponse({ status: 200, type: options.writeResult })
    @apiErrors()
    patch(@Param('id') id: string, @Body() body: unknown, @Query() query: WriteQuery) {
      this.gate();
      return this.admin.patch(this.policy, id, undefined, body, query);
    }

    @Patch(':id/*subPath')
    @patchRoute()
    @ApiOperation({
      operationId: `patch${singular}SubPath`,
      summary: `Replace the value at a sub-path of ${noun}`,
    })
    @idParam
    @ApiParam({
      name: 'subPath',
      description: 'Slash-separated path inside the object, e.g. nodes',
    })
    @ApiBody({ schema: {} })
    @ApiResponse({ status: 200, type: options.writeResult })
    @apiErrors()
    patchSubPath(
      @Param('id') id: string,
      @Param('subPath') subPath: string | string[],
      @Body() body: unknown,
      @Query() query: WriteQuery,
    ) {
      this.gate();
      const path = Array.isArray(subPath) ? subPath.join('/') : subPath;
      return this.admin.patch(this.policy, id, path, body, query);
    }

    @Patch()
    @refusalOnly()
    patchWithoutId(@Body() body: unknown, @Query() query: WriteQuery) {
      this.gate();
      return this.admin.patch(this.policy, undefined, undefined, body, query);
    }

    @Delete(':id')
    @ApiOperation({ operationId: `delete${singular}`, summary: `Delete ${noun}` })
    @idParam
    @ApiQuery({
      name: 'force',
      required: false,
      type: String,
      description: '"true" skips the still-in-use check',
    })
    @ApiResponse({ status: 200, type: DeletedDto })
    @ApiResponse({ status: 404, type: KeyNotFoundDto })
    @apiErrors()
    remove(@Param('id') id: string, @Query() query: WriteQuery) {
      this.gate();
      return this.admin.delete(this.policy, id, query);
    }

    @Delete()
    @refusalOnly()
    removeWithoutId(@Query() query: WriteQuery) {
      this.gate();
      return this.admin.delete(this.policy, undefined, query);
    }
  }
  return AdminResourceController;
}
