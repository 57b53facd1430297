import { Entity, Index } from 'typeorm';
import { StoredObjectColumns } from '../store/stored-object-columns';

/** A stored APISIX `plugin_metadata` object, key `/apisix/plugin_metadata/<id>`. */
@Entity('plugin_metadata')
@Index('IDX_plugin_metadata_expires_at', ['expiresAt'])
export class PluginMetadataEntity extends StoredObjectColumns {}
