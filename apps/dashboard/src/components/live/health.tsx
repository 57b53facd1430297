'use client';

import type { CheckedUpstreamDto, NodeHealthDto, UpstreamHealthDto } from '@strait/api-client';
import Link from 'next/link';
import { createContext, useContext, useState, type ReactNode } from 'react';
import { errorText, liveApi } from '../../lib/api';
import { formatAge, upstreamOwner } from '../../lib/live';
import { useSession } from '../../lib/session';
import { usePolling } from '../../lib/use-polling';
import { Icon } from '../icons';

/** Health checks probe every second or so; the views follow at this pace. */
export const HEALTH_REFRESH_MS = 5000;

function since(epochMs: number | null | undefined, now = Date.now()): string | undefined {
  return epochMs === null || epochMs === undefined ? undefined : `${formatAge(now - epochMs)} ago`;
}

function nodeTitle(node: NodeHealthDto): string {
  const parts = [node.healthy ? 'In the balancer pool' : 'Out of the balancer pool'];
  const checked = since(node.lastCheckAt);
  if (checked) parts.push(`last probe ${checked}: ${node.lastResult ?? 'none'}`);
  if (node.lastError) parts.push(node.lastError);
  const changed = since(node.changedAt);
  if (changed) parts.push(`changed ${changed}`);
  return parts.join(' · ');
}

/**
 * One node's state: healthy / unhealthy from a running checker, "not probed" when the upstream
 * has checks but no stream route uses it yet (nothing runs them), "unknown" when the checker does
 * not list the node (the form shows an unsaved change).
 */
export function NodeHealthBadge({
  node,
  running,
}: {
  node: NodeHealthDto | undefined;
  running: boolean;
}) {
  if (!running) {
    return (
      <span
        className="badge health health--idle"
        title="Checks are configured, but no stream route uses this upstream yet: nothing probes it"
      >
        not probed
      </span>
    );
  }
  if (!node) return <span className="badge health health--idle">unknown</span>;
  return node.healthy ? (
    <span className="badge badge--ok health" title={nodeTitle(node)}>
      <span className="dot" aria-hidden="true" />
      healthy
    </span>
  ) : (
    <span className="badge badge--danger health" title={nodeTitle(node)}>
      <span className="dot" aria-hidden="true" />
      unhealthy
    </span>
  );
}

interface HealthIndex {
  loaded: boolean;
  byUpstream: ReadonlyMap<string, CheckedUpstreamDto>;
}

const HealthContext = createContext<HealthIndex>({ loaded: false, byUpstream: new Map() });

/** Every running checker of stored upstreams (one `GET /strait/v1/health` for a whole list). */
export function UpstreamHealthProvider({ children }: { children: ReactNode }) {
  const { client } = useSession();
  const [index, setIndex] = useState<HealthIndex>({ loaded: false, byUpstream: new Map() });
  usePolling(
    async (isCurrent) => {
      const health = await liveApi.health(client);
      if (!isCurrent()) return;
      const byUpstream = new Map<string, CheckedUpstreamDto>();
      for (const checked of health.list) {
        if (checked.upstream_id !== undefined) byUpstream.set(checked.upstream_id, checked);
      }
      setIndex({ loaded: true, byUpstream });
    },
    HEALTH_REFRESH_MS,
    false,
    errorText,
  );
  return <HealthContext.Provider value={index}>{children}</HealthContext.Provider>;
}

/** The running checker of one stored upstream, `null` when none runs, undefined while loading. */
export function useCheckedUpstream(id: string): CheckedUpstreamDto | null | undefined {
  const index = useContext(HealthContext);
  if (!index.loaded) return undefined;
  return index.byUpstream.get(id) ?? null;
}

/** The health section of an upstream's page: every node with its last probe, when checks exist. */
export function UpstreamHealthPanel({ id }: { id: string }) {
  const { client } = useSession();
  const [health, setHealth] = useState<UpstreamHealthDto>();
  const polling = usePolling(
    async (isCurrent) => {
      const answer = await liveApi.upstreamHealth(client, id);
      if (isCurrent()) setHealth(answer);
    },
    HEALTH_REFRESH_MS,
    false,
    errorText,
  );
  if (health === undefined || !health.checks) return null;
  const down = health.nodes.filter((node) => !node.healthy).length;
  return (
    <section className="panel health-panel" aria-label="Node health" data-testid="upstream-health">
      <header className="panel-head">
        <h2>Node health</h2>
        <span className="muted small">
          {health.running
            ? `${health.type ?? 'tcp'} checks · refreshed every ${HEALTH_REFRESH_MS / 1000} s`
            : 'not probed'}
        </span>
      </header>
      {polling.error && <p className="alert alert--danger panel-pad">{polling.error}</p>}
      {!health.running ? (
        <p className="muted panel-pad">
          Checks are configured, but no stream route uses this upstream yet, so nothing probes its
          nodes and the balancer treats them all as healthy.
        </p>
      ) : (
        <>
          <p className={`panel-pad summary-line summary-line--${down > 0 ? 'danger' : 'ok'}`}>
            <Icon name={down > 0 ? 'alert' : 'check'} />
            {down > 0
              ? `${down} of ${health.nodes.length} nodes out of the pool`
              : `All ${health.nodes.length} nodes healthy`}
          </p>
          <ul className="list">
            {health.nodes.map((node) => (
              <li key={node.node} className="list-row">
                <NodeHealthBadge node={node} running />
                <span className="list-main">
                  <span className="mono">{node.node}</span>
                  <span className="muted small wrap">
                    {node.lastCheckAt === null
                      ? 'not probed yet'
                      : `last probe ${since(node.lastCheckAt)}: ${node.lastResult ?? '—'}`}
                    {node.consecutiveFailures > 0
                      ? ` · ${node.consecutiveFailures} failures in a row`
                      : ''}
                    {node.consecutiveTimeouts > 0
                      ? ` · ${node.consecutiveTimeouts} timeouts in a row`
                      : ''}
                    {node.lastError ? ` · ${node.lastError}` : ''}
                  </span>
                </span>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

/** Where an upstream lives, as a link: upstream 1, route 7's inline upstream, service 2's. */
export function UpstreamOwnerLink({ upstreamKey }: { upstreamKey: string }) {
  const owner = upstreamOwner(upstreamKey);
  if (!owner) return <span className="mono">{upstreamKey}</span>;
  const id = encodeURIComponent(owner.id);
  switch (owner.kind) {
    case 'upstream':
      return <Link href={`/upstreams/edit/?id=${id}`}>upstream {owner.id}</Link>;
    case 'stream_route':
      return <Link href={`/stream-routes/edit/?id=${id}`}>route {owner.id} (inline upstream)</Link>;
    case 'service':
      return <Link href={`/services/edit/?id=${id}`}>service {owner.id} (inline upstream)</Link>;
  }
}
