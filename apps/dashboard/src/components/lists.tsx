'use client';

import type { ServiceDto, SslDto, StreamRouteDto, UpstreamDto } from '@strait/api-client';
import Link from 'next/link';
import { idOf, serviceApi, sslApi, streamRouteApi, upstreamApi, type Item } from '../lib/api';
import { nodeAddress } from '../lib/live';
import { summarizePem } from '../lib/x509';
import { ExpiryBadge } from './certificate-summary';
import { describeUpstream } from './form/upstream-editor';
import { readNodes } from './form/nodes-editor';
import { NodeHealthBadge, UpstreamHealthProvider, useCheckedUpstream } from './live/health';
import { ResourceList, type Column } from './resource-list';

function NameCell({ name, desc }: { name?: string; desc?: string }) {
  if (!name && !desc) return <span className="muted">—</span>;
  return (
    <span className="name-cell">
      {name && <span className="strong">{name}</span>}
      {desc && <span className={name ? 'muted small' : undefined}>{desc}</span>}
    </span>
  );
}

function PluginChips({ plugins }: { plugins?: Record<string, unknown> }) {
  const names = Object.keys(plugins ?? {});
  if (names.length === 0) return <span className="muted">—</span>;
  return (
    <span className="chips">
      {names.map((name) => (
        <span key={name} className="chip">
          {name}
        </span>
      ))}
    </span>
  );
}

function UpstreamRef({
  upstreamId,
  upstream,
  serviceId,
}: {
  upstreamId?: string | number;
  upstream?: UpstreamDto;
  serviceId?: string | number;
}) {
  if (upstreamId !== undefined) {
    return (
      <Link className="mono" href={`/upstreams/edit/?id=${encodeURIComponent(String(upstreamId))}`}>
        upstream {String(upstreamId)}
      </Link>
    );
  }
  if (upstream) return <span className="mono small">{describeUpstream(upstream)}</span>;
  if (serviceId !== undefined) {
    return (
      <Link className="mono" href={`/services/edit/?id=${encodeURIComponent(String(serviceId))}`}>
        via service {String(serviceId)}
      </Link>
    );
  }
  return <span className="badge badge--warning">none</span>;
}

function matchText(route: StreamRouteDto): string {
  const parts: string[] = [];
  if (route.remote_addr) parts.push(`from ${route.remote_addr}`);
  const local = `${route.server_addr ?? '*'}:${route.server_port ?? '*'}`;
  if (route.server_addr || route.server_port) parts.push(`to ${local}`);
  if (route.sni) parts.push(`sni ${route.sni}`);
  return parts.join(' ');
}

const streamRouteColumns: Column<StreamRouteDto>[] = [
  { header: 'Name', render: (item) => <NameCell name={item.value.name} desc={item.value.desc} /> },
  {
    header: 'Match',
    render: (item) => {
      const text = matchText(item.value);
      return text ? (
        <span className="mono small">{text}</span>
      ) : (
        <span className="muted">any connection</span>
      );
    },
  },
  {
    header: 'Upstream',
    render: (item) => (
      <UpstreamRef
        upstreamId={item.value.upstream_id}
        upstream={item.value.upstream}
        serviceId={item.value.service_id}
      />
    ),
  },
  { header: 'Plugins', render: (item) => <PluginChips plugins={item.value.plugins} /> },
];

const streamRouteSearch = (item: Item<StreamRouteDto>) =>
  [
    matchText(item.value),
    item.value.upstream_id,
    item.value.service_id,
    describeUpstream(item.value.upstream),
    Object.keys(item.value.plugins ?? {}).join(' '),
  ]
    .filter((part) => part !== undefined)
    .join(' ');

export function StreamRouteList() {
  return (
    <ResourceList<StreamRouteDto>
      api={streamRouteApi}
      title="Stream routes"
      description="Which TCP/UDP connections go where: matched by client address, listener address and port, and TLS server name."
      columns={streamRouteColumns}
      searchText={streamRouteSearch}
      emptyText="No stream routes yet: connections to the listeners are closed until a route matches them."
    />
  );
}

function NodesCell({ item }: { item: Item<UpstreamDto> }) {
  const upstream = item.value;
  // Badges only where checks are configured (without them every node counts as healthy).
  const checked = useCheckedUpstream(idOf(item));
  if (upstream.service_name)
    return (
      <span className="mono small">{`${upstream.discovery_type ?? 'discovery'}: ${upstream.service_name}`}</span>
    );
  const rows = readNodes(upstream.nodes).rows;
  if (rows.length === 0) return <span className="badge badge--warning">no nodes</span>;
  const shown = rows.slice(0, 3);
  return (
    <span className="node-list">
      {shown.map((node, index) => (
        <span key={index} className="node-line">
          <span className="mono small">
            {node.port ? `${node.host}:${node.port}` : node.host}
            <span className="muted"> ×{node.weight}</span>
            {node.priority && node.priority !== '0' ? (
              <span className="muted"> p{node.priority}</span>
            ) : null}
          </span>
          {upstream.checks && checked !== undefined && (
            <NodeHealthBadge
              running={checked !== null}
              node={checked?.nodes.find(
                (health) => health.node === nodeAddress(node.host, node.port),
              )}
            />
          )}
        </span>
      ))}
      {rows.length > 3 && <span className="muted small">+{rows.length - 3} more</span>}
      {upstream.checks && checked && rows.length > 3 && (
        <UnhealthyRest
          count={
            checked.nodes.filter(
              (health) =>
                !health.healthy &&
                !shown.some((node) => nodeAddress(node.host, node.port) === health.node),
            ).length
          }
        />
      )}
    </span>
  );
}

function UnhealthyRest({ count }: { count: number }) {
  if (count === 0) return null;
  return <span className="badge badge--danger">{count} more unhealthy</span>;
}

const upstreamColumns: Column<UpstreamDto>[] = [
  { header: 'Name', render: (item) => <NameCell name={item.value.name} desc={item.value.desc} /> },
  { header: 'Nodes', render: (item) => <NodesCell item={item} /> },
  {
    header: 'Balancing',
    render: (item) => (
      <span className="small">
        {item.value.type ?? 'roundrobin'}
        {item.value.type === 'chash' && item.value.key ? (
          <span className="muted"> on {item.value.key}</span>
        ) : null}
      </span>
    ),
  },
  {
    header: 'Scheme',
    render: (item) => <span className="small">{item.value.scheme ?? 'tcp'}</span>,
  },
  {
    header: 'Checks',
    render: (item) =>
      item.value.checks ? (
        <span className="chips">
          <span className="chip chip--ok">active</span>
          {item.value.checks.passive && <span className="chip chip--ok">passive</span>}
        </span>
      ) : (
        <span className="muted">—</span>
      ),
  },
];

const upstreamSearch = (item: Item<UpstreamDto>) =>
  [
    describeUpstream(item.value),
    readNodes(item.value.nodes)
      .rows.map((node) => `${node.host}:${node.port}`)
      .join(' '),
    item.value.type,
    item.value.scheme,
  ]
    .filter(Boolean)
    .join(' ');

export function UpstreamList() {
  return (
    <UpstreamHealthProvider>
      <ResourceList<UpstreamDto>
        api={upstreamApi}
        title="Upstreams"
        description="Groups of backend nodes with their balancing, timeouts, retries, TLS and health checks."
        columns={upstreamColumns}
        searchText={upstreamSearch}
        emptyText="No upstreams yet. Stream routes can also carry an inline upstream."
      />
    </UpstreamHealthProvider>
  );
}

const serviceColumns: Column<ServiceDto>[] = [
  { header: 'Name', render: (item) => <NameCell name={item.value.name} desc={item.value.desc} /> },
  {
    header: 'Upstream',
    render: (item) => (
      <UpstreamRef upstreamId={item.value.upstream_id} upstream={item.value.upstream} />
    ),
  },
  { header: 'Plugins', render: (item) => <PluginChips plugins={item.value.plugins} /> },
];

const serviceSearch = (item: Item<ServiceDto>) =>
  [
    item.value.upstream_id,
    describeUpstream(item.value.upstream),
    Object.keys(item.value.plugins ?? {}).join(' '),
  ]
    .filter((part) => part !== undefined)
    .join(' ');

export function ServiceList() {
  return (
    <ResourceList<ServiceDto>
      api={serviceApi}
      title="Services"
      description="An upstream and plugins shared by several stream routes (service_id)."
      columns={serviceColumns}
      searchText={serviceSearch}
      emptyText="No services yet."
    />
  );
}

function sslNames(ssl: SslDto): string[] {
  return ssl.snis ?? (ssl.sni !== undefined ? [ssl.sni] : []);
}

function CertificateCell({ ssl }: { ssl: SslDto }) {
  const certificate = summarizePem(ssl.cert ?? '').certificates[0];
  if (!certificate)
    return <span className="muted">{ssl.cert?.startsWith('$') ? 'secret reference' : '—'}</span>;
  return (
    <span className="cert-cell">
      <ExpiryBadge notAfter={certificate.notAfter} />
      <span className="muted small">{certificate.notAfter.toISOString().slice(0, 10)}</span>
    </span>
  );
}

const sslColumns: Column<SslDto>[] = [
  {
    header: 'Server names',
    render: (item) => {
      const names = sslNames(item.value);
      return names.length > 0 ? (
        <span className="chips">
          {names.slice(0, 4).map((name) => (
            <code key={name} className="chip">
              {name}
            </code>
          ))}
          {names.length > 4 && <span className="muted small">+{names.length - 4}</span>}
        </span>
      ) : (
        <span className="muted">—</span>
      );
    },
  },
  { header: 'Description', render: (item) => <NameCell desc={item.value.desc} /> },
  {
    header: 'Type',
    render: (item) => <span className="small">{item.value.type ?? 'server'}</span>,
  },
  {
    header: 'Status',
    render: (item) =>
      item.value.status === 0 ? (
        <span className="badge">disabled</span>
      ) : (
        <span className="badge badge--ok">enabled</span>
      ),
  },
  { header: 'Expires', render: (item) => <CertificateCell ssl={item.value} /> },
];

const sslSearch = (item: Item<SslDto>) => {
  const certificate = summarizePem(item.value.cert ?? '').certificates[0];
  return [
    ...sslNames(item.value),
    ...(certificate?.names ?? []),
    certificate?.issuer ?? '',
    item.value.type ?? 'server',
  ].join(' ');
};

export function SslList() {
  return (
    <ResourceList<SslDto>
      api={sslApi}
      title="SSL objects"
      description="Certificates for TLS listeners (chosen by SNI) and client certificates for TLS to upstream nodes."
      columns={sslColumns}
      searchText={sslSearch}
      emptyText="No certificates yet."
    />
  );
}
