import {
  deleteConnection,
  deleteConnectionsToNode,
  deleteService,
  deleteSsl,
  deleteStreamRoute,
  deleteUpstream,
  getService,
  getSsl,
  getStreamRoute,
  getStatus,
  getTraffic,
  getUpstream,
  getUpstreamHealth,
  listConnections,
  listHealth,
  listServices,
  listSsls,
  listStreamRoutes,
  listUpstreams,
  patchSsl,
  postMatch,
  postService,
  postSsl,
  postStreamRoute,
  postUpstream,
  putService,
  putSsl,
  putStreamRoute,
  putUpstream,
  type Client,
  type ConnectionListDto,
  type HealthListDto,
  type MatchRequestDto,
  type MatchResultDto,
  type ServiceDto,
  type ServiceDtoWritable,
  type SslDto,
  type SslDtoWritable,
  type StreamRouteDto,
  type StatusDto,
  type StreamRouteDtoWritable,
  type TrafficDto,
  type UpstreamDto,
  type UpstreamDtoWritable,
  type UpstreamHealthDto,
} from '@strait/api-client';

/** An answer other than 2xx, with the APISIX error text (`error_msg`, `message` or a plain body). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly description?: string,
  ) {
    super(message);
  }

  /** The admin key is a viewer key: the API refused a write (`invalid method for role viewer`). */
  get isViewerRefusal(): boolean {
    return this.status === 401 && this.description === 'invalid method for role viewer';
  }

  get isAuthFailure(): boolean {
    return this.status === 401 && !this.isViewerRefusal;
  }
}

interface SdkResult<T> {
  data?: T;
  error?: unknown;
  response?: Response;
}

/** Unwraps an SDK call: the data of a 2xx answer, or an ApiError carrying the API's own text. */
export async function call<T>(pending: Promise<SdkResult<T>>): Promise<T> {
  const result = await pending;
  const status = result.response?.status ?? 0;
  if (result.response?.ok && result.error === undefined) return result.data as T;
  throw toApiError(status, result.error);
}

function toApiError(status: number, body: unknown): ApiError {
  if (status === 0) {
    const reason = body instanceof Error ? body.message : 'network error';
    return new ApiError(0, `The service did not answer (${reason}).`);
  }
  if (typeof body === 'string' && body.trim() !== '') return new ApiError(status, body.trim());
  if (body !== null && typeof body === 'object') {
    const record = body as Record<string, unknown>;
    const message = record.error_msg ?? record.message;
    if (typeof message === 'string') {
      const description = typeof record.description === 'string' ? record.description : undefined;
      return new ApiError(status, message, description);
    }
  }
  return new ApiError(status, `HTTP ${status}`);
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    return error.description ? `${error.message}: ${error.description}` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

export interface ListQuery {
  page: number;
  page_size: number;
  name?: string;
  label?: string;
}

export interface Item<T> {
  key: string;
  value: T;
  createdIndex: number;
  modifiedIndex: number;
}

export interface Page<T> {
  list: Item<T>[];
  total: number;
}

export type ResourceKind = 'stream_routes' | 'upstreams' | 'services' | 'ssls';

/** The operations of one admin resource, bound to the generated SDK functions. */
export interface ResourceApi<Dto, Writable> {
  kind: ResourceKind;
  /** "stream route": used in sentences. */
  singular: string;
  plural: string;
  /** Dashboard path of the list page, e.g. /stream-routes/. */
  route: string;
  list(client: Client, query: ListQuery): Promise<Page<Dto>>;
  get(client: Client, id: string): Promise<Item<Dto>>;
  create(client: Client, body: Writable): Promise<Dto>;
  put(client: Client, id: string, body: Writable): Promise<Dto>;
  remove(client: Client, id: string, force: boolean): Promise<void>;
}

/** APISIX encodes an empty Lua table as `{}`, so a page past the end may be an object. */
function normalizePage<T>(page: { list: unknown; total: number }): Page<T> {
  return { list: Array.isArray(page.list) ? (page.list as Item<T>[]) : [], total: page.total ?? 0 };
}

const force = (value: boolean) => (value ? { force: 'true' } : undefined);

export const streamRouteApi: ResourceApi<StreamRouteDto, StreamRouteDtoWritable> = {
  kind: 'stream_routes',
  singular: 'stream route',
  plural: 'stream routes',
  route: '/stream-routes/',
  list: async (client, query) => normalizePage(await call(listStreamRoutes({ client, query }))),
  get: (client, id) => call(getStreamRoute({ client, path: { id } })),
  create: async (client, body) => (await call(postStreamRoute({ client, body }))).value,
  put: async (client, id, body) =>
    (await call(putStreamRoute({ client, path: { id }, body }))).value,
  remove: async (client, id, forced) => {
    await call(deleteStreamRoute({ client, path: { id }, query: force(forced) }));
  },
};

export const upstreamApi: ResourceApi<UpstreamDto, UpstreamDtoWritable> = {
  kind: 'upstreams',
  singular: 'upstream',
  plural: 'upstreams',
  route: '/upstreams/',
  list: async (client, query) => normalizePage(await call(listUpstreams({ client, query }))),
  get: (client, id) => call(getUpstream({ client, path: { id } })),
  create: async (client, body) => (await call(postUpstream({ client, body }))).value,
  put: async (client, id, body) => (await call(putUpstream({ client, path: { id }, body }))).value,
  remove: async (client, id, forced) => {
    await call(deleteUpstream({ client, path: { id }, query: force(forced) }));
  },
};

export const serviceApi: ResourceApi<ServiceDto, ServiceDtoWritable> = {
  kind: 'services',
  singular: 'service',
  plural: 'services',
  route: '/services/',
  list: async (client, query) => normalizePage(await call(listServices({ client, query }))),
  get: (client, id) => call(getService({ client, path: { id } })),
  create: async (client, body) => (await call(postService({ client, body }))).value,
  put: async (client, id, body) => (await call(putService({ client, path: { id }, body }))).value,
  remove: async (client, id, forced) => {
    await call(deleteService({ client, path: { id }, query: force(forced) }));
  },
};

export const sslApi: ResourceApi<SslDto, SslDtoWritable> & {
  patch(client: Client, id: string, body: Record<string, unknown>): Promise<SslDto>;
} = {
  kind: 'ssls',
  singular: 'SSL object',
  plural: 'SSL objects',
  route: '/ssls/',
  list: async (client, query) => normalizePage(await call(listSsls({ client, query }))),
  get: (client, id) => call(getSsl({ client, path: { id } })),
  create: async (client, body) => (await call(postSsl({ client, body }))).value,
  put: async (client, id, body) => (await call(putSsl({ client, path: { id }, body }))).value,
  patch: async (client, id, body) => (await call(patchSsl({ client, path: { id }, body }))).value,
  remove: async (client, id, forced) => {
    await call(deleteSsl({ client, path: { id }, query: force(forced) }));
  },
};

/** Every item of a list, page by page (500 is the API's largest page). */
export async function listAll<Dto>(
  api: Pick<ResourceApi<Dto, unknown>, 'list'>,
  client: Client,
  filters: { label?: string } = {},
): Promise<Item<Dto>[]> {
  const items: Item<Dto>[] = [];
  for (let page = 1; page <= 200; page += 1) {
    const result = await api.list(client, { page, page_size: 500, ...filters });
    items.push(...result.list);
    if (result.list.length < 500 || items.length >= result.total) break;
  }
  return items;
}

export function idOf(item: Item<unknown>): string {
  return item.key.slice(item.key.lastIndexOf('/') + 1);
}

/** The server's clock from an answer's Date header (seconds resolution), else the browser's. */
function serverNow(response: Response | undefined): number {
  const header = response?.headers.get('date');
  const parsed = header ? Date.parse(header) : Number.NaN;
  return Number.isNaN(parsed) ? Date.now() : parsed;
}

/** The Strait operations of the live views (`/strait/v1`), bound to the generated SDK. */
export const liveApi = {
  status: (client: Client): Promise<StatusDto> => call(getStatus({ client })),
  health: (client: Client): Promise<HealthListDto> => call(listHealth({ client })),
  upstreamHealth: (client: Client, id: string): Promise<UpstreamHealthDto> =>
    call(getUpstreamHealth({ client, path: { id } })),
  connections: (
    client: Client,
    filters: { route_id?: string; node?: string },
  ): Promise<ConnectionListDto> => {
    const query: { route_id?: string; node?: string } = {};
    if (filters.route_id) query.route_id = filters.route_id;
    if (filters.node) query.node = filters.node;
    return call(listConnections({ client, query }));
  },
  closeConnection: async (client: Client, id: number): Promise<number> =>
    (await call(deleteConnection({ client, path: { id } }))).closed,
  drainNode: async (client: Client, node: string): Promise<number> =>
    (await call(deleteConnectionsToNode({ client, query: { node } }))).closed,
  /** Per-route traffic, with the server's clock at the answer (the samples are on it). */
  traffic: async (
    client: Client,
    seconds: number,
  ): Promise<{ traffic: TrafficDto; serverTime: number }> => {
    const result = await getTraffic({ client, query: { seconds } });
    const traffic = await call(Promise.resolve(result));
    return { traffic, serverTime: serverNow(result.response) };
  },
  match: (client: Client, body: MatchRequestDto): Promise<MatchResultDto> =>
    call(postMatch({ client, body })),
};
