import { Entity } from 'typeorm';
import { StoredObjectColumns } from '../store/stored-object-columns';

/** A stored APISIX `plugin_metadata` object, key `/apisix/plugin_metadata/<id>`. */
@Entity('plugin_metadata')
export class PluginMetadataEntity extends StoredObjectColumns {}
