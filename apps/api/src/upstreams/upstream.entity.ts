import { Entity } from 'typeorm';
import { StoredObjectColumns } from '../store/stored-object-columns';

/** A stored APISIX `upstreams` object, key `/apisix/upstreams/<id>`. */
@Entity('upstreams')
export class UpstreamEntity extends StoredObjectColumns {}
