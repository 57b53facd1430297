import { Entity } from 'typeorm';
import { StoredObjectColumns } from '../store/stored-object-columns';

/** A stored APISIX `stream_routes` object, key `/apisix/stream_routes/<id>`. */
@Entity('stream_routes')
export class StreamRouteEntity extends StoredObjectColumns {}
