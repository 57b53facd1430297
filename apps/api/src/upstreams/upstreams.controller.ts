import { defineAdminResourceController } from '../admin/admin-resource-controller.factory';
import { defineEnvelopeModels } from '../admin/envelope-models';
import { UpstreamsPolicy } from './upstreams.policy';
import { UpstreamDto } from './upstream.dto';

const envelopes = defineEnvelopeModels(UpstreamDto, 'Upstream', '/apisix/upstreams/1');

/** `/apisix/admin/upstreams`: APISIX v3 semantics from AdminResourceService. */
export class UpstreamsController extends defineAdminResourceController({
  path: 'upstreams',
  tag: 'Upstreams',
  policy: UpstreamsPolicy,
  singular: 'Upstream',
  plural: 'Upstreams',
  body: UpstreamDto,
  ...envelopes,
  noun: 'an upstream',
  supportsCollectionWrites: true,
  supportsPatch: true,
  streamOnly: false,
}) {}
