import type { ConnectionSummary } from '../engine/connection-events';
import type { PrereadSession } from '../engine/preread';
import { parseIpAddress } from '../routing/ip-address';
import { parseIpNetwork, type IpNetwork } from '../routing/ip-matcher';
import { PluginConfError } from './plugin-types';
import { compileVarReader, type VarReader } from './stream-vars';

/** A compiled lua-resty-expr rule over the stream variables. */
export type ExprPredicate = (
  session: PrereadSession,
  summary: ConnectionSummary | undefined,
) => boolean;

type Compare = (left: string | undefined) => boolean;

const ALWAYS: ExprPredicate = () => true;

/** Lua `tonumber` on a variable's text: undefined unless the whole text is a number. */
function toNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const value = Number(trimmed);
  return Number.isNaN(value) ? undefined : value;
}

function rightAsNumber(right: unknown): number | undefined {
  if (typeof right === 'number') return right;
  if (typeof right === 'string') return toNumber(right);
  return undefined;
}

/** Lua equality: a string never equals a number, unless `==` converts (see below). */
function luaEquals(left: string | undefined, right: unknown): boolean {
  return typeof right === 'string' && left === right;
}

function compileRegex(pattern: unknown, flags: string): RegExp {
  if (typeof pattern !== 'string') throw new PluginConfError('invalid regex in vars expression');
  try {
    return new RegExp(pattern, flags);
  } catch {
    throw new PluginConfError(`invalid regex in vars expression: ${pattern}`);
  }
}

function compileIpList(right: unknown): IpNetwork[] {
  const list = Array.isArray(right) ? right : [right];
  const networks: IpNetwork[] = [];
  for (const entry of list) {
    const network = parseIpNetwork(String(entry));
    if (network === undefined) throw new PluginConfError(`invalid ip address: ${String(entry)}`);
    networks.push(network);
  }
  if (networks.length === 0) throw new PluginConfError('invalid ip address');
  return networks;
}

type NumericOperator = '>' | '>=' | '<' | '<=';

/** `>`, `>=`, `<`, `<=`: false unless the variable reads as a number (NaN compares false). */
function numericComparison(operator: NumericOperator, limit: number): Compare {
  switch (operator) {
    case '>':
      return (left) => (toNumber(left) ?? NaN) > limit;
    case '>=':
      return (left) => (toNumber(left) ?? NaN) >= limit;
    case '<':
      return (left) => (toNumber(left) ?? NaN) < limit;
    case '<=':
      return (left) => (toNumber(left) ?? NaN) <= limit;
  }
}

/** lua-resty-expr's compare_funcs, with the right-hand value prepared once. */
function compileComparison(operator: string, right: unknown): Compare {
  switch (operator) {
    case '==':
    case '~=': {
      // `==` with a number on the right compares numerically (tonumber on the left).
      let equals: Compare;
      if (typeof right === 'number') {
        equals = (left) => toNumber(left) === right;
      } else {
        equals = (left) => luaEquals(left, right);
      }
      return operator === '==' ? equals : (left) => !equals(left);
    }
    case '>':
    case '>=':
    case '<':
    case '<=': {
      const limit = rightAsNumber(right);
      if (limit === undefined) return () => false;
      return numericComparison(operator, limit);
    }
    case '~~':
    case '~*': {
      const regex = compileRegex(right, operator === '~*' ? 'i' : '');
      return (left) => left !== undefined && regex.test(left);
    }
    case 'in': {
      if (!Array.isArray(right)) return () => false;
      const values = right.filter((value): value is string => typeof value === 'string');
      const set = new Set(values);
      return (left) => left !== undefined && set.has(left);
    }
    // A stream variable is never a table, so `has` never holds.
    case 'has':
      return () => false;
    case 'ipmatch': {
      const networks = compileIpList(right);
      return (left) => {
        if (left === undefined) return false;
        const address = parseIpAddress(left);
        if (address === undefined) return false;
        for (const network of networks) if (network.matches(address)) return true;
        return false;
      };
    }
    default:
      throw new PluginConfError(`invalid operator '${operator}'`);
  }
}

function compileLeaf(rule: readonly unknown[]): ExprPredicate {
  let negate = false;
  let name: unknown;
  let operator: unknown;
  let right: unknown;
  if (rule.length === 4) {
    if (rule[1] !== '!') throw new PluginConfError("bad 'not' expression");
    negate = true;
    [name, , operator, right] = rule;
  } else if (rule.length === 2) {
    // `[var, value]`: an implicit `==`.
    [name, right] = rule;
    operator = '==';
  } else {
    [name, operator, right] = rule;
  }
  if (typeof name !== 'string' || typeof operator !== 'string') {
    throw new PluginConfError('invalid expression');
  }
  const read: VarReader = compileVarReader(name);
  const compare = compileComparison(operator.toLowerCase(), right);
  return negate
    ? (session, summary) => !compare(read(session, summary))
    : (session, summary) => compare(read(session, summary));
}

const LOGIC = new Set(['AND', 'OR', '!AND', '!OR']);

function compileNode(rule: unknown): ExprPredicate {
  if (!Array.isArray(rule) || rule.length === 0) throw new PluginConfError('rule too short');
  const head: unknown = rule[0];
  if (Array.isArray(head)) return compileAll('AND', rule);
  if (typeof head === 'string' && LOGIC.has(head.toUpperCase())) {
    return compileAll(head.toUpperCase(), rule.slice(1));
  }
  return compileLeaf(rule);
}

function compileAll(logic: string, rules: readonly unknown[]): ExprPredicate {
  const children = rules.map(compileNode);
  const any = logic === 'OR' || logic === '!OR';
  const negate = logic.startsWith('!');
  const evaluate: ExprPredicate = any
    ? (session, summary) => {
        for (const child of children) if (child(session, summary)) return true;
        return false;
      }
    : (session, summary) => {
        for (const child of children) if (!child(session, summary)) return false;
        return true;
      };
  return negate ? (session, summary) => !evaluate(session, summary) : evaluate;
}

/**
 * Compiles a lua-resty-expr rule list (`[["remote_addr","==","127.0.0.1"], ["server_port",">",9000]]`,
 * `["OR", [...], [...]]`): the top level is an AND unless it starts with a logic operator; an empty
 * list always holds. Regexes and IP lists are prepared here, so evaluation allocates nothing but
 * what reading a variable takes.
 */
export function compileExpr(rule: unknown): ExprPredicate {
  if (rule === undefined || rule === null) throw new PluginConfError('missing argument rule');
  if (!Array.isArray(rule)) throw new PluginConfError('rule should be wrapped inside brackets');
  if (rule.length === 0) return ALWAYS;
  return compileNode(rule);
}
