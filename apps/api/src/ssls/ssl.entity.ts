import { Entity } from 'typeorm';
import { StoredObjectColumns } from '../store/stored-object-columns';

/** A stored APISIX `ssls` object, key `/apisix/ssls/<id>`. */
@Entity('ssls')
export class SslEntity extends StoredObjectColumns {}
