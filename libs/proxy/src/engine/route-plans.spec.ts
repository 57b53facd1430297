import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ProxyConfig, StreamRouteSpec } from '../config';
import { compileRouteTable } from '../routing';
import type { PrereadPipelineFactory, PrereadStep } from './preread';
import { buildRuntimeState, type RuntimeState } from './route-plans';

const defaults = { connectTimeoutMs: 60_000, idleTimeoutMs: 600_000 };

function route(id: string, port: number, plugins?: Record<string, unknown>): StreamRouteSpec {
  return {
    id,
    plugins,
    upstream: {
      key: `/apisix/upstreams/${id}`,
      version: '1',
      type: 'roundrobin',
      hashOn: 'vars',
      nodes: [{ host: '127.0.0.1', port, weight: 1, priority: 0 }],
      scheme: 'tcp',
    },
  };
}

describe('buildRuntimeState: plans across applies', () => {
  it('keeps the plan of an unchanged step-free route and still runs the pipeline for every route', () => {
    const calls: string[] = [];
    const pipeline: PrereadPipelineFactory = (spec) => {
      calls.push(spec.id);
      return spec.plugins ? [{ name: 'step', run: () => undefined } satisfies PrereadStep] : [];
    };
    const plain = route('plain', 1980);
    const withPlugins = route('plugins', 1981, { any: {} });
    const replaced = route('replaced', 1982);
    const apply = (routes: StreamRouteSpec[], version: number, previous?: RuntimeState) => {
      const config: ProxyConfig = { routes, certificates: [] };
      return buildRuntimeState(
        config,
        compileRouteTable(routes),
        defaults,
        pipeline,
        version,
        previous,
      ).state;
    };
    const first = apply([plain, withPlugins, replaced], 1);
    const replacement = route('replaced', 2000);
    const second = apply([plain, withPlugins, replacement], 2, first);

    assert.deepEqual(calls, ['plain', 'plugins', 'replaced', 'plain', 'plugins', 'replaced']);
    assert.equal(second.planFor(plain), first.planFor(plain), 'same spec, no steps: plan reused');
    assert.notEqual(second.planFor(withPlugins), first.planFor(withPlugins), 'steps are rebuilt');
    assert.equal(second.planFor(withPlugins).preread.length, 1);
    assert.equal(second.planFor(replacement).upstream?.upstream.nodes[0].port, 2000);
    assert.equal(second.planFor(replacement).route, replacement);
    assert.equal(second.version, 2);
  });

  it('does not take over a plan when the pipeline now gives the route steps', () => {
    let withSteps = false;
    const pipeline: PrereadPipelineFactory = () =>
      withSteps ? [{ name: 'late', run: () => undefined }] : [];
    const spec = route('r', 1980);
    const config: ProxyConfig = { routes: [spec], certificates: [] };
    const table = compileRouteTable(config.routes);
    const first = buildRuntimeState(config, table, defaults, pipeline, 1).state;
    withSteps = true;
    const second = buildRuntimeState(config, table, defaults, pipeline, 2, first).state;
    assert.deepEqual(
      second.planFor(spec).preread.map((step) => step.name),
      ['late'],
    );
  });
});
