import { defineAdminResourceController } from '../admin/admin-resource-controller.factory';
import { defineEnvelopeModels } from '../admin/envelope-models';
import { PluginMetadataPolicy } from './plugin-metadata.policy';
import { PluginMetadataDto } from './plugin-metadata.dto';

const envelopes = defineEnvelopeModels(
  PluginMetadataDto,
  'PluginMetadata',
  '/apisix/plugin_metadata/1',
);

/** `/apisix/admin/plugin_metadata`: APISIX v3 semantics from AdminResourceService. */
export class PluginMetadataController extends defineAdminResourceController({
  path: 'plugin_metadata',
  tag: 'Plugin metadata',
  policy: PluginMetadataPolicy,
  singular: 'PluginMetadata',
  plural: 'AllPluginMetadata',
  body: PluginMetadataDto,
  ...envelopes,
  noun: "a plugin's metadata",
  supportsCollectionWrites: false,
  supportsPatch: false,
  streamOnly: false,
}) {}
