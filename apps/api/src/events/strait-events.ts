import type { ResourceKind, StoredObject } from '../store/resource-kinds';

/** Singular event prefixes, as the house event map names them (`stream_route.updated`). */
export const EVENT_SUBJECTS = {
  stream_routes: 'stream_route',
  upstreams: 'upstream',
  ssls: 'ssl',
  services: 'service',
  plugin_metadata: 'plugin_metadata',
} as const satisfies Record<ResourceKind, string>;

export type EventSubject = (typeof EVENT_SUBJECTS)[ResourceKind];
export type StoreAction = 'created' | 'updated' | 'deleted';

/** Emitted after a write has committed; `object` is the new state (absent on delete). */
export interface StoreChangeEvent {
  kind: ResourceKind;
  id: string;
  action: StoreAction;
  revision: number;
  object?: StoredObject;
}

export type StraitEventMap = {
  [Name in `${EventSubject}.${StoreAction}`]: StoreChangeEvent;
};
export type StraitEventName = keyof StraitEventMap;

export function storeEventName(kind: ResourceKind, action: StoreAction): StraitEventName {
  return `${EVENT_SUBJECTS[kind]}.${action}`;
}
