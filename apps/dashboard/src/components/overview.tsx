'use client';

import type { HealthListDto, SslDto, StatusDto, StreamRouteDto } from '@strait/api-client';
import Link from 'next/link';
import { useEffect, useState } from 'react';
import {
  errorText,
  idOf,
  listAll,
  liveApi,
  serviceApi,
  sslApi,
  streamRouteApi,
  upstreamApi,
  type Item,
  type ResourceApi,
} from '../lib/api';
import { formatDate, plural } from '../lib/format';
import { formatAge } from '../lib/live';
import { useSession } from '../lib/session';
import { usePolling } from '../lib/use-polling';
import { daysUntil, summarizePem, type CertificateInfo } from '../lib/x509';
import { ExpiryBadge, expiryTone } from './certificate-summary';
import { Icon, type IconName } from './icons';
import { HEALTH_REFRESH_MS } from './live/health';
import { HealthPanel, ListenersPanel } from './live/overview-panels';

/** Certificates expiring within this many days are listed. */
const EXPIRY_WINDOW_DAYS = 30;

type Count = number | 'error' | undefined;

function CountCard({
  api,
  icon,
  label,
  count,
}: {
  api: ResourceApi<unknown, unknown>;
  icon: IconName;
  label: string;
  count: Count;
}) {
  return (
    <Link className="stat" href={api.route}>
      <span className="stat-icon">
        <Icon name={icon} size={20} />
      </span>
      <span className="stat-body">
        <span className="stat-value" data-testid={`count-${api.kind}`}>
          {count === undefined ? '…' : count === 'error' ? '!' : count}
        </span>
        <span className="stat-label">{label}</span>
      </span>
    </Link>
  );
}

interface CertificateRow {
  id: string;
  names: string[];
  certificate: CertificateInfo;
  disabled: boolean;
}

export function Overview() {
  const { client } = useSession();
  const [counts, setCounts] = useState<Record<string, Count>>({});
  const [certificates, setCertificates] = useState<CertificateRow[] | undefined>();
  const [routes, setRoutes] = useState<Item<StreamRouteDto>[] | undefined>();
  const [problems, setProblems] = useState<string[]>([]);
  const [status, setStatus] = useState<StatusDto>();
  const [health, setHealth] = useState<HealthListDto>();

  // What is running changes without anyone editing: follow it.
  const statusPolling = usePolling(
    async (isCurrent) => {
      const answer = await liveApi.status(client);
      if (isCurrent()) setStatus(answer);
    },
    HEALTH_REFRESH_MS,
    false,
    errorText,
  );
  const healthPolling = usePolling(
    async (isCurrent) => {
      const answer = await liveApi.health(client);
      if (isCurrent()) setHealth(answer);
    },
    HEALTH_REFRESH_MS,
    false,
    errorText,
  );

  useEffect(() => {
    let cancelled = false;
    const apis = [streamRouteApi, upstreamApi, serviceApi, sslApi] as ResourceApi<
      unknown,
      unknown
    >[];
    for (const api of apis) {
      api.list(client, { page: 1, page_size: 10 }).then(
        (page) => {
          if (cancelled) return;
          setCounts((current) => ({ ...current, [api.kind]: page.total }));
          if (api === (streamRouteApi as ResourceApi<unknown, unknown>))
            setRoutes(page.list.slice(0, 5) as Item<StreamRouteDto>[]);
        },
        (error: unknown) => {
          if (cancelled) return;
          setCounts((current) => ({ ...current, [api.kind]: 'error' }));
          setProblems((current) => [...current, `${api.plural}: ${errorText(error)}`]);
        },
      );
    }
    listAll<SslDto>(sslApi, client).then(
      (items) => {
        if (cancelled) return;
        const rows: CertificateRow[] = [];
        for (const item of items) {
          for (const pem of [item.value.cert, ...(item.value.certs ?? [])]) {
            const certificate = summarizePem(pem ?? '').certificates[0];
            if (certificate) {
              rows.push({
                id: idOf(item),
                names: item.value.snis ?? (item.value.sni ? [item.value.sni] : certificate.names),
                certificate,
                disabled: item.value.status === 0,
              });
            }
          }
        }
        rows.sort(
          (left, right) =>
            left.certificate.notAfter.getTime() - right.certificate.notAfter.getTime(),
        );
        setCertificates(rows);
      },
      () => !cancelled && setCertificates([]),
    );
    return () => {
      cancelled = true;
    };
  }, [client]);

  const expiring = (certificates ?? []).filter(
    (row) => daysUntil(row.certificate.notAfter) < EXPIRY_WINDOW_DAYS,
  );

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1 className="page-title">Overview</h1>
          <p className="page-description">
            What the proxy is configured to do, and what it is doing.
            {status && (
              <span className="muted" data-testid="service-version">
                {' '}
                Strait {status.version}, up {formatAge(status.uptimeSeconds * 1000)}.
              </span>
            )}
          </p>
        </div>
      </div>

      {problems.length > 0 && (
        <div className="alert alert--danger" role="alert">
          {problems.map((problem) => (
            <div key={problem}>{problem}</div>
          ))}
        </div>
      )}

      <div className="stats">
        <CountCard
          api={streamRouteApi as ResourceApi<unknown, unknown>}
          icon="route"
          label="Stream routes"
          count={counts.stream_routes}
        />
        <CountCard
          api={upstreamApi as ResourceApi<unknown, unknown>}
          icon="upstream"
          label="Upstreams"
          count={counts.upstreams}
        />
        <CountCard
          api={serviceApi as ResourceApi<unknown, unknown>}
          icon="service"
          label="Services"
          count={counts.services}
        />
        <CountCard
          api={sslApi as ResourceApi<unknown, unknown>}
          icon="certificate"
          label="SSL objects"
          count={counts.ssls}
        />
      </div>

      <div className="overview-grid">
        <ListenersPanel status={status} error={statusPolling.error} />
        <HealthPanel health={health} error={healthPolling.error} />

        <section className="panel">
          <header className="panel-head">
            <h2>Certificates</h2>
            <Link href="/ssls/" className="small">
              All SSL objects
            </Link>
          </header>
          {certificates === undefined ? (
            <p className="muted panel-pad">Loading…</p>
          ) : certificates.length === 0 ? (
            <p className="muted panel-pad">No certificates stored.</p>
          ) : (
            <>
              <p
                className={`panel-pad summary-line summary-line--${expiring.length > 0 ? expiryTone(daysUntil(expiring[0].certificate.notAfter)) : 'ok'}`}
              >
                <Icon name={expiring.length > 0 ? 'alert' : 'check'} />
                {expiring.length > 0
                  ? `${plural(expiring.length, 'certificate')} expire${expiring.length === 1 ? 's' : ''} within ${EXPIRY_WINDOW_DAYS} days`
                  : `All ${plural(certificates.length, 'certificate')} valid for more than ${EXPIRY_WINDOW_DAYS} days`}
              </p>
              <ul className="list">
                {certificates.slice(0, 6).map((row, index) => (
                  <li key={`${row.id}-${index}`} className="list-row">
                    <Link
                      href={`/ssls/edit/?id=${encodeURIComponent(row.id)}`}
                      className="list-main"
                    >
                      <span className="mono">{row.names.slice(0, 2).join(', ') || row.id}</span>
                      <span className="muted small">
                        until {formatDate(row.certificate.notAfter)} ·{' '}
                        {row.certificate.keyAlgorithm}
                        {row.disabled ? ' · disabled' : ''}
                      </span>
                    </Link>
                    <ExpiryBadge notAfter={row.certificate.notAfter} />
                  </li>
                ))}
              </ul>
            </>
          )}
        </section>

        <section className="panel">
          <header className="panel-head">
            <h2>Stream routes</h2>
            <Link href="/stream-routes/" className="small">
              All stream routes
            </Link>
          </header>
          {routes === undefined ? (
            <p className="muted panel-pad">Loading…</p>
          ) : routes.length === 0 ? (
            <p className="muted panel-pad">
              No stream routes yet. <Link href="/stream-routes/new/">Create the first one</Link>.
            </p>
          ) : (
            <ul className="list">
              {routes.map((item) => {
                const route = item.value;
                const target =
                  route.upstream_id !== undefined
                    ? `upstream ${String(route.upstream_id)}`
                    : route.upstream
                      ? 'inline upstream'
                      : route.service_id !== undefined
                        ? `service ${String(route.service_id)}`
                        : 'no upstream';
                return (
                  <li key={item.key} className="list-row">
                    <Link
                      href={`/stream-routes/edit/?id=${encodeURIComponent(idOf(item))}`}
                      className="list-main"
                    >
                      <span className="strong">{route.name ?? idOf(item)}</span>
                      <span className="muted small mono">
                        {route.remote_addr ?? '*'} → {route.server_addr ?? '*'}:
                        {route.server_port ?? '*'}
                        {route.sni ? ` (sni ${route.sni})` : ''} ⇒ {target}
                      </span>
                    </Link>
                  </li>
                );
              })}
            </ul>
          )}
        </section>
      </div>
    </div>
  );
}
