import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applySchemaDefaults, checkSchema } from './json-schema-validator';
import type { JsonSchema } from './json-schema.types';
import { healthCheckerSchema, upstreamSchema } from './schemas/upstream.schema';
import { sslSchema } from './schemas/ssl.schema';

const nodes = { '127.0.0.1:1995': 1 };

describe('api7 jsonschema texts (spec §1.9)', () => {
  it('nests property failures', () => {
    const schema: JsonSchema = {
      type: 'object',
      properties: { upstream: upstreamSchema },
    };
    assert.equal(
      checkSchema(schema, {
        upstream: { nodes, checks: { active: { healthy: { successes: 255 } } } },
      }),
      'property "upstream" validation failed: property "checks" validation failed: property "active" validation failed: property "healthy" validation failed: property "successes" validation failed: expected 255 to be at most 254',
    );
  });

  it('forbids additional properties', () => {
    assert.equal(
      checkSchema(upstreamSchema, { nodes, foo: 1 }),
      'additional properties forbidden, found foo',
    );
  });

  it('reports a missing required property', () => {
    assert.equal(
      checkSchema(
        { type: 'object', properties: { port: { type: 'integer' } }, required: ['port'] },
        {},
      ),
      'property "port" is required',
    );
    assert.equal(checkSchema({ required: ['host'] }, {}), 'property "host" is required');
  });

  it('names types the Lua way', () => {
    assert.equal(checkSchema({ type: 'integer' }, 1.5), 'wrong type: expected integer, got number');
    assert.equal(checkSchema({ type: 'string' }, {}), 'wrong type: expected string, got table');
    assert.equal(checkSchema({ type: 'string' }, []), 'wrong type: expected string, got table');
    assert.equal(checkSchema({ type: 'array' }, {}), 'wrong type: expected array, got table');
    assert.equal(checkSchema({ type: 'object' }, []), 'wrong type: expected object, got table');
    assert.equal(
      checkSchema({ type: 'string' }, null),
      'wrong type: expected string, got userdata',
    );
    assert.equal(
      checkSchema({ type: 'object' }, undefined),
      'wrong type: expected object, got nil',
    );
    assert.equal(
      checkSchema({ type: ['string', 'integer'] }, true),
      'wrong type: expected one of string, integer, got boolean',
    );
    assert.equal(checkSchema({ type: 'integer' }, 1.0), undefined);
  });

  it('words numeric bounds', () => {
    assert.equal(checkSchema({ maximum: 254 }, 255), 'expected 255 to be at most 254');
    assert.equal(checkSchema({ minimum: 1 }, 0), 'expected 0 to be at least 1');
    assert.equal(checkSchema({ exclusiveMinimum: 0 }, 0), 'expected 0 to be greater than 0');
    assert.equal(checkSchema({ minimum: 0 }, -1), 'expected -1 to be at least 0');
    assert.equal(checkSchema({ exclusiveMaximum: 10 }, 10), 'expected 10 to be smaller than 10');
    assert.equal(checkSchema({ minimum: 0 }, -0.5), 'expected -0.5 to be at least 0');
  });

  it('rejects values outside an enum', () => {
    assert.equal(checkSchema({ enum: ['a', 'b'] }, 'c'), 'matches none of the enum values');
    assert.equal(checkSchema({ enum: [1, 0] }, 1), undefined);
  });

  it('words anyOf with and without required sets', () => {
    assert.equal(
      checkSchema({ anyOf: [{ type: 'string' }, { type: 'integer' }] }, true),
      'object matches none of the required',
    );
    assert.equal(
      checkSchema(healthCheckerSchema, { passive: { type: 'tcp' } }),
      'object matches none of the required: ["active"] or ["active","passive"]',
    );
  });

  it('words oneOf with no match and with two matches', () => {
    const schema: JsonSchema = { oneOf: [{ required: ['a'] }, { required: ['b'] }] };
    assert.equal(checkSchema(schema, {}), 'value should match only one schema, but matches none');
    assert.equal(
      checkSchema(schema, { a: 1, b: 2 }),
      'value should match only one schema, but matches both schemas 1 and 2',
    );
  });

  it('quotes pattern failures with Lua %q', () => {
    assert.equal(
      checkSchema({ pattern: '^[a-zA-Z0-9-_]+$' }, '$#^@'),
      'failed to match pattern "^[a-zA-Z0-9-_]+$" with "$#^@"',
    );
    assert.equal(
      checkSchema({ pattern: '^\\S+$' }, 'a b'),
      'failed to match pattern "^\\\\S+$" with "a b"',
    );
  });

  it('counts string length in characters', () => {
    assert.equal(
      checkSchema({ minLength: 128 }, 'https://APISIX_TEST_SSL_CERTS'),
      'string too short, expected at least 128, got 29',
    );
    assert.equal(
      checkSchema({ maxLength: 2 }, 'ééé'),
      'string too long, expected at most 2, got 3',
    );
    assert.equal(checkSchema({ minLength: 2 }, 'éé'), undefined);
  });

  it('words array size and uniqueness with 1-based indexes', () => {
    assert.equal(checkSchema({ minItems: 1 }, []), 'expect array to have at least 1 items');
    assert.equal(
      checkSchema({ maxItems: 3 }, [1, 2, 3, 4]),
      'expect array to have at most 3 items',
    );
    assert.equal(
      checkSchema({ uniqueItems: true }, [200, 200]),
      'expected unique items but items 1 and 2 are equal',
    );
    assert.equal(
      checkSchema({ uniqueItems: true }, [{ a: 1 }, 'x', { a: 1 }]),
      'expected unique items but items 1 and 3 are equal',
    );
    assert.equal(checkSchema({ uniqueItems: true }, [1, '1']), undefined);
  });

  it('prefixes item failures with the item number', () => {
    assert.equal(
      checkSchema({ items: { type: 'string' } }, ['a', 1]),
      'failed to validate item 2: wrong type: expected string, got number',
    );
  });

  it('words patternProperties failures with the key and the raw pattern', () => {
    const labels: JsonSchema = { type: 'object', patternProperties: { '.*': { type: 'string' } } };
    assert.equal(
      checkSchema(labels, { env: {} }),
      'failed to validate env (matching ".*"): wrong type: expected string, got table',
    );
  });

  it('reports if/then and if/else failures', () => {
    assert.equal(checkSchema(sslSchema, { sni: 'test.com' }), 'then clause did not match');
    const schema: JsonSchema = {
      if: { required: ['a'] },
      then: { required: ['b'] },
      else: { required: ['c'] },
    };
    assert.equal(checkSchema(schema, {}), 'else clause did not match');
  });

  it('words dependency failures', () => {
    const tls = upstreamSchema.properties?.tls as JsonSchema;
    const cert = 'c'.repeat(128);
    const key = 'k'.repeat(64);
    assert.equal(
      checkSchema(tls, { client_cert: cert }),
      'failed to validate dependent schema for "client_cert": property "client_key" is required',
    );
    assert.equal(
      checkSchema(tls, { client_cert_id: 1, client_cert: cert, client_key: key }),
      'failed to validate dependent schema for "client_cert_id": value wasn\'t supposed to match schema',
    );
    assert.equal(
      checkSchema({ dependencies: { name: ['conf'] } }, { name: 'x' }),
      'property "conf" is required when "name" is set',
    );
  });

  it('words not, format and const failures', () => {
    assert.equal(
      checkSchema({ not: { type: 'string' } }, 'x'),
      "value wasn't supposed to match schema",
    );
    assert.equal(
      checkSchema({ format: 'ipv4' }, '1.2.3'),
      'expect valid ipv4 format but got: 1.2.3',
    );
    assert.equal(checkSchema({ format: 'ipv6' }, '::1'), undefined);
    assert.equal(checkSchema({ const: 1 }, 2), 'failed to check const value');
  });

  it('words allOf failures with the branch number', () => {
    assert.equal(
      checkSchema({ allOf: [{ type: 'object' }, { required: ['x'] }] }, {}),
      'allOf 2 failed: property "x" is required',
    );
  });
});

describe('check order', () => {
  it('checks the type before anything else', () => {
    assert.equal(checkSchema(upstreamSchema, 'nodes'), 'wrong type: expected object, got string');
  });

  it('checks declared properties before additional properties', () => {
    assert.equal(
      checkSchema(upstreamSchema, { foo: 1, nodes, retries: -1 }),
      'property "retries" validation failed: expected -1 to be at least 0',
    );
  });

  it('reports a missing required property at its place among the properties', () => {
    const schema: JsonSchema = {
      type: 'object',
      properties: { a: { type: 'string' }, b: { type: 'string' } },
      required: ['b'],
    };
    assert.equal(
      checkSchema(schema, { a: 1 }),
      'property "a" validation failed: wrong type: expected string, got number',
    );
    assert.equal(checkSchema(schema, { a: 'x' }), 'property "b" is required');
  });

  it('checks additionalProperties before oneOf', () => {
    assert.equal(
      checkSchema(upstreamSchema, { foo: 1 }),
      'additional properties forbidden, found foo',
    );
    assert.equal(
      checkSchema(upstreamSchema, {}),
      'value should match only one schema, but matches none',
    );
  });
});

describe('secret references', () => {
  it('skip string checks for $secret:// and $env:// values', () => {
    assert.equal(
      checkSchema({ type: 'string', minLength: 128 }, '$ENV://APISIX_TEST_SSL_CERT'),
      undefined,
    );
    assert.equal(
      checkSchema({ type: 'string', minLength: 128 }, '$secret://vault/1/cert'),
      undefined,
    );
    assert.equal(
      checkSchema({ type: 'integer' }, '$env://PORT'),
      'wrong type: expected integer, got string',
    );
  });
});

describe('defaults', () => {
  it('are written only when asked, into the checked value', () => {
    const body = { nodes, type: 'chash', key: 'remote_addr' };
    assert.equal(checkSchema(upstreamSchema, body), undefined);
    assert.deepEqual(body, { nodes, type: 'chash', key: 'remote_addr' });

    const defaulted: Record<string, unknown> = applySchemaDefaults(upstreamSchema, body);
    assert.equal(defaulted.hash_on, 'vars');
    assert.equal(defaulted.scheme, 'http');
    assert.equal(defaulted.pass_host, 'pass');
    assert.deepEqual(body, { nodes, type: 'chash', key: 'remote_addr' });
  });

  it('fill nested objects and array nodes', () => {
    const defaulted = applySchemaDefaults(upstreamSchema, {
      nodes: [{ host: '127.0.0.1', port: 80, weight: 1 }],
      checks: { active: { type: 'tcp', healthy: {} } },
    }) as { nodes: Array<{ priority?: number }>; checks: { active: Record<string, unknown> } };
    assert.equal(defaulted.nodes[0].priority, 0);
    assert.equal(defaulted.checks.active.timeout, 1);
    assert.deepEqual(defaulted.checks.active.healthy, {
      interval: 1,
      http_statuses: [200, 302],
      successes: 2,
    });
  });
});
