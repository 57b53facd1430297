import { defineAdminResourceController } from '../admin/admin-resource-controller.factory';
import { defineEnvelopeModels } from '../admin/envelope-models';
import { StreamRoutesPolicy } from './stream-routes.policy';
import { StreamRouteDto } from './stream-route.dto';

const envelopes = defineEnvelopeModels(StreamRouteDto, 'StreamRoute', '/apisix/stream_routes/1');

/** `/apisix/admin/stream_routes`: APISIX v3 semantics from AdminResourceService. */
export class StreamRoutesController extends defineAdminResourceController({
  path: 'stream_routes',
  tag: 'Stream routes',
  policy: StreamRoutesPolicy,
  singular: 'StreamRoute',
  plural: 'StreamRoutes',
  body: StreamRouteDto,
  ...envelopes,
  noun: 'a stream route',
  supportsCollectionWrites: true,
  supportsPatch: false,
  streamOnly: true,
}) {}
