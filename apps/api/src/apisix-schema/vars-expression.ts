/**
 * The compile-time checks of lua-resty-expr `expr.new(rule)` (v1), which traffic-split runs on each
 * `rules[].match[].vars`. Messages are the library's; APISIX prefixes them with
 * `failed to validate the 'vars' expression: `.
 */
import { luaNumberToString } from './lua-values';
import { isIpv4Literal, isIpv6Host } from './ip-address';

const LOGIC_OPERATORS = new Set(['OR', '!OR', 'AND', '!AND']);
const COMPARE_OPERATORS = new Set([
  '==',
  '~=',
  '>',
  '>=',
  '<',
  '<=',
  '~~',
  '~*',
  'in',
  'has',
  'ipmatch',
]);

function isTable(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}

/** Lua `string.upper`/`lower` accept strings and numbers only. */
function asLuaString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return luaNumberToString(value);
  return undefined;
}

/** ipmatcher.new: each entry is an IP or CIDR; the error names the address without its mask. */
function checkIpMatchList(list: readonly unknown[]): string | undefined {
  for (const entry of list) {
    const text = typeof entry === 'string' ? entry : String(entry);
    const [address, mask] = text.split('/', 2);
    const maskValue = mask === undefined ? undefined : Number(mask);
    if (
      isIpv4Literal(address) &&
      (maskValue === undefined || (maskValue >= 0 && maskValue <= 32))
    ) {
      continue;
    }
    if (isIpv6Host(address) && (maskValue === undefined || (maskValue >= 0 && maskValue <= 128))) {
      continue;
    }
    return `invalid ip address: ${address}`;
  }
  return undefined;
}

function compileComparison(expression: readonly unknown[]): string | undefined {
  let left: unknown;
  let operator: unknown;
  let right: unknown;
  if (expression.length === 4) {
    if (expression[1] !== '!') return "bad 'not' expression";
    [left, , operator, right] = expression;
  } else {
    [left, operator, right] = expression;
  }
  let operatorName = operator === undefined ? undefined : asLuaString(operator)?.toLowerCase();
  if (operator !== undefined && operatorName === undefined) return 'invalid expression';
  if (right === undefined && (operatorName === undefined || !COMPARE_OPERATORS.has(operatorName))) {
    // Two-element rules are `[var, value]`, an implicit `==` (kept for compatibility).
    right = operator;
    operatorName = '==';
    if (right === undefined) return 'invalid expression';
  }
  if (left === undefined || operatorName === undefined) return 'invalid expression';
  if (!COMPARE_OPERATORS.has(operatorName)) return `invalid operator '${operatorName}'`;
  if (operatorName === 'ipmatch') {
    if (right === undefined || right === '') return 'invalid ip address';
    // A JSON object is a Lua table with no array part: `#r_v == 0`.
    const list = Array.isArray(right) ? right : isTable(right) ? [] : [right];
    if (list.length === 0) return 'invalid ip address';
    return checkIpMatchList(list);
  }
  return undefined;
}

function compile(rules: unknown): string | undefined {
  // A non-table rule makes the Lua library raise; report it as an invalid expression instead.
  if (!Array.isArray(rules)) return isTable(rules) ? 'rule too short' : 'invalid expression';
  if (rules.length === 0) return 'rule too short';
  if (isTable(rules[0])) {
    for (const rule of rules) {
      const error = compile(rule);
      if (error !== undefined) return error;
    }
    return undefined;
  }
  const logic = asLuaString(rules[0])?.toUpperCase();
  if (logic !== undefined && LOGIC_OPERATORS.has(logic)) {
    if (rules.length <= 2) return 'rule too short';
    for (const rule of rules.slice(1)) {
      const error = compile(rule);
      if (error !== undefined) return error;
    }
    return undefined;
  }
  return compileComparison(rules);
}

/** `expr.new(rule)`: undefined when the rule compiles, else the library's error text. */
export function checkVarsExpression(rule: unknown): string | undefined {
  if (rule === undefined) return 'missing argument rule';
  if (!Array.isArray(rule)) return compile(rule);
  if (rule.length === 0) return undefined;
  if (!isTable(rule[0])) {
    const logic = asLuaString(rule[0])?.toUpperCase();
    if (logic === undefined || !LOGIC_OPERATORS.has(logic)) {
      return 'rule should be wrapped inside brackets';
    }
  }
  return compile(rule);
}
