'use client';

import type { LiveConnectionDto } from '@strait/api-client';
import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError, errorText, liveApi } from '../../lib/api';
import { plural } from '../../lib/format';
import { formatAge, formatBytes, hostPort } from '../../lib/live';
import { useSession } from '../../lib/session';
import { Dialog } from '../dialog';
import { Icon } from '../icons';
import { LiveState, Notice, PauseButton } from './live-bits';
import { LiveList } from './live-list';
import { useFiltersInUrl } from './use-filters-in-url';
import { useLiveData } from './use-live-data';
import { useStreamRoutes } from './use-routes';

export const CONNECTIONS_REFRESH_MS = 2000;
/** Rows drawn at most; a filter narrows a larger table. */
const MAX_ROWS = 500;

const PHASE_BADGE: Record<LiveConnectionDto['phase'], string> = {
  routing: 'badge--info',
  connecting: 'badge--info',
  relaying: 'badge--ok',
  closing: '',
};

function CloseDialog({
  connection,
  onClose,
  onClosed,
}: {
  connection: LiveConnectionDto;
  onClose(): void;
  onClosed(message: string): void;
}) {
  const { client } = useSession();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const close = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await liveApi.closeConnection(client, connection.id);
      onClosed(`Connection ${connection.id} closed.`);
    } catch (failure) {
      setError(
        failure instanceof ApiError && failure.status === 404
          ? `${failure.message}: it ended by itself.`
          : errorText(failure),
      );
      setBusy(false);
    }
  };
  return (
    <Dialog
      title={`Close connection ${connection.id}?`}
      onClose={onClose}
      actions={
        <>
          <button type="button" className="button" onClick={onClose} data-autofocus>
            Cancel
          </button>
          <button
            type="button"
            className="button button--danger-solid"
            disabled={busy}
            onClick={() => void close()}
          >
            {busy ? 'Closing…' : 'Close connection'}
          </button>
        </>
      }
    >
      <p>
        The client <code>{hostPort(connection.remoteAddr, connection.remotePort)}</code>
        {connection.node ? (
          <>
            {' '}
            and the node <code>{connection.node}</code>
          </>
        ) : null}{' '}
        are disconnected at once, whatever is in flight. The client may connect again.
      </p>
      {error && (
        <p className="alert alert--danger" role="alert">
          {error}
        </p>
      )}
    </Dialog>
  );
}

function DrainDialog({
  initialNode,
  connections,
  onClose,
  onDrained,
}: {
  initialNode: string;
  connections: readonly LiveConnectionDto[];
  onClose(): void;
  onDrained(message: string): void;
}) {
  const { client } = useSession();
  const [node, setNode] = useState(initialNode);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const known = connections.filter((connection) => connection.node === node.trim()).length;
  const drain = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const closed = await liveApi.drainNode(client, node.trim());
      onDrained(`${plural(closed, 'connection')} to ${node.trim()} closed.`);
    } catch (failure) {
      setError(errorText(failure));
      setBusy(false);
    }
  };
  const nodes = [...new Set(connections.map((connection) => connection.node).filter(isText))];
  return (
    <Dialog
      title="Drain a node"
      onClose={onClose}
      actions={
        <>
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button
            type="button"
            className="button button--danger-solid"
            disabled={busy || node.trim() === ''}
            onClick={() => void drain()}
          >
            {busy ? 'Closing…' : 'Close every connection to it'}
          </button>
        </>
      }
    >
      <p>
        Closes every open connection to one upstream node. New connections still go where the
        balancer sends them: take the node out of its upstream (or let health checks do it) to stop
        them.
      </p>
      <div className={`field${error ? ' field--invalid' : ''}`}>
        <label className="field-label" htmlFor="drain-node">
          Node (host:port)
        </label>
        <input
          id="drain-node"
          className="input mono"
          value={node}
          list="drain-nodes"
          placeholder="10.0.0.1:3306"
          data-autofocus
          aria-invalid={error ? true : undefined}
          onChange={(event) => setNode(event.target.value)}
        />
        <datalist id="drain-nodes">
          {nodes.map((value) => (
            <option key={value} value={value} />
          ))}
        </datalist>
        {error ? (
          <p className="field-error" role="alert">
            {error}
          </p>
        ) : node.trim() !== '' && known > 0 ? (
          <p className="field-hint">{plural(known, 'connection')} to it in the table now.</p>
        ) : null}
      </div>
    </Dialog>
  );
}

function isText(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}

function PhaseBadge({ phase }: { phase: LiveConnectionDto['phase'] }) {
  return <span className={`badge ${PHASE_BADGE[phase]}`}>{phase}</span>;
}

/**
 * Open TCP connections and UDP sessions, refreshed every 2 s (pausable), filtered by route and
 * node on the API side; admin keys may close one connection or every connection to a node.
 */
export function ConnectionsView() {
  const { client, canWrite } = useSession();
  const params = useSearchParams();
  const [routeId, setRouteId] = useState(() => params.get('route_id') ?? '');
  const [node, setNode] = useState(() => params.get('node') ?? '');
  const [nodeInput, setNodeInput] = useState(node);
  const [closing, setClosing] = useState<LiveConnectionDto>();
  const [draining, setDraining] = useState(false);
  const [notice, setNotice] = useState<string>();
  const { routes, want } = useStreamRoutes();

  const live = useLiveData(async () => {
    const answer = await liveApi.connections(client, { route_id: routeId, node });
    return [...answer.list].sort((left, right) => left.id - right.id);
  }, CONNECTIONS_REFRESH_MS);
  const { data: connections, refresh } = live;
  useFiltersInUrl({ route_id: routeId, node }, refresh);

  useEffect(() => {
    if (nodeInput.trim() === node) return;
    const timer = window.setTimeout(() => setNode(nodeInput.trim()), 300);
    return () => window.clearTimeout(timer);
  }, [nodeInput, node]);

  useEffect(() => {
    connections?.forEach((connection) => connection.routeId && want(connection.routeId));
  }, [connections, want]);

  const routeOptions = useMemo(() => {
    const ids = new Set(routes?.keys() ?? []);
    connections?.forEach((connection) => connection.routeId && ids.add(connection.routeId));
    if (routeId) ids.add(routeId);
    return [...ids];
  }, [routes, connections, routeId]);
  const nodeOptions = useMemo(
    () =>
      [...new Set((connections ?? []).map((connection) => connection.node).filter(isText))].sort(),
    [connections],
  );

  const filtered = routeId !== '' || node !== '';
  const done = useCallback(
    (message: string) => {
      setClosing(undefined);
      setDraining(false);
      setNotice(message);
      refresh();
    },
    [refresh],
  );
  const hideNotice = useCallback(() => setNotice(undefined), []);

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1 className="page-title">
            Connections
            {connections && (
              <span className="count" data-testid="connection-count">
                {connections.length}
              </span>
            )}
          </h1>
          <p className="page-description">
            Open TCP connections and UDP sessions through the proxy, with the route that took each
            one and the upstream node it reaches.
          </p>
        </div>
        <div className="page-actions">
          <LiveState status={live} />
          <PauseButton paused={live.paused} onToggle={live.togglePaused} />
          {canWrite && (
            <button
              type="button"
              className="button button--danger"
              onClick={() => setDraining(true)}
            >
              <Icon name="unplug" /> Drain node
            </button>
          )}
        </div>
      </div>

      <div className="toolbar" role="search">
        <label className="filter">
          <span className="filter-label">Route</span>
          <select
            className="input select"
            value={routeId}
            onChange={(event) => setRouteId(event.target.value)}
          >
            <option value="">All routes</option>
            {routeOptions.map((id) => (
              <option key={id} value={id}>
                {routes?.get(id)?.name ? `${id} (${routes.get(id)?.name})` : id}
              </option>
            ))}
          </select>
        </label>
        <label className="filter">
          <span className="filter-label">Node</span>
          <input
            className="input mono"
            placeholder="host:port"
            list="connection-nodes"
            value={nodeInput}
            onChange={(event) => setNodeInput(event.target.value)}
          />
          <datalist id="connection-nodes">
            {nodeOptions.map((value) => (
              <option key={value} value={value} />
            ))}
          </datalist>
        </label>
        {filtered && (
          <button
            type="button"
            className="button button--ghost"
            onClick={() => {
              setRouteId('');
              setNode('');
              setNodeInput('');
            }}
          >
            Clear filters
          </button>
        )}
      </div>

      <LiveList
        items={connections}
        error={live.error}
        emptyText={
          filtered
            ? 'No open connections match these filters.'
            : 'No open connections: clients that connect to a listener show up here.'
        }
      >
        {(list) => (
          <>
            <div className="panel table-panel">
              <table className="table table--live" data-testid="connections">
                <thead>
                  <tr>
                    <th>ID</th>
                    <th>Route</th>
                    <th>Node</th>
                    <th>Client</th>
                    <th>SNI</th>
                    <th className="num">From client</th>
                    <th className="num">To client</th>
                    <th className="num">Age</th>
                    <th>Phase</th>
                    {canWrite && (
                      <th className="actions-cell">
                        <span className="visually-hidden">Actions</span>
                      </th>
                    )}
                  </tr>
                </thead>
                <tbody>
                  {list.slice(0, MAX_ROWS).map((connection) => {
                    const route = connection.routeId ? routes?.get(connection.routeId) : undefined;
                    return (
                      <tr
                        key={connection.id}
                        data-connection={connection.id}
                        data-route={connection.routeId ?? ''}
                        data-node={connection.node ?? ''}
                        data-client={hostPort(connection.remoteAddr, connection.remotePort)}
                      >
                        <td data-label="ID" className="mono muted">
                          {connection.id}
                        </td>
                        <td data-label="Route">
                          {connection.routeId ? (
                            <span className="name-cell">
                              <Link
                                className="mono strong"
                                href={`/stream-routes/edit/?id=${encodeURIComponent(connection.routeId)}`}
                              >
                                {connection.routeId}
                              </Link>
                              {route?.name && <span className="muted small">{route.name}</span>}
                            </span>
                          ) : (
                            <span className="muted">
                              {connection.phase === 'routing' ? 'routing…' : '—'}
                            </span>
                          )}
                        </td>
                        <td data-label="Node">
                          {connection.node ? (
                            <button
                              type="button"
                              className="chip"
                              title="Show only the connections to this node"
                              onClick={() => {
                                setNode(connection.node ?? '');
                                setNodeInput(connection.node ?? '');
                              }}
                            >
                              {connection.node}
                            </button>
                          ) : (
                            <span className="muted">—</span>
                          )}
                        </td>
                        <td data-label="Client">
                          <span className="name-cell">
                            <span className="mono">
                              {hostPort(connection.remoteAddr, connection.remotePort)}
                            </span>
                            <span className="muted small mono">
                              {connection.protocol} →{' '}
                              {hostPort(connection.serverAddr, connection.serverPort)}
                            </span>
                          </span>
                        </td>
                        <td data-label="SNI" className="mono small">
                          {connection.sni ?? <span className="muted">—</span>}
                        </td>
                        <td data-label="From client" className="num">
                          {formatBytes(connection.bytesFromClient)}
                        </td>
                        <td data-label="To client" className="num">
                          {formatBytes(connection.bytesToClient)}
                        </td>
                        <td
                          data-label="Age"
                          className="num"
                          title={new Date(connection.startedAt).toLocaleString()}
                        >
                          {formatAge(connection.ageMs)}
                        </td>
                        <td data-label="Phase">
                          <PhaseBadge phase={connection.phase} />
                        </td>
                        {canWrite && (
                          <td className="actions-cell">
                            <div className="row-actions">
                              <button
                                type="button"
                                className="button button--small button--icon button--ghost button--danger"
                                aria-label={`Close connection ${connection.id}`}
                                title="Close this connection"
                                onClick={() => setClosing(connection)}
                              >
                                <Icon name="close" />
                              </button>
                            </div>
                          </td>
                        )}
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
            {list.length > MAX_ROWS && (
              <p className="muted small table-note">
                Showing the oldest {MAX_ROWS} of {list.length}: filter by route or node to see the
                others.
              </p>
            )}
          </>
        )}
      </LiveList>

      {closing && (
        <CloseDialog connection={closing} onClose={() => setClosing(undefined)} onClosed={done} />
      )}
      {draining && (
        <DrainDialog
          initialNode={node}
          connections={connections ?? []}
          onClose={() => setDraining(false)}
          onDrained={done}
        />
      )}
      <Notice message={notice} onDone={hideNotice} />
    </div>
  );
}
