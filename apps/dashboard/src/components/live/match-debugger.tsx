'use client';

import type {
  ListenerStatusDto,
  MatchRequestDto,
  MatchResultDto,
  StreamRouteDto,
} from '@strait/api-client';
import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiError, errorText, liveApi } from '../../lib/api';
import { explainFailure, fieldErrors, hostPort, type MatchFailure } from '../../lib/live';
import { useSession } from '../../lib/session';
import { Section, TextField } from '../form/fields';
import { FormContext, type FormContextValue } from '../form/form-context';
import { Icon } from '../icons';
import { writeQuery } from './live-bits';
import { useStreamRoutes } from './use-routes';

type Protocol = 'tcp' | 'udp';

interface Inputs {
  remote_addr: string;
  remote_port: string;
  server_addr: string;
  server_port: string;
  sni: string;
  protocol: Protocol;
}

/** The inputs an API message can be shown beside (the protocol switch cannot be wrong). */
const FIELDS = ['remote_addr', 'remote_port', 'server_addr', 'server_port', 'sni'];
/** The route fields a connection is matched on, in the order the table shows them. */
const CRITERIA = ['remote_addr', 'server_addr', 'server_port', 'sni'] as const;
const CRITERION_LABEL: Record<(typeof CRITERIA)[number], string> = {
  remote_addr: 'Client address',
  server_addr: 'Server address',
  server_port: 'Server port',
  sni: 'SNI',
};

function readInputs(params: URLSearchParams): Inputs {
  return {
    remote_addr: params.get('remote_addr') ?? '',
    remote_port: params.get('remote_port') ?? '',
    server_addr: params.get('server_addr') ?? '',
    server_port: params.get('server_port') ?? '',
    sni: params.get('sni') ?? '',
    protocol: params.get('protocol') === 'udp' ? 'udp' : 'tcp',
  };
}

/** The request body; numbers the browser cannot read go as they are, for the API to explain. */
function toRequest(inputs: Inputs): MatchRequestDto {
  const number = (text: string) => {
    const trimmed = text.trim();
    return (trimmed === '' ? undefined : Number(trimmed)) as number;
  };
  const body: MatchRequestDto = {
    remote_addr: inputs.remote_addr.trim(),
    server_addr: inputs.server_addr.trim(),
    server_port: number(inputs.server_port),
    protocol: inputs.protocol,
  };
  if (inputs.remote_port.trim() !== '') body.remote_port = number(inputs.remote_port);
  if (inputs.sni.trim() !== '' && inputs.protocol === 'tcp') body.sni = inputs.sni.trim();
  return body;
}

const WILDCARD = new Set(['0.0.0.0', '::', '*', '']);

function criterionValue(route: StreamRouteDto | undefined, field: (typeof CRITERIA)[number]) {
  const value = route?.[field];
  return value === undefined || value === '' ? undefined : String(value);
}

function RouteCriteria({
  route,
  failed,
}: {
  route: StreamRouteDto | undefined;
  failed?: MatchFailure;
}) {
  return (
    <dl className="criteria">
      {CRITERIA.map((field) => {
        const value = criterionValue(route, field);
        return (
          <div
            key={field}
            className={`criterion${failed === field ? ' criterion--failed' : ''}`}
            data-criterion={field}
          >
            <dt>{field}</dt>
            <dd className="mono">{value ?? <span className="muted">any</span>}</dd>
          </div>
        );
      })}
    </dl>
  );
}

/** Where a route sends its connections (upstream object, service or inline upstream). */
function RouteTarget({ route }: { route: StreamRouteDto | undefined }) {
  if (route?.upstream_id !== undefined) {
    const id = String(route.upstream_id);
    return <Link href={`/upstreams/edit/?id=${encodeURIComponent(id)}`}>upstream {id}</Link>;
  }
  if (route?.upstream) return <>its inline upstream</>;
  if (route?.service_id !== undefined) {
    const id = String(route.service_id);
    return (
      <Link href={`/services/edit/?id=${encodeURIComponent(id)}`}>
        the upstream of service {id}
      </Link>
    );
  }
  return <>its upstream</>;
}

function RouteLink({ id, routes }: { id: string; routes?: ReadonlyMap<string, StreamRouteDto> }) {
  const name = routes?.get(id)?.name;
  return (
    <span className="name-cell">
      <Link className="mono strong" href={`/stream-routes/edit/?id=${encodeURIComponent(id)}`}>
        {id}
      </Link>
      {name && <span className="muted small">{name}</span>}
    </span>
  );
}

function Result({
  request,
  result,
  routes,
}: {
  request: MatchRequestDto;
  result: MatchResultDto;
  routes?: ReadonlyMap<string, StreamRouteDto>;
}) {
  const winner = result.matched ?? undefined;
  const description = `${request.protocol ?? 'tcp'} ${hostPort(request.remote_addr, request.remote_port ?? '*')} → ${hostPort(request.server_addr, request.server_port)}${request.sni ? ` · SNI ${request.sni}` : ''}`;
  return (
    <section className="panel" aria-label="Match result" data-testid="match-result">
      <header className="panel-head">
        <h2>Result</h2>
        <span className="muted small mono">{description}</span>
      </header>
      {winner ? (
        <div className="panel-pad match-winner" data-testid="match-winner" data-route={winner}>
          <p className="summary-line summary-line--ok">
            <Icon name="check" />
            <span>
              Route{' '}
              <Link
                className="mono strong"
                href={`/stream-routes/edit/?id=${encodeURIComponent(winner)}`}
              >
                {winner}
              </Link>
              {routes?.get(winner)?.name ? ` (${routes.get(winner)?.name})` : ''} takes the
              connection
            </span>
          </p>
          <RouteCriteria route={routes?.get(winner)} />
          <p className="muted small">
            Sends it to <RouteTarget route={routes?.get(winner)} />.
          </p>
        </div>
      ) : (
        <p className="panel-pad summary-line summary-line--danger" data-testid="match-none">
          <Icon name="alert" />
          No route: the connection would be closed without a byte.
        </p>
      )}
      {result.others.length > 0 && (
        <>
          <h3 className="panel-subhead">
            {winner ? 'Every other route' : 'Why no route takes it'}
          </h3>
          <div className="table-panel">
            <table className="table table--match">
              <thead>
                <tr>
                  <th>Route</th>
                  <th>Why not</th>
                  {CRITERIA.map((field) => (
                    <th key={field}>{CRITERION_LABEL[field]}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {result.others.map((other) => {
                  const route = routes?.get(other.id);
                  return (
                    <tr key={other.id} data-route={other.id} data-failed={other.failed}>
                      <td data-label="Route">
                        <RouteLink id={other.id} routes={routes} />
                      </td>
                      <td data-label="Why not">
                        <span className="why-cell">
                          <span
                            className={`badge ${other.failed === 'shadowed' ? 'badge--warning' : 'badge--danger'}`}
                          >
                            {other.failed}
                          </span>
                          <span className="small muted">
                            {explainFailure(other.failed, route, winner)}
                          </span>
                        </span>
                      </td>
                      {CRITERIA.map((field) => {
                        const value = criterionValue(route, field);
                        return (
                          <td
                            key={field}
                            data-label={CRITERION_LABEL[field]}
                            className={`mono small${other.failed === field ? ' cell--failed' : ''}`}
                          >
                            {value ?? <span className="muted">any</span>}
                          </td>
                        );
                      })}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}

/**
 * The route-match debugger: which stream route a connection from A to B:port (with SNI n) would
 * hit, answered by the running proxy's route table, and the first criterion every other route
 * failed. The form's values live in the URL, so an answer can be shared.
 */
export function MatchDebugger() {
  const { client } = useSession();
  const params = useSearchParams();
  const [inputs, setInputs] = useState<Inputs>(() =>
    readInputs(new URLSearchParams(params.toString())),
  );
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [banner, setBanner] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [answer, setAnswer] = useState<{ request: MatchRequestDto; result: MatchResultDto }>();
  const [listeners, setListeners] = useState<ListenerStatusDto[]>([]);
  const { routes, reload } = useStreamRoutes();
  const formElement = useRef<HTMLFormElement>(null);

  useEffect(() => {
    let cancelled = false;
    liveApi.status(client).then(
      (status) => !cancelled && setListeners(status.listeners),
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, [client]);

  const context = useMemo<FormContextValue>(
    () => ({ readOnly: false, errors, register: () => () => undefined }),
    [errors],
  );
  const set = (changes: Partial<Inputs>) => setInputs((current) => ({ ...current, ...changes }));

  const explain = async (values: Inputs) => {
    setBusy(true);
    setErrors({});
    setBanner(undefined);
    const request = toRequest(values);
    writeQuery({ ...values, protocol: values.protocol === 'tcp' ? undefined : values.protocol });
    try {
      // The route table may have changed since the page loaded: names and fields are re-read.
      const [result] = await Promise.all([
        liveApi.match(client, request),
        reload().catch(() => undefined),
      ]);
      setAnswer({ request, result });
    } catch (failure) {
      setAnswer(undefined);
      if (failure instanceof ApiError && failure.status === 400) {
        const { byField, rest } = fieldErrors(failure.message, FIELDS);
        setErrors(byField);
        setBanner(
          rest.length > 0 ? rest.join('; ') : `The API refused the request: ${failure.message}`,
        );
        requestAnimationFrame(() => {
          const first = Object.keys(byField)[0];
          formElement.current?.querySelector<HTMLElement>(`[data-field="${first}"] input`)?.focus();
        });
      } else {
        setBanner(errorText(failure));
      }
    } finally {
      setBusy(false);
    }
  };

  // Opened from a shared link: answer at once.
  const autoRun = useRef(inputs.remote_addr !== '' && inputs.server_port !== '');
  useEffect(() => {
    if (!autoRun.current) return;
    autoRun.current = false;
    void explain(inputs);
    // Runs once, for the values the page was opened with.
  }, []);

  const field = (
    path: keyof Omit<Inputs, 'protocol'>,
    label: string,
    options: { hint?: ReactNode; placeholder?: string; numeric?: boolean } = {},
  ) => (
    <TextField
      path={path}
      label={label}
      value={inputs[path]}
      onChange={(value) => set({ [path]: value })}
      hint={options.hint}
      placeholder={options.placeholder}
      inputMode={options.numeric ? 'numeric' : undefined}
      mono
    />
  );

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1 className="page-title">Match debugger</h1>
          <p className="page-description">
            Which stream route a connection would hit, and why every other route does not. The
            running proxy answers from its own route table, exactly as it picks a route for a real
            connection.
          </p>
        </div>
      </div>

      <FormContext.Provider value={context}>
        <form
          ref={formElement}
          className="form"
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            void explain(inputs);
          }}
        >
          {banner && (
            <div className="alert alert--danger" role="alert" data-testid="form-error">
              <Icon name="alert" /> <span>{banner}</span>
            </div>
          )}
          <Section
            title="Connection"
            description="A connection to imagine: who connects, to which local address and port."
            actions={
              <div className="segmented" role="radiogroup" aria-label="Protocol">
                {(['tcp', 'udp'] as const).map((protocol) => (
                  <button
                    key={protocol}
                    type="button"
                    role="radio"
                    aria-checked={inputs.protocol === protocol}
                    className={inputs.protocol === protocol ? 'active' : ''}
                    onClick={() => set({ protocol })}
                  >
                    {protocol.toUpperCase()}
                  </button>
                ))}
              </div>
            }
          >
            {field('remote_addr', 'Client address', {
              placeholder: 'e.g. 192.0.2.10',
              hint: "The client's IP ($remote_addr).",
            })}
            {field('remote_port', 'Client port', {
              placeholder: 'optional',
              numeric: true,
              hint: 'Optional.',
            })}
            {field('server_addr', 'Server address', {
              placeholder: 'e.g. 127.0.0.1',
              hint: 'The local address the connection arrives at ($server_addr).',
            })}
            {field('server_port', 'Server port', {
              placeholder: 'e.g. 9100',
              numeric: true,
              hint: 'The listener port ($server_port).',
            })}
            {inputs.protocol === 'tcp' ? (
              field('sni', 'SNI', {
                placeholder: 'optional, e.g. db.example.com',
                hint: 'The TLS server name; empty: none (or fallback_sni).',
              })
            ) : (
              <div className="field">
                <span className="field-label">SNI</span>
                <p className="field-hint">UDP sessions have no server name.</p>
              </div>
            )}
            {listeners.length > 0 && (
              <div className="field field--wide">
                <span className="field-label">Listeners</span>
                <span className="chips">
                  {listeners.map((listener) => (
                    <button
                      key={listener.configKey}
                      type="button"
                      className="chip"
                      title={`Use ${listener.id} (${listener.configKey})`}
                      onClick={() =>
                        set({
                          server_port: String(listener.port),
                          protocol: listener.protocol,
                          ...(WILDCARD.has(listener.host) ? {} : { server_addr: listener.host }),
                        })
                      }
                    >
                      {listener.id}
                      {listener.tls ? ' · TLS' : ''}
                    </button>
                  ))}
                </span>
                <p className="field-hint">Fill the server address and port from a listener.</p>
              </div>
            )}
          </Section>
          <div className="form-actions form-actions--inline">
            <button type="submit" className="button button--primary" disabled={busy}>
              <Icon name="debugger" /> {busy ? 'Asking…' : 'Explain'}
            </button>
          </div>
        </form>
      </FormContext.Provider>

      {answer && <Result request={answer.request} result={answer.result} routes={routes} />}
    </div>
  );
}
