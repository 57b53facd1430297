import { Entity, Index } from 'typeorm';
import { StoredObjectColumns } from '../store/stored-object-columns';

/** A stored APISIX `ssls` object, key `/apisix/ssls/<id>`. */
@Entity('ssls')
@Index('IDX_ssls_expires_at', ['expiresAt'])
export class SslEntity extends StoredObjectColumns {}
