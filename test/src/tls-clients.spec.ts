// TLS with the real openssl programs through the running service: s_client against SNI routes
// on a `tls: true` listener (certificate verified for the right name, handshake refused for an
// unknown one), mTLS with and without a client certificate, and an `openssl s_server` upstream
// for `scheme: tls` (the SNI it receives: `apisix_backend` for a plain client, the client's SNI
// for a TLS one — spec 3.7), and clients that never finish their handshake (TLS slowloris).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adminOk } from './support/admin-client';
import { sClient, SServer, TestPki, type Credential } from './support/openssl';
import { freeTcpPort } from './support/ports';
import { programsAvailable } from './support/programs';
import { ms, recordReliability } from './support/reliability-report';
import { countingClient } from './support/byte-clients';
import { openFdCount } from './support/proc';
import { openClient, startReplyServer, type EchoServer } from './support/sockets';
import { StraitProcess } from './support/strait-process';
import { waitFor, withDeadline } from './support/wait';

const HANDSHAKE_REFUSED =
  /alert|handshake failure|unrecognized name|certificate required|errno|:error:/i;
const ALERTS: Record<string, string> = {
  '40': 'handshake_failure',
  '42': 'bad_certificate',
  '48': 'unknown_ca',
  '112': 'unrecognized_name',
  '116': 'certificate_required',
};

/** How s_client saw the refusal: the TLS alert it received, or the socket error. */
function refusal(result: { stdout: string; stderr: string }): string {
  const text = result.stdout + result.stderr;
  const number = /SSL alert number (\d+)/.exec(text)?.[1];
  if (number) return `TLS alert ${number} (${ALERTS[number] ?? 'other'})`;
  const named = /alert ([a-z ]+?)(?::|$)/im.exec(text)?.[1];
  if (named) return `TLS alert "${named.trim()}"`;
  const errno = /errno=(\d+)/.exec(text)?.[1];
  if (errno) return errno === '104' ? 'connection reset, no TLS alert' : `socket errno ${errno}`;
  return 'closed';
}

describe(
  'TLS with openssl s_client and s_server',
  { skip: !programsAvailable('openssl'), timeout: 90_000 },
  () => {
    let strait: StraitProcess;
    let pki: TestPki;
    let ca: Credential;
    let clientCa: Credential;
    let otherCa: Credential;
    let upstream: SServer;
    const backends: EchoServer[] = [];
    const port = { tls: 0, plain: 0 };

    before(async () => {
      pki = new TestPki();
      ca = pki.createCa('Strait Test Server CA');
      clientCa = pki.createCa('Strait Test Client CA');
      otherCa = pki.createCa('Some Other CA');
      const upstreamCredential = pki.issue(pki.createCa('Upstream CA'), 'upstream.internal');
      upstream = await SServer.start(upstreamCredential);
      port.tls = await freeTcpPort();
      port.plain = await freeTcpPort();
      strait = await StraitProcess.start({
        apisixYaml: [
          'stream_proxy:',
          '  tcp:',
          `    - { addr: "127.0.0.1:${port.tls}", tls: true }`,
          `    - "127.0.0.1:${port.plain}"`,
        ].join('\n'),
      });
      const reply = async (text: string) => {
        const server = await startReplyServer(text);
        backends.push(server);
        return { type: 'roundrobin', nodes: { [`127.0.0.1:${server.port}`]: 1 } };
      };
      const put = (path: string, body: unknown) =>
        adminOk(strait.adminUrl, 'PUT', `/apisix/admin/${path}`, body);
      const a = pki.issue(ca, 'a.test.example');
      const wild = pki.issue(ca, '*.wild.example');
      const mutual = pki.issue(ca, 'm.test.example');
      const up = pki.issue(ca, 'u.test.example');
      await put('ssls/a', { sni: 'a.test.example', cert: a.cert, key: a.key });
      await put('ssls/wild', { snis: ['*.wild.example'], cert: wild.cert, key: wild.key });
      await put('ssls/m', {
        sni: 'm.test.example',
        cert: mutual.cert,
        key: mutual.key,
        client: { ca: clientCa.cert },
      });
      await put('ssls/u', { sni: 'u.test.example', cert: up.cert, key: up.key });
      await put('stream_routes/a', { sni: 'a.test.example', upstream: await reply('route-a\n') });
      await put('stream_routes/wild', {
        sni: '*.wild.example',
        upstream: await reply('route-wild\n'),
      });
      await put('stream_routes/m', { sni: 'm.test.example', upstream: await reply('route-m\n') });
      const tlsUpstream = {
        type: 'roundrobin',
        scheme: 'tls',
        nodes: { [`127.0.0.1:${upstream.port}`]: 1 },
      };
      await put('stream_routes/u', { sni: 'u.test.example', upstream: tlsUpstream });
      await put('stream_routes/plain-to-tls', { server_port: port.plain, upstream: tlsUpstream });
    });

    after(async () => {
      await strait?.stop();
      await upstream?.stop();
      await Promise.all(backends.map((backend) => backend.close()));
    });

    it('SNI routes: the certificate verifies (code 0) for each name and the right route answers; unknown names fail the handshake', async () => {
      const good: { name: string; reply: string }[] = [
        { name: 'a.test.example', reply: 'route-a' },
        { name: 'x.wild.example', reply: 'route-wild' },
        { name: 'UPPER.wild.example', reply: 'route-wild' },
      ];
      const timings: number[] = [];
      for (const { name, reply } of good) {
        const result = await sClient(port.tls, {
          servername: name,
          caFile: ca.certPath,
          verifyHostname: name.toLowerCase(),
          send: 'hello\n',
          expect: reply,
        });
        assert.equal(result.verifyCode, 0, `${name}: ${result.stdout}\n${result.stderr}`);
        assert.ok(result.gotExpected, `${name}: no ${reply} in ${result.stdout}`);
        timings.push(result.ms);
      }
      // A certificate for a.test.example does not verify as another name.
      const mismatch = await sClient(port.tls, {
        servername: 'a.test.example',
        caFile: ca.certPath,
        verifyHostname: 'b.test.example',
      });
      assert.notEqual(mismatch.verifyCode, 0, mismatch.stdout);
      assert.notEqual(mismatch.code, 0);
      const refused: Record<string, string> = {};
      for (const [label, options] of [
        ['unknown name', { servername: 'unknown.example' }],
        ['wildcard two labels deep (spec 3.5)', { servername: 'a.b.wild.example' }],
        ['no SNI, no fallback_sni', { noServername: true }],
      ] as const) {
        const result = await sClient(port.tls, {
          ...options,
          caFile: ca.certPath,
          send: 'hello\n',
          expect: 'route-',
        });
        assert.equal(result.gotExpected, false, `${label}: ${result.stdout}`);
        assert.notEqual(result.code, 0, `${label}: s_client exit code`);
        assert.match(result.stdout + result.stderr, HANDSHAKE_REFUSED, label);
        refused[label] = refusal(result);
      }
      recordReliability({
        section: 'TLS',
        title: 'openssl s_client against SNI routes',
        checked:
          'for a.test.example and *.wild.example s_client verifies the chain and host name (Verify return code 0 ' +
          "with -CAfile and -verify_return_error) and gets its own route's reply; a wrong host name does not verify; " +
          'an unknown name, a wildcard two labels deep and a ClientHello without SNI fail the handshake.',
        facts: {
          'verified handshakes': good.length,
          'slowest s_client run (process start to exit)': ms(Math.max(...timings)),
          ...Object.fromEntries(
            Object.entries(refused).map(([label, alert]) => [`refused: ${label}`, alert]),
          ),
        },
      });
    });

    it('mTLS: a client certificate from the configured CA passes; none, or one from another CA, is refused', async () => {
      const client = pki.issue(clientCa, 'client-one', { client: true });
      const stranger = pki.issue(otherCa, 'client-stranger', { client: true });
      const base = {
        servername: 'm.test.example',
        caFile: ca.certPath,
        send: 'hello\n',
        expect: 'route-m',
      };
      const withCert = await sClient(port.tls, { ...base, cert: client });
      assert.equal(withCert.verifyCode, 0, withCert.stdout);
      assert.ok(withCert.gotExpected, `${withCert.stdout}\n${withCert.stderr}`);
      const without = await sClient(port.tls, base);
      assert.equal(without.gotExpected, false, without.stdout);
      assert.match(without.stdout + without.stderr, HANDSHAKE_REFUSED);
      const wrongCa = await sClient(port.tls, { ...base, cert: stranger });
      assert.equal(wrongCa.gotExpected, false, wrongCa.stdout);
      assert.match(wrongCa.stdout + wrongCa.stderr, HANDSHAKE_REFUSED);
      recordReliability({
        section: 'TLS',
        title: 'mTLS with openssl s_client',
        checked:
          "with a client certificate issued by the SSL object's client.ca the route answers; without a certificate, " +
          'or with one from another CA, no byte reaches the route.',
        facts: {
          'with a certificate from client.ca': 'route answered',
          'without a certificate': refusal(without),
          'certificate from another CA': refusal(wrongCa),
        },
      });
    });

    it('scheme tls: an openssl s_server upstream receives SNI apisix_backend from a plain client and the client SNI from a TLS one', async () => {
      const before = upstream.serverNames().length;
      const plain = await openClient(port.plain);
      await plain.roundTrip('hello strait\n', 'tiarts olleh');
      plain.socket.end();
      await plain.closed;
      const viaTls = await sClient(port.tls, {
        servername: 'u.test.example',
        caFile: ca.certPath,
        send: 'over tls\n',
        expect: 'slt revo',
      });
      assert.equal(viaTls.verifyCode, 0, viaTls.stdout);
      assert.ok(viaTls.gotExpected, `${viaTls.stdout}\n${viaTls.stderr}`);
      const names = upstream.serverNames().slice(before);
      assert.deepEqual(names, ['apisix_backend', 'u.test.example'], upstream.log.slice(-2000));
      recordReliability({
        section: 'TLS',
        title: 'scheme tls upstream: openssl s_server',
        checked:
          "a plain TCP client and a TLS client both get s_server -rev's reversed line through a scheme: tls " +
          'upstream; the SNI s_server received (decoded from its -tlsextdebug dump) is apisix_backend for the ' +
          "plain client and the client's own SNI for the TLS client (spec 3.7).",
        facts: {
          'SNI from a plain client': names[0],
          'SNI from a TLS client (u.test.example)': names[1],
        },
      });
    });

    it('TLS slowloris: 200 silent clients and 50 trickling a ClientHello are all cut at the 10 s handshake deadline', async (t) => {
      const fdBaseline = openFdCount(strait.pid);
      const silent = await Promise.all(Array.from({ length: 200 }, () => countingClient(port.tls)));
      const trickling = await Promise.all(
        Array.from({ length: 50 }, () => countingClient(port.tls)),
      );
      // A TLS record header announcing a 512-byte ClientHello, then one byte every 500 ms.
      for (const client of trickling)
        client.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
      const trickle = setInterval(() => {
        for (const client of trickling) if (!client.isClosed) client.socket.write(Buffer.from([0]));
      }, 500);
      t.after(() => clearInterval(trickle));
      const fdPeak = openFdCount(strait.pid);
      const outcomes = await withDeadline(
        Promise.all([...silent, ...trickling].map((client) => client.closed)),
        20_000,
        'the handshake deadline to cut every client',
      );
      clearInterval(trickle);
      const lived = outcomes.map(
        (outcome, index) => outcome.closedAt - [...silent, ...trickling][index].connectedAt,
      );
      t.diagnostic(`cut after ${Math.min(...lived)}..${Math.max(...lived)} ms`);
      assert.ok(Math.min(...lived) >= 9500, `cut early: ${Math.min(...lived)} ms`);
      assert.ok(Math.max(...lived) < 12_000, `cut late: ${Math.max(...lived)} ms`);
      assert.ok(
        outcomes.every((outcome) => outcome.bytes === 0),
        'nothing was sent to them',
      );
      const fdAfter = await waitFor(
        () => {
          const count = openFdCount(strait.pid);
          return count <= fdBaseline + 4 ? count : undefined;
        },
        5000,
        'fds back to the baseline',
        50,
      );
      // The listener still serves real clients.
      const after = await sClient(port.tls, {
        servername: 'a.test.example',
        caFile: ca.certPath,
        send: 'hello\n',
        expect: 'route-a',
      });
      assert.ok(after.gotExpected);
      recordReliability({
        section: 'TLS',
        title: 'TLS slowloris: clients that never finish the handshake',
        checked:
          'on the tls: true listener, 200 clients that send nothing and 50 that trickle a ClientHello one byte every ' +
          "500 ms (never idle, never complete) are all closed by the engine's 10 s handshake deadline — none before " +
          '9.5 s, none after 12 s, no byte sent to them — the fds return to the baseline and a real client still ' +
          'completes its handshake. (The deadline is the engine default; the service config does not expose it.)',
        facts: {
          'clients that never finish the handshake': outcomes.length,
          'closed after, min / max': `${ms(Math.min(...lived))} / ${ms(Math.max(...lived))}`,
          'service fds: baseline / peak / after': `${fdBaseline} / ${fdPeak} / ${fdAfter}`,
        },
      });
    });
  },
);
