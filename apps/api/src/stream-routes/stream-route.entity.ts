import { Entity, Index } from 'typeorm';
import { StoredObjectColumns } from '../store/stored-object-columns';

/** A stored APISIX `stream_routes` object, key `/apisix/stream_routes/<id>`. */
@Entity('stream_routes')
@Index('IDX_stream_routes_expires_at', ['expiresAt'])
export class StreamRouteEntity extends StoredObjectColumns {}
