import type { Provider } from '@nestjs/common';
import { hostname } from 'node:os';
import { STRAIT_CONFIG } from '../common/strait-config.token';
import type { StraitConfig } from '../config/strait-config';
import { PrivateKeyFields } from '../crypto/private-key-fields';
import { EventBus } from '../events/event-bus';
import { ResourceStore } from '../store/resource-store';
import { DataPlane } from './data-plane';
import { InProcessDataPlane } from './in-process-data-plane';
import { WorkerPool } from './worker-pool';

/** `strait.workers: 1` runs the engine in this process; more starts a pool of worker processes. */
export const dataPlaneProvider: Provider = {
  provide: DataPlane,
  inject: [STRAIT_CONFIG, ResourceStore, EventBus, PrivateKeyFields],
  useFactory(
    config: StraitConfig,
    store: ResourceStore,
    bus: EventBus,
    privateKeys: PrivateKeyFields,
  ): DataPlane {
    return config.workers > 1
      ? new WorkerPool(config, store, bus, privateKeys, hostname())
      : new InProcessDataPlane(config, store, bus, privateKeys, hostname());
  },
};
