import { Inject, Injectable } from '@nestjs/common';
import { AdminError } from '../common/admin-error';
import { STRAIT_CONFIG } from '../common/strait-config.token';
import type { StraitConfig } from '../config/strait-config';

/**
 * With stream mode off (`proxy_mode: http`) every stream_routes call, GET included, is refused
 * after the token check and before the lookup (t/admin/stream-routes-disable.t).
 */
@Injectable()
export class StreamModeGate {
  constructor(@Inject(STRAIT_CONFIG) private readonly config: StraitConfig) {}

  assertEnabled(): void {
    if (!this.config.streamEnabled) {
      throw AdminError.badRequest('stream mode is disabled, can not add stream routes');
    }
  }
}
