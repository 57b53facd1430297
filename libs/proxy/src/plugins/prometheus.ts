import type { StreamPlugin } from './plugin-types';

/**
 * prometheus (500): only marks the route for metrics, which the engine's metrics layer collects
 * from connection events; nothing runs per connection, so no step is built.
 */
export const prometheusPlugin: StreamPlugin = {
  name: 'prometheus',
  priority: 500,
  compile: () => undefined,
};
