// The admin API under thousands of generated invalid and hostile requests (seeded, so a failure
// can be replayed with STRAIT_FUZZ_SEED): every answer must be a 4xx with an error text, never a
// 5xx or a hang; the process stays up; the store is unchanged afterwards; nothing leaks into the
// prototype of stored objects; and traffic still flows.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { admin, adminOk } from './support/admin-client';
import {
  hostileRequests,
  hostileValidRequests,
  type FuzzContext,
  type HostileRequest,
} from './support/hostile-bodies';
import { TestPki } from './support/openssl';
import { freeTcpPort } from './support/ports';
import { programsAvailable } from './support/programs';
import { ms, percentile, recordReliability } from './support/reliability-report';
import { exchange, startReplyServer, type EchoServer } from './support/sockets';
import { StraitProcess } from './support/strait-process';

const REQUESTS = 3000;
const CONCURRENCY = 8;
const SEED = Number(process.env.STRAIT_FUZZ_SEED ?? 20_261_126);
const RESOURCES = ['stream_routes', 'upstreams', 'ssls', 'services'] as const;

interface Outcome {
  request: HostileRequest;
  status: number;
  text: string;
  ms: number;
  error?: string;
}

describe(
  'admin API under invalid and hostile input',
  { skip: !programsAvailable('openssl'), timeout: 180_000 },
  () => {
    let strait: StraitProcess;
    let backend: EchoServer;
    let streamPort: number;
    let context: FuzzContext;

    before(async () => {
      backend = await startReplyServer('still here\n');
      streamPort = await freeTcpPort();
      strait = await StraitProcess.start({
        apisixYaml: ['stream_proxy:', '  tcp:', `    - "127.0.0.1:${streamPort}"`].join('\n'),
      });
      const pki = new TestPki();
      const ca = pki.createCa('Fuzz CA');
      const leaf = pki.issue(ca, 'fuzz.test.example');
      const put = (path: string, body: unknown) =>
        adminOk(strait.adminUrl, 'PUT', `/apisix/admin/${path}`, body);
      const upstream = { type: 'roundrobin', nodes: { [`127.0.0.1:${backend.port}`]: 1 } };
      await put('upstreams/fz-base-u', { ...upstream, desc: 'base', labels: { env: 'fuzz' } });
      await put('services/fz-base-s', { upstream_id: 'fz-base-u', desc: 'base' });
      await put('ssls/fz-base-ssl', { sni: 'fuzz.test.example', cert: leaf.cert, key: leaf.key });
      await put('stream_routes/fz-base-r', { server_port: streamPort, service_id: 'fz-base-s' });
      context = {
        streamPort,
        existing: {
          stream_routes: 'fz-base-r',
          upstreams: 'fz-base-u',
          ssls: 'fz-base-ssl',
          services: 'fz-base-s',
        },
        cert: leaf.cert,
        key: leaf.key,
        caCert: ca.cert,
      };
    });

    after(async () => {
      await strait?.stop();
      await backend?.close();
    });

    /** Everything stored, as the admin API lists it (unpaginated: every object). */
    const snapshot = async () =>
      Object.fromEntries(
        await Promise.all(
          RESOURCES.map(async (resource) => [
            resource,
            (await adminOk(strait.adminUrl, 'GET', `/apisix/admin/${resource}`)).json,
          ]),
        ),
      );

    it(`${REQUESTS} generated invalid and hostile bodies: every answer a 4xx with an error text, the store unchanged`, async (t) => {
      const before = await snapshot();
      const requests = hostileRequests(REQUESTS, SEED, context);
      const outcomes: Outcome[] = [];
      let next = 0;
      const started = Date.now();
      const worker = async () => {
        while (next < requests.length) {
          const request = requests[next++];
          const sent = Date.now();
          try {
            const answer = await admin(
              strait.adminUrl,
              request.method,
              request.path,
              request.body,
              {
                headers: request.contentType ? { 'Content-Type': request.contentType } : {},
                timeoutMs: 15_000,
              },
            );
            outcomes.push({
              request,
              status: answer.status,
              text: answer.text,
              ms: Date.now() - sent,
            });
          } catch (error) {
            outcomes.push({
              request,
              status: 0,
              text: '',
              ms: Date.now() - sent,
              error: String(error),
            });
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, () => worker()));
      const elapsed = Date.now() - started;

      const wrong = outcomes.filter((outcome) => {
        if (outcome.status < 400 || outcome.status > 499) return true;
        let json: { error_msg?: unknown; message?: unknown } | undefined;
        try {
          json = JSON.parse(outcome.text) as typeof json;
        } catch {
          return true;
        }
        if (typeof json?.error_msg === 'string' && json.error_msg.length > 0) return false;
        // APISIX's own 404 envelope for a missing PATCH target (spec 1.3).
        return !(outcome.status === 404 && json?.message === 'Key not found');
      });
      const byStatus: Record<string, number> = {};
      for (const outcome of outcomes)
        byStatus[outcome.status] = (byStatus[outcome.status] ?? 0) + 1;
      const byFamily: Record<string, number> = {};
      for (const outcome of outcomes)
        byFamily[outcome.request.family] = (byFamily[outcome.request.family] ?? 0) + 1;
      const latencies = outcomes.map((outcome) => outcome.ms);
      t.diagnostic(`statuses ${JSON.stringify(byStatus)} in ${elapsed} ms`);
      const describe = (outcome: Outcome) =>
        `${outcome.request.method} ${outcome.request.path} [${outcome.request.family}] → ${outcome.status} ${outcome.error ?? outcome.text.slice(0, 200)}\n  body: ${outcome.request.body.toString().slice(0, 300)}`;
      assert.equal(outcomes.length, REQUESTS);
      assert.deepEqual(
        wrong.slice(0, 15).map(describe),
        [],
        `${wrong.length} answers were not a 4xx with an error text`,
      );

      assert.ok(strait.running, 'the service is still running');
      assert.deepEqual(await snapshot(), before, 'the store changed');
      assert.equal(
        (await exchange(streamPort, 'ping')).data,
        'still here\n',
        'traffic still flows',
      );

      recordReliability({
        section: 'Admin API',
        title: `${REQUESTS} generated invalid and hostile requests`,
        checked:
          'every answer was a 4xx whose JSON body carries a non-empty error_msg (or APISIX\'s 404 {"message":"Key not found"} ' +
          'for a missing PATCH target), never a 5xx, a dropped connection or a hang; the process stayed up; the GET lists of ' +
          'stream_routes, upstreams, ssls and services were identical (indexes and timestamps included) before and after; ' +
          'the base route still proxied.',
        facts: {
          'requests (PUT / POST / PATCH)': `${REQUESTS} (${['PUT', 'POST', 'PATCH'].map((m) => outcomes.filter((o) => o.request.method === m).length).join(' / ')})`,
          'seed (STRAIT_FUZZ_SEED)': SEED,
          concurrency: CONCURRENCY,
          'answers by status': Object.entries(byStatus)
            .map(([status, count]) => `${status}: ${count}`)
            .join(', '),
          'answers not a 4xx with error text': wrong.length,
          'largest body sent': `${Math.max(...requests.map((r) => r.body.length))} bytes`,
          'latency p50 / p99 / max': `${ms(percentile(latencies, 50))} / ${ms(percentile(latencies, 99))} / ${ms(Math.max(...latencies))}`,
          'wall time': ms(elapsed),
          'families (requests)': Object.entries(byFamily)
            .sort((a, b) => b[1] - a[1])
            .map(([family, count]) => `${family} ${count}`)
            .join('; '),
        },
      });
    });

    it('hostile but possibly valid bodies (__proto__ / constructor label keys, unicode, injection strings): stored verbatim or refused, nothing leaks', async () => {
      const before = await snapshot();
      const tally: Record<string, { accepted: number; refused: number; reasons: Set<string> }> = {};
      for (const request of hostileValidRequests(context)) {
        const counts = (tally[request.variant] ??= { accepted: 0, refused: 0, reasons: new Set() });
        const answer = await admin(strait.adminUrl, 'PUT', request.path, request.body);
        assert.ok(answer.status < 500, `${request.path}: ${answer.status} ${answer.text}`);
        if (answer.status >= 400) {
          assert.equal(typeof answer.json?.error_msg, 'string', answer.text);
          counts.refused += 1;
          counts.reasons.add(String(answer.json.error_msg).replace(/"[^"]{40,}"/g, '"…"'));
          continue;
        }
        counts.accepted += 1;
        // JSON.parse keeps every key as an own property, which is how the service saw them.
        const sent = JSON.parse(request.body) as Record<string, unknown>;
        const stored = await adminOk(strait.adminUrl, 'GET', request.path);
        const value = JSON.parse(stored.text).value as Record<string, unknown>;
        assert.deepEqual(value.labels, sent.labels, `${request.path}: labels stored verbatim`);
        assert.equal(value.desc, sent.desc, `${request.path}: desc stored verbatim`);
        await adminOk(strait.adminUrl, 'DELETE', request.path);
      }
      // A plain object created afterwards has exactly the fields it was given.
      const probe = await adminOk(strait.adminUrl, 'PUT', '/apisix/admin/upstreams/fz-probe', {
        nodes: { '127.0.0.1:1': 1 },
      });
      assert.deepEqual(Object.keys(probe.json.value).sort(), [
        'create_time',
        'id',
        'nodes',
        'update_time',
      ]);
      assert.doesNotMatch(probe.text, /polluted/);
      await adminOk(strait.adminUrl, 'DELETE', '/apisix/admin/upstreams/fz-probe');
      const afterwards = await snapshot();
      assert.deepEqual(afterwards, before);
      recordReliability({
        section: 'Admin API',
        title: 'Hostile but possibly valid bodies',
        checked:
          'upstreams whose labels carry constructor / toString / hasOwnProperty keys, or a __proto__ key, and whose desc ' +
          'and a label key hold unicode, control or injection strings were either refused with a 4xx and error_msg or ' +
          'stored and returned exactly as sent; a plain object created afterwards had no extra fields; after deleting ' +
          'them the store matched the earlier snapshot.',
        facts: Object.fromEntries(
          Object.entries(tally).map(([variant, counts]) => [
            `${variant}: accepted / refused`,
            `${counts.accepted} / ${counts.refused}${counts.reasons.size ? ` (${[...counts.reasons].join('; ')})` : ''}`,
          ]),
        ),
      });
    });
  },
);
