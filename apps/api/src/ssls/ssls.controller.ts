import { defineAdminResourceController } from '../admin/admin-resource-controller.factory';
import { defineEnvelopeModels } from '../admin/envelope-models';
import { SslsPolicy } from './ssls.policy';
import { SslDto } from './ssl.dto';

const envelopes = defineEnvelopeModels(SslDto, 'Ssl', '/apisix/ssls/1');

/** `/apisix/admin/ssls`: APISIX v3 semantics from AdminResourceService. */
export class SslsController extends defineAdminResourceController({
  path: 'ssls',
  tag: 'SSL objects',
  policy: SslsPolicy,
  singular: 'Ssl',
  plural: 'Ssls',
  body: SslDto,
  ...envelopes,
  noun: 'an SSL object',
  supportsCollectionWrites: true,
  supportsPatch: true,
  streamOnly: false,
}) {}
