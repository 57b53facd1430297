import { Entity, Index } from 'typeorm';
import { StoredObjectColumns } from '../store/stored-object-columns';

/** A stored APISIX `upstreams` object, key `/apisix/upstreams/<id>`. */
@Entity('upstreams')
@Index('IDX_upstreams_expires_at', ['expiresAt'])
export class UpstreamEntity extends StoredObjectColumns {}
