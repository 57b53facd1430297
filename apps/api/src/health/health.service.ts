import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { formatHostPort, type HealthChangedEvent, type UpstreamHealth } from '@strait/proxy';
import { AdminError } from '../common/admin-error';
import { isJsonObject } from '../common/deep-merge';
import { mapNodes } from '../proxy-runtime/proxy-config.mapper';
import { DataPlane } from '../data-plane/data-plane';
import { ResourceStore } from '../store/resource-store';
import type { CheckedUpstreamDto, HealthListDto, UpstreamHealthDto } from './health.dto';

const STORED_UPSTREAM_KEY = /^\/apisix\/upstreams\/([^/#]+)$/;

/**
 * Health-check state for the API, read from the engine's checkers (merged across data-plane
 * workers, see data-plane/merge.ts), and the `Health` log: every node moving out of or back into
 * its pool is logged once (once per worker with workers), with the reason.
 */
@Injectable()
export class HealthService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Health');

  constructor(
    private readonly dataPlane: DataPlane,
    private readonly store: ResourceStore,
  ) {}

  onApplicationBootstrap(): void {
    this.dataPlane.on('healthChanged', (event, worker) => this.log(event, worker));
  }

  /** 404 `upstream <id> not found` when no such upstream is stored. */
  async upstreamHealth(id: string): Promise<UpstreamHealthDto> {
    const stored = await this.store.read((session) => session.get('upstreams', id));
    if (!stored) throw new AdminError(404, { error_msg: `upstream ${id} not found` });
    const running = await this.dataPlane.upstreamHealth(`/apisix/upstreams/${stored.id}`);
    if (running) {
      return {
        upstream_id: stored.id,
        checks: true,
        running: true,
        type: running.type,
        nodes: running.nodes,
      };
    }
    const checks = isJsonObject(stored.value.checks) ? stored.value.checks : undefined;
    const active = isJsonObject(checks?.active) ? checks.active : undefined;
    return {
      upstream_id: stored.id,
      checks: checks !== undefined,
      running: false,
      type: active ? (typeof active.type === 'string' ? active.type : 'http') : undefined,
      // Unchecked (or not yet used) upstreams: every node is in the pool.
      nodes: mapNodes(stored.value.nodes).map((node) => ({
        node: formatHostPort(node.host, node.port),
        healthy: true,
        consecutiveSuccesses: 0,
        consecutiveFailures: 0,
        consecutiveTimeouts: 0,
        lastCheckAt: null,
        lastResult: null,
        lastError: null,
        changedAt: null,
      })),
    };
  }

  /** Every running checker, stored and inline upstreams alike. */
  async list(): Promise<HealthListDto> {
    const list = (await this.dataPlane.health()).map(toChecked);
    return { list, total: list.length };
  }

  /** `worker`: the data-plane worker whose checker saw it (each worker runs its own checks). */
  private log(event: HealthChangedEvent, worker: number | undefined): void {
    const entry = {
      msg: event.healthy ? 'upstream node healthy' : 'upstream node unhealthy',
      upstream: event.upstreamKey,
      node: event.node,
      source: event.source,
      reason: event.reason,
      ...(worker === undefined ? {} : { worker }),
    };
    if (event.healthy) this.logger.log(entry);
    else this.logger.warn(entry);
  }
}

function toChecked(health: UpstreamHealth): CheckedUpstreamDto {
  const storedId = STORED_UPSTREAM_KEY.exec(health.upstreamKey)?.[1];
  return {
    upstream_key: health.upstreamKey,
    upstream_id: storedId,
    type: health.type,
    passive: health.passive,
    startedAt: health.startedAt,
    nodes: health.nodes,
  };
}
