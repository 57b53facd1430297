import { Entity } from 'typeorm';
import { StoredObjectColumns } from '../store/stored-object-columns';

/** A stored APISIX `services` object, key `/apisix/services/<id>`. */
@Entity('services')
export class ServiceEntity extends StoredObjectColumns {}
