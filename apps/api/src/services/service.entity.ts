import { Entity, Index } from 'typeorm';
import { StoredObjectColumns } from '../store/stored-object-columns';

/** A stored APISIX `services` object, key `/apisix/services/<id>`. */
@Entity('services')
@Index('IDX_services_expires_at', ['expiresAt'])
export class ServiceEntity extends StoredObjectColumns {}
