import { defineAdminResourceController } from '../admin/admin-resource-controller.factory';
import { defineEnvelopeModels } from '../admin/envelope-models';
import { ServicesPolicy } from './services.policy';
import { ServiceDto } from './service.dto';

const envelopes = defineEnvelopeModels(ServiceDto, 'Service', '/apisix/services/1');

/** `/apisix/admin/services`: APISIX v3 semantics from AdminResourceService. */
export class ServicesController extends defineAdminResourceController({
  path: 'services',
  tag: 'Services',
  policy: ServicesPolicy,
  singular: 'Service',
  plural: 'Services',
  body: ServiceDto,
  ...envelopes,
  noun: 'a service',
  supportsCollectionWrites: true,
  supportsPatch: true,
  streamOnly: false,
}) {}
