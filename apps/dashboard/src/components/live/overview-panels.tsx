'use client';

import type { HealthListDto, StatusDto } from '@strait/api-client';
import Link from 'next/link';
import { plural } from '../../lib/format';
import { formatAge } from '../../lib/live';
import { Icon } from '../icons';
import { UpstreamOwnerLink } from './health';

/** Listeners from the config and whether each is bound, with the open connections. */
export function ListenersPanel({ status, error }: { status?: StatusDto; error?: string }) {
  const listeners = status?.listeners ?? [];
  const down = listeners.filter((listener) => !listener.up).length;
  return (
    <section className="panel" aria-label="Listeners" data-testid="listeners-panel">
      <header className="panel-head">
        <h2>Listeners</h2>
        {status && (
          <Link href="/connections/" className="small" data-testid="active-connections">
            {plural(status.activeConnections, 'active connection')}
          </Link>
        )}
      </header>
      {error && !status ? (
        <p className="alert alert--danger panel-pad">{error}</p>
      ) : !status ? (
        <p className="muted panel-pad">Loading…</p>
      ) : listeners.length === 0 ? (
        <p className="muted panel-pad">
          No stream listeners in the config (<code>apisix.stream_proxy</code>).
        </p>
      ) : (
        <>
          <p className={`panel-pad summary-line summary-line--${down > 0 ? 'danger' : 'ok'}`}>
            <Icon name={down > 0 ? 'alert' : 'check'} />
            {down > 0
              ? `${down} of ${plural(listeners.length, 'listener')} down`
              : listeners.length === 1
                ? 'The listener is up'
                : `All ${listeners.length} listeners up`}
          </p>
          <DataPlaneLine status={status} />
          <ul className="list">
            {listeners.map((listener) => (
              <li key={listener.configKey} className="list-row" data-listener={listener.id}>
                <span
                  className={`badge ${listener.up ? 'badge--ok' : 'badge--danger'} health`}
                  title={listener.up ? 'Bound and accepting' : 'Not bound (see the service log)'}
                >
                  <span className="dot" aria-hidden="true" />
                  {listener.up ? 'up' : 'down'}
                </span>
                <span className="list-main">
                  <span className="mono">{listener.id}</span>
                  <span className="muted small mono">{listener.configKey}</span>
                </span>
                {listener.tls && (
                  <span className="badge badge--tls" title="TLS is terminated on this listener">
                    <Icon name="lock" size={12} /> TLS
                  </span>
                )}
                <span className="chip">{listener.protocol}</span>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

/** Who carries the traffic: the API process itself, or the data-plane worker processes. */
function DataPlaneLine({ status }: { status: StatusDto }) {
  const { mode, workers } = status.dataPlane;
  if (mode === 'in-process') {
    return (
      <p className="panel-pad muted small" data-testid="data-plane">
        Data plane: in the API process (<code>strait.workers: 1</code>)
      </p>
    );
  }
  const running = workers.filter((worker) => worker.state === 'running').length;
  const restarts = workers.reduce((sum, worker) => sum + worker.restarts, 0);
  return (
    <p className="panel-pad muted small" data-testid="data-plane">
      Data plane: {running} of {plural(workers.length, 'worker process', 'worker processes')}{' '}
      running
      {workers.some((worker) => worker.pid !== null) &&
        ` (pids ${workers.map((worker) => worker.pid ?? '–').join(', ')})`}
      {restarts > 0 && ` · ${plural(restarts, 'restart')}`}
    </p>
  );
}

/** Nodes out of their balancer pool, from every running health checker. */
export function HealthPanel({ health, error }: { health?: HealthListDto; error?: string }) {
  const checked = health?.list ?? [];
  const nodes = checked.flatMap((upstream) => upstream.nodes.map((node) => ({ upstream, node })));
  const unhealthy = nodes.filter(({ node }) => !node.healthy);
  return (
    <section className="panel" aria-label="Upstream health" data-testid="health-panel">
      <header className="panel-head">
        <h2>Upstream health</h2>
        <Link href="/upstreams/" className="small">
          All upstreams
        </Link>
      </header>
      {error && !health ? (
        <p className="alert alert--danger panel-pad">{error}</p>
      ) : !health ? (
        <p className="muted panel-pad">Loading…</p>
      ) : checked.length === 0 ? (
        <p className="muted panel-pad">
          No health checks running: an upstream with <code>checks</code> is probed once a stream
          route uses it.
        </p>
      ) : unhealthy.length === 0 ? (
        <p className="panel-pad summary-line summary-line--ok">
          <Icon name="check" />
          All nodes healthy ({plural(nodes.length, 'node')} in{' '}
          {plural(checked.length, 'checked upstream')})
        </p>
      ) : (
        <>
          <p className="panel-pad summary-line summary-line--danger">
            <Icon name="alert" />
            {plural(unhealthy.length, 'unhealthy node')} of {nodes.length}
          </p>
          <ul className="list">
            {unhealthy.map(({ upstream, node }) => (
              <li
                key={`${upstream.upstream_key} ${node.node}`}
                className="list-row"
                data-unhealthy-node={node.node}
              >
                <span className="badge badge--danger health">
                  <span className="dot" aria-hidden="true" />
                  unhealthy
                </span>
                <span className="list-main">
                  <span className="mono">{node.node}</span>
                  <span className="muted small wrap">
                    <UpstreamOwnerLink upstreamKey={upstream.upstream_key} />
                    {node.changedAt !== null
                      ? ` · out for ${formatAge(Date.now() - node.changedAt)}`
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
