'use client';

import { FieldError, parseNumber } from '../../lib/flat-fields';
import { Icon } from '../icons';
import { useFieldPaths, useFormContext } from './form-context';

export interface NodeRow {
  host: string;
  port: string;
  weight: string;
  priority: string;
  /** Kept as is: the form does not edit node metadata (the JSON view does). */
  metadata?: Record<string, unknown>;
}

type NodeObject = {
  host: string;
  port?: number;
  weight: number;
  priority?: number;
  metadata?: Record<string, unknown>;
};

export function emptyNode(): NodeRow {
  return { host: '', port: '', weight: '1', priority: '' };
}

/** Both APISIX forms: `{"host:port": weight}` and `[{host, port, weight, priority, metadata}]`. */
export function readNodes(nodes: unknown): { rows: NodeRow[]; asMap: boolean } {
  if (Array.isArray(nodes)) {
    return {
      asMap: false,
      rows: (nodes as NodeObject[]).map((node) => ({
        host: node.host ?? '',
        port: node.port === undefined ? '' : String(node.port),
        weight: node.weight === undefined ? '' : String(node.weight),
        priority: node.priority === undefined ? '' : String(node.priority),
        metadata: node.metadata,
      })),
    };
  }
  if (nodes !== null && typeof nodes === 'object') {
    return {
      asMap: true,
      rows: Object.entries(nodes as Record<string, number>).map(([address, weight]) => {
        // The port follows the last colon; a bracketed IPv6 host keeps its own colons.
        const separator = address.lastIndexOf(':');
        const hasPort = separator > address.lastIndexOf(']');
        return {
          host: hasPort ? address.slice(0, separator) : address,
          port: hasPort ? address.slice(separator + 1) : '',
          weight: String(weight),
          priority: '',
        };
      }),
    };
  }
  return { rows: [], asMap: false };
}

/**
 * The array form, unless the object was stored as a host:port map and nothing needs the array
 * form (a priority or metadata): an edit then keeps the shape the user wrote.
 */
export function writeNodes(
  rows: readonly NodeRow[],
  asMap: boolean,
  path: string,
): NodeObject[] | Record<string, number> {
  const nodes: NodeObject[] = rows.map((row, index) => {
    const host = row.host.trim();
    if (host === '') throw new FieldError(path, `Node ${index + 1} has no host`);
    const node: NodeObject = {
      host,
      weight: row.weight.trim() === '' ? 1 : parseNumber(row.weight.trim(), path),
    };
    if (row.port.trim() !== '') node.port = parseNumber(row.port.trim(), path);
    if (row.priority.trim() !== '') node.priority = parseNumber(row.priority.trim(), path);
    if (row.metadata !== undefined) node.metadata = row.metadata;
    return {
      host: node.host,
      ...(node.port !== undefined ? { port: node.port } : {}),
      weight: node.weight,
      ...(node.priority !== undefined ? { priority: node.priority } : {}),
      ...(node.metadata !== undefined ? { metadata: node.metadata } : {}),
    };
  });
  const mappable = nodes.every(
    (node) => node.port !== undefined && !node.priority && node.metadata === undefined,
  );
  if (asMap && mappable) {
    return Object.fromEntries(nodes.map((node) => [`${node.host}:${node.port}`, node.weight]));
  }
  return nodes;
}

export function NodesEditor({
  rows,
  onChange,
  path,
}: {
  rows: NodeRow[];
  onChange(rows: NodeRow[]): void;
  path: string;
}) {
  const error = useFieldPaths([path]);
  const { readOnly } = useFormContext();
  const update = (index: number, patch: Partial<NodeRow>) =>
    onChange(rows.map((row, current) => (current === index ? { ...row, ...patch } : row)));
  return (
    <div className={`field field--wide${error ? ' field--invalid' : ''}`} data-field={path}>
      <div className="nodes">
        <div className="nodes-head" aria-hidden="true">
          <span>Host</span>
          <span>Port</span>
          <span>Weight</span>
          <span>Priority</span>
          <span />
        </div>
        {rows.map((row, index) => (
          <div className="nodes-row" key={index}>
            <input
              className="input mono"
              aria-label={`Node ${index + 1} host`}
              placeholder="127.0.0.1 or [::1] or backend.local"
              value={row.host}
              onChange={(event) => update(index, { host: event.target.value })}
            />
            <input
              className="input mono"
              type="number"
              inputMode="numeric"
              aria-label={`Node ${index + 1} port`}
              placeholder="port"
              value={row.port}
              onChange={(event) => update(index, { port: event.target.value })}
            />
            <input
              className="input mono"
              type="number"
              inputMode="numeric"
              min={0}
              aria-label={`Node ${index + 1} weight`}
              value={row.weight}
              onChange={(event) => update(index, { weight: event.target.value })}
            />
            <input
              className="input mono"
              type="number"
              inputMode="numeric"
              aria-label={`Node ${index + 1} priority`}
              placeholder="0"
              value={row.priority}
              onChange={(event) => update(index, { priority: event.target.value })}
            />
            {!readOnly && (
              <button
                type="button"
                className="button button--icon button--ghost"
                aria-label={`Remove node ${index + 1}`}
                onClick={() => onChange(rows.filter((_, current) => current !== index))}
              >
                <Icon name="close" />
              </button>
            )}
          </div>
        ))}
      </div>
      {rows.length === 0 && (
        <p className="muted">No nodes: connections would be closed (no valid upstream node).</p>
      )}
      {!readOnly && (
        <div>
          <button
            type="button"
            className="button button--small"
            onClick={() => onChange([...rows, emptyNode()])}
          >
            <Icon name="plus" /> Add node
          </button>
        </div>
      )}
      {error !== undefined ? (
        <p className="field-error" role="alert">
          {error}
        </p>
      ) : (
        <p className="field-hint">
          Weight 0 keeps a node without sending it anything. Higher priority groups are used first;
          lower ones only when every node above them failed.
        </p>
      )}
    </div>
  );
}
