import type { TrafficSplitWeightedUpstream, UpstreamSpec } from '../config';
import type { PrereadOutcome, PrereadSession } from '../engine/preread';
import { compileExpr, type ExprPredicate } from './expr';
import type { RetainedState } from './retained-state';
import {
  isPlainObject,
  PluginConfError,
  REJECT_500,
  type PluginStep,
  type StreamPlugin,
} from './plugin-types';

/**
 * Smooth weighted round robin (nginx): over every sum(weights) picks each entry gets exactly its
 * weight, interleaved. An entry value of undefined stands for the route's own upstream. The
 * current weights are kept across apply() while the rule's entries stay the same, so frequent
 * config changes elsewhere do not restart the sequence.
 */
class SmoothWeightedChoice {
  private readonly total: number;

  constructor(
    private readonly values: readonly (UpstreamSpec | undefined)[],
    private readonly weights: readonly number[],
    private readonly current: Float64Array,
  ) {
    this.total = weights.reduce((sum, weight) => sum + weight, 0);
  }

  pick(): UpstreamSpec | undefined {
    const current = this.current;
    let best = 0;
    for (let index = 0; index < current.length; index++) {
      current[index] += this.weights[index];
      if (current[index] > current[best]) best = index;
    }
    current[best] -= this.total;
    return this.values[best];
  }
}

interface CompiledRule {
  /** Undefined: the rule has no `match` and always applies. */
  match: ExprPredicate[] | undefined;
  /** An `upstream_id` the control plane could not resolve: reaching this rule is a 500. */
  missingUpstreamId: string | undefined;
  /** Undefined when no entry has a positive weight: the route's upstream is used. */
  choice: SmoothWeightedChoice | undefined;
}

/**
 * traffic-split (966), stream preread = HTTP access: the first rule whose `match` passes (any of
 * its `vars` expressions) picks one of its weighted upstreams per connection; an entry without an
 * upstream is the route's own. APISIX quirk kept: the match result carries over between rules,
 * so a rule with an empty `match` list applies exactly when the previous rule's match passed.
 */
class TrafficSplitStep implements PluginStep {
  readonly name = 'traffic-split';

  constructor(
    private readonly rules: readonly CompiledRule[],
    readonly upstreams: readonly UpstreamSpec[],
  ) {}

  run(session: PrereadSession): PrereadOutcome {
    let matchPassed = true;
    let picked: CompiledRule | undefined;
    for (const rule of this.rules) {
      if (rule.missingUpstreamId !== undefined) return REJECT_500;
      if (rule.match === undefined) {
        matchPassed = true;
        picked = rule;
        break;
      }
      for (const match of rule.match) {
        matchPassed = match(session, undefined);
        if (matchPassed) break;
      }
      if (matchPassed) {
        picked = rule;
        break;
      }
    }
    if (!matchPassed || picked?.choice === undefined) return undefined;
    const upstream = picked.choice.pick();
    if (upstream !== undefined) session.upstream = upstream;
    return undefined;
  }
}

function compileRule(
  rule: unknown,
  upstreams: UpstreamSpec[],
  positionOf: (identity: string, length: number) => Float64Array,
): CompiledRule {
  if (!isPlainObject(rule)) throw new PluginConfError('rules[] must be objects');
  let match: ExprPredicate[] | undefined;
  if (rule.match !== undefined) {
    if (!Array.isArray(rule.match)) throw new PluginConfError('match must be an array');
    match = rule.match.map((entry: unknown) =>
      compileExpr(isPlainObject(entry) ? entry.vars : undefined),
    );
  }
  // Schema default: a rule without weighted_upstreams sends everything to the route's upstream.
  const entries: unknown[] = Array.isArray(rule.weighted_upstreams)
    ? rule.weighted_upstreams
    : [{ weight: 1 }];
  let missingUpstreamId: string | undefined;
  const values: (UpstreamSpec | undefined)[] = [];
  const weights: number[] = [];
  /** Which upstreams with which weights: the round-robin position is kept while it holds. */
  let identity = '';
  for (const raw of entries) {
    if (!isPlainObject(raw)) throw new PluginConfError('weighted_upstreams[] must be objects');
    const entry = raw as TrafficSplitWeightedUpstream;
    const weight = typeof entry.weight === 'number' ? entry.weight : 1;
    const upstream = isPlainObject(entry.upstream) ? entry.upstream : undefined;
    if (upstream === undefined && entry.upstream_id !== undefined) {
      missingUpstreamId ??= String(entry.upstream_id);
      continue;
    }
    if (upstream !== undefined && !Array.isArray(upstream.nodes)) {
      throw new PluginConfError('weighted upstream is not an engine UpstreamSpec');
    }
    if (upstream !== undefined) upstreams.push(upstream);
    if (!(weight > 0)) continue;
    values.push(upstream);
    weights.push(weight);
    identity += `${upstream === undefined ? '' : `${upstream.key}@${upstream.version}`}*${weight},`;
  }
  return {
    match,
    missingUpstreamId,
    choice:
      values.length > 0
        ? new SmoothWeightedChoice(values, weights, positionOf(identity, values.length))
        : undefined,
  };
}

/** `positions` keeps each rule's round-robin position across apply() (see SmoothWeightedChoice). */
export function createTrafficSplitPlugin(positions: RetainedState<Float64Array>): StreamPlugin {
  return {
    name: 'traffic-split',
    priority: 966,
    compile(conf, { logger, route }) {
      if (!Array.isArray(conf.rules) || conf.rules.length === 0) return undefined;
      const upstreams: UpstreamSpec[] = [];
      const rules = conf.rules.map((rule: unknown, index: number) =>
        compileRule(rule, upstreams, (identity, length) =>
          positions.use(`${route.id}#${index}#${identity}`, () => new Float64Array(length)),
        ),
      );
      for (const rule of rules) {
        if (rule.missingUpstreamId !== undefined) {
          logger.error('traffic-split: failed to fetch upstream info by upstream id', {
            route: route.id,
            upstream_id: rule.missingUpstreamId,
          });
        }
      }
      return new TrafficSplitStep(rules, upstreams);
    },
  };
}
