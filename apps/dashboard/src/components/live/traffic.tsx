'use client';

import type { RouteTrafficDto } from '@strait/api-client';
import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { useEffect, useMemo, useState } from 'react';
import { liveApi } from '../../lib/api';
import {
  denseSeries,
  formatBytes,
  formatCount,
  niceByteCeiling,
  niceCeiling,
} from '../../lib/live';
import { useSession } from '../../lib/session';
import { LiveState, PauseButton } from './live-bits';
import { LiveList } from './live-list';
import { TimeChart } from './time-chart';
import { useFiltersInUrl } from './use-filters-in-url';
import { useLiveData } from './use-live-data';
import { useStreamRoutes } from './use-routes';

export const TRAFFIC_REFRESH_MS = 2000;
const WINDOWS = [
  { seconds: 60, label: '1 min' },
  { seconds: 300, label: '5 min' },
] as const;

const perSecond = (value: number) => `${formatCount(value)}/s`;
const bytesPerSecond = (value: number) => `${formatBytes(value)}/s`;

function RouteName({ id, name }: { id: string; name?: string }) {
  if (id === '') {
    return (
      <span className="name-cell">
        <span className="strong">no route</span>
        <span className="muted small">closed without a byte</span>
      </span>
    );
  }
  return (
    <span className="name-cell">
      <Link className="mono strong" href={`/stream-routes/edit/?id=${encodeURIComponent(id)}`}>
        {id}
      </Link>
      {name && <span className="muted small">{name}</span>}
    </span>
  );
}

function RouteCharts({
  route,
  name,
  windowSeconds,
  endSeconds,
}: {
  route: RouteTrafficDto;
  name?: string;
  windowSeconds: number;
  endSeconds: number;
}) {
  const series = useMemo(
    () => denseSeries(route.series, windowSeconds, endSeconds),
    [route.series, windowSeconds, endSeconds],
  );
  const who = route.routeId === '' ? 'connections that matched no route' : `route ${route.routeId}`;
  const inWindow = series.connections.reduce((sum, value) => sum + value, 0);
  return (
    <section
      className="panel route-traffic"
      data-route-traffic={route.routeId}
      data-window-connections={inWindow}
    >
      <header className="panel-head">
        <RouteName id={route.routeId} name={name} />
        <span className="route-traffic-facts">
          <span className={`badge${route.activeConnections > 0 ? ' badge--ok' : ''}`}>
            {route.activeConnections} active
          </span>
          <span className="muted small">
            {formatCount(inWindow)} new in the last{' '}
            {windowSeconds < 120 ? `${windowSeconds} s` : `${windowSeconds / 60} min`}
          </span>
        </span>
      </header>
      <div className="chart-pair">
        <TimeChart
          title="Connections/s"
          times={series.times}
          series={[{ label: 'opened', values: series.connections, tone: 1, area: true }]}
          format={perSecond}
          top={niceCeiling}
          label={`New connections per second of ${who} over the last ${windowSeconds} seconds`}
        />
        <TimeChart
          title="Bytes/s"
          times={series.times}
          series={[
            { label: 'from client', values: series.bytesFromClient, tone: 1, area: true },
            { label: 'to client', values: series.bytesToClient, tone: 2 },
          ]}
          format={bytesPerSecond}
          top={niceByteCeiling}
          label={`Bytes per second from and to the clients of ${who} over the last ${windowSeconds} seconds`}
        />
      </div>
    </section>
  );
}

function order(left: RouteTrafficDto, right: RouteTrafficDto): number {
  return (
    right.activeConnections - left.activeConnections ||
    right.connectionsTotal - left.connectionsTotal ||
    left.routeId.localeCompare(right.routeId)
  );
}

/**
 * Per-route traffic: totals since the service started and, per route, connections/s and
 * bytes/s (from and to the client) over the last minute or five, refreshed every 2 s.
 */
export function TrafficView() {
  const { client } = useSession();
  const params = useSearchParams();
  const [windowSeconds, setWindowSeconds] = useState(() =>
    params.get('window') === '300' ? 300 : 60,
  );
  const { routes, want } = useStreamRoutes();

  const live = useLiveData(() => liveApi.traffic(client, windowSeconds), TRAFFIC_REFRESH_MS);
  const { data } = live;
  // The default window stays out of the URL.
  useFiltersInUrl(
    { window: windowSeconds === 60 ? undefined : String(windowSeconds) },
    live.refresh,
  );

  // Undefined until the first answer, like `data`.
  const busiestFirst = useMemo(() => data && [...data.traffic.routes].sort(order), [data]);
  useEffect(() => busiestFirst?.forEach((route) => want(route.routeId)), [busiestFirst, want]);
  // The last complete second on the server's clock (the current one is still being counted).
  const endSeconds = data ? Math.floor(data.serverTime / 1000) - 1 : 0;

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1 className="page-title">Traffic</h1>
          <p className="page-description">
            New connections and bytes per second of every stream route that has carried traffic
            since the service started.
          </p>
        </div>
        <div className="page-actions">
          <LiveState status={live} />
          <div className="segmented" role="group" aria-label="Time window">
            {WINDOWS.map((option) => (
              <button
                key={option.seconds}
                type="button"
                className={windowSeconds === option.seconds ? 'active' : undefined}
                aria-pressed={windowSeconds === option.seconds}
                onClick={() => setWindowSeconds(option.seconds)}
              >
                {option.label}
              </button>
            ))}
          </div>
          <PauseButton paused={live.paused} onToggle={live.togglePaused} />
        </div>
      </div>

      <LiveList
        items={busiestFirst}
        error={live.error}
        emptyText="No traffic yet: nothing has connected to a listener since the service started."
      >
        {(sorted) => (
          <>
            <div className="panel table-panel">
              <table className="table" data-testid="traffic-totals">
                <thead>
                  <tr>
                    <th>Route</th>
                    <th className="num">Active</th>
                    <th className="num">Connections</th>
                    <th className="num">From client</th>
                    <th className="num">To client</th>
                  </tr>
                </thead>
                <tbody>
                  {sorted.map((route) => (
                    <tr key={route.routeId} data-route={route.routeId}>
                      <td data-label="Route">
                        <RouteName id={route.routeId} name={routes?.get(route.routeId)?.name} />
                      </td>
                      <td data-label="Active" className="num">
                        {route.activeConnections}
                      </td>
                      <td data-label="Connections" className="num" data-testid="connections-total">
                        {route.connectionsTotal}
                      </td>
                      <td data-label="From client" className="num">
                        {formatBytes(route.bytesFromClient)}
                      </td>
                      <td data-label="To client" className="num">
                        {formatBytes(route.bytesToClient)}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <p className="muted small table-note">
              Totals since the service started; the charts show the last{' '}
              {windowSeconds === 60 ? 'minute' : '5 minutes'}, one point per second.
            </p>
            <div className="route-traffic-list">
              {sorted.map((route) => (
                <RouteCharts
                  key={route.routeId}
                  route={route}
                  name={routes?.get(route.routeId)?.name}
                  windowSeconds={windowSeconds}
                  endSeconds={endSeconds}
                />
              ))}
            </div>
          </>
        )}
      </LiveList>
    </div>
  );
}
