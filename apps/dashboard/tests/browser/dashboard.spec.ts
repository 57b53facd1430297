/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) against the real
 * built service: sign in, create an upstream, a stream route and an SSL object through the forms,
 * see the API's validation error beside the field it names, prove the route with a TCP connection
 * through the proxy, and check that a viewer key gets a read-only UI. The live views are checked
 * against real traffic: listeners and node health on the overview, a connection seen on the
 * Connections page and closed from it (the client sees the close), a node drained, traffic
 * charts filling, and the match debugger agreeing with where real connections go.
 *
 * Screenshots go to apps/dashboard/tests-dist/tests/browser/screenshots; with STRAIT_UPDATE_SCREENSHOTS=1 they
 * also replace the committed ones in docs/screenshots.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../support/browser';
import {
  bytesBeforeClose,
  exchange,
  exchangeEventually,
  holdConnection,
  startEchoServer,
  within,
  type HeldConnection,
} from '../support/echo-server';
import {
  ADMIN_KEY,
  VIEWER_KEY,
  StraitService,
  makeCertificate,
  resolveInRepo,
} from '../support/strait-service';

const LAPTOP = { width: 1366, height: 860 };
const PHONE = { width: 390, height: 844 };
const SCREENSHOT_DIRECTORIES = [
  join(__dirname, 'screenshots'),
  ...(process.env.STRAIT_UPDATE_SCREENSHOTS ? [resolveInRepo('docs/screenshots')] : []),
];

let service: StraitService;
let echo: Awaited<ReturnType<typeof startEchoServer>>;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let workDir: string;
const pageErrors: string[] = [];
/** Dashboard files (not admin API answers) the static server could not serve. */
const missingFiles: string[] = [];

/** Full-height capture with the viewport grown to the page, so sticky bars sit where they belong. */
async function capture(target: Page, name: string): Promise<void> {
  const toast = target.getByRole('button', { name: 'Dismiss' });
  if ((await toast.count()) > 0) await toast.click();
  const viewport = target.viewportSize() ?? LAPTOP;
  const height = await target.evaluate(() => document.documentElement.scrollHeight);
  await target.setViewportSize({
    width: viewport.width,
    height: Math.min(Math.max(height, viewport.height), 3200),
  });
  await target.evaluate(() => window.scrollTo(0, 0));
  for (const directory of SCREENSHOT_DIRECTORIES) {
    mkdirSync(directory, { recursive: true });
    await target.screenshot({ path: join(directory, `${name}.png`), animations: 'disabled' });
  }
  await target.setViewportSize(viewport);
}

async function signIn(target: Page, key: string): Promise<void> {
  await target.goto(`${service.dashboardUrl}/`);
  await target.getByLabel('Admin key').fill(key);
  await target.getByRole('button', { name: 'Sign in' }).click();
  await target.getByRole('heading', { name: 'Overview' }).waitFor();
}

/** A direct admin API call (test setup only; the dashboard itself uses the generated client). */
async function adminPut(path: string, body: unknown): Promise<void> {
  const response = await fetch(`${service.dashboardUrl}/apisix/admin/${path}`, {
    method: 'PUT',
    headers: { 'X-API-KEY': ADMIN_KEY, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  assert.ok(response.ok, `PUT ${path}: ${response.status} ${await response.text()}`);
}

/** A direct read of the Strait API (test checks only; the dashboard uses the generated client). */
async function straitGet<T>(path: string): Promise<T> {
  const response = await fetch(`${service.dashboardUrl}/strait/v1/${path}`, {
    headers: { 'X-API-KEY': ADMIN_KEY },
    signal: AbortSignal.timeout(5000),
  });
  assert.ok(response.ok, `GET ${path}: ${response.status}`);
  return (await response.json()) as T;
}

/** Connections held open by a test, closed in after() whatever happens. */
const held: HeldConnection[] = [];

async function hold(message: string): Promise<HeldConnection> {
  const connection = await holdConnection(service.streamPort, message);
  held.push(connection);
  return connection;
}

/** Follows a sidebar link (other links on a page may carry the same words). */
async function navigate(target: Page, label: string): Promise<void> {
  await target.locator('.sidebar').getByRole('link', { name: label, exact: true }).click();
}

function watch(target: Page): void {
  target.on('pageerror', (error) => pageErrors.push(error.message));
  target.on('response', (response) => {
    const path = new URL(response.url()).pathname;
    if (response.status() >= 400 && !path.startsWith('/apisix/') && !path.startsWith('/strait/')) {
      missingFiles.push(`${response.status()} ${path}`);
    }
  });
  target.setDefaultTimeout(10_000);
  target.setDefaultNavigationTimeout(15_000);
}

describe('dashboard', { timeout: 180_000 }, () => {
  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'strait-dashboard-certs-'));
    [service, echo, browser] = await Promise.all([
      StraitService.start(),
      startEchoServer(),
      launchChromium(),
    ]);
    context = await browser.newContext({ viewport: LAPTOP });
    page = await context.newPage();
    watch(page);
  });

  after(async () => {
    held.forEach((connection) => connection.socket.destroy());
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await service?.stop();
    await echo?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
    if (service) rmSync(service.dataDir, { recursive: true, force: true });
  });

  it('refuses a wrong key and signs in with the admin key', async () => {
    await page.goto(`${service.dashboardUrl}/`);
    await page.getByLabel('Admin key').fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('The API refused this key (wrong apikey).').waitFor();

    await signIn(page, ADMIN_KEY);
    assert.equal(await page.locator('.role').innerText(), 'admin');
    assert.equal(
      await page.evaluate(() => window.sessionStorage.getItem('strait.adminKey')),
      ADMIN_KEY,
    );
    assert.equal(
      await page.evaluate(() => window.localStorage.length),
      0,
      'the key must not reach localStorage',
    );
    await page.getByTestId('count-stream_routes').filter({ hasText: '0' }).waitFor();
  });

  it('creates an upstream through the form', async () => {
    await navigate(page, 'Upstreams');
    await page.getByRole('link', { name: 'New upstream' }).first().click();
    await page.getByRole('heading', { name: 'New upstream' }).waitFor();
    await page.getByLabel('ID', { exact: true }).fill('echo');
    await page.getByLabel('Name', { exact: true }).fill('echo-backend');
    await page.getByLabel('Description', { exact: true }).fill('The test echo server');
    await page.getByRole('button', { name: 'Add label' }).click();
    await page.getByLabel('Label 1 key').fill('env');
    await page.getByLabel('Label 1 value').fill('e2e');
    await page.getByLabel('Node 1 host').fill('127.0.0.1');
    await page.getByLabel('Node 1 port').fill(String(echo.port));
    await page.getByLabel('Node 1 weight').fill('5');
    await page.getByRole('button', { name: 'Add node' }).click();
    // A second node on a closed port, in a lower priority group: used only if the first fails.
    await page.getByLabel('Node 2 host').fill('127.0.0.1');
    await page.getByLabel('Node 2 port').fill('9');
    await page.getByLabel('Node 2 priority').fill('-1');
    await page.getByLabel('Algorithm').selectOption('chash');
    await page.getByLabel('Hash key').fill('remote_addr');
    await page.getByLabel('Connect timeout (s)').fill('2');
    await page.getByLabel('Send timeout (s)').fill('10');
    await page.getByLabel('Read timeout (s)').fill('10');
    await page.getByLabel('Active checks').check();
    await page.getByLabel('Healthy: interval (s)', { exact: true }).fill('5');
    await capture(page, 'upstream-form');

    // The JSON view shows exactly what will be sent.
    await page.getByRole('tab', { name: 'JSON' }).click();
    const body = JSON.parse(await page.getByLabel('JSON body').inputValue()) as Record<
      string,
      unknown
    >;
    assert.deepEqual(body.nodes, [
      { host: '127.0.0.1', port: echo.port, weight: 5 },
      { host: '127.0.0.1', port: 9, weight: 1, priority: -1 },
    ]);
    assert.deepEqual(body.timeout, { connect: 2, send: 10, read: 10 });
    assert.deepEqual(body.checks, { active: { type: 'tcp', healthy: { interval: 5 } } });
    assert.equal(body.type, 'chash');
    await page.getByRole('tab', { name: 'Form' }).click();

    await page.getByRole('button', { name: 'Create upstream' }).click();
    await page.getByRole('status').filter({ hasText: 'Upstream echo saved.' }).waitFor();
    const row = page.locator('tr[data-id="echo"]');
    await row.waitFor();
    assert.match(await row.innerText(), /echo-backend/);
    assert.match(await row.innerText(), new RegExp(`127\\.0\\.0\\.1:${echo.port}`));
  });

  it('shows the API validation error beside the field, then creates the stream route', async () => {
    await navigate(page, 'Stream routes');
    await page.getByRole('link', { name: 'New stream route' }).first().click();
    await page.getByRole('heading', { name: 'New stream route' }).waitFor();
    // A new route starts with an inline upstream; this one refers to the upstream object instead.
    await page.getByLabel('Node 1 host').waitFor();
    await page.getByRole('radio', { name: 'Upstream object' }).click();
    await page.getByLabel('ID', { exact: true }).fill('echo-route');
    await page.getByLabel('Name', { exact: true }).fill('echo');
    await page.getByLabel('Client address').fill('127.0.0.0/8');
    await page.getByLabel('Listener port').fill('70000');
    await page.getByLabel('Upstream', { exact: true }).selectOption('echo');
    await page.getByRole('button', { name: 'Add plugin' }).click();
    await page
      .getByLabel('ip-restriction configuration (JSON)')
      .fill('{"whitelist": ["127.0.0.0/8"]}');
    await page.getByRole('button', { name: 'Create stream route' }).click();

    const portError = page.locator('[data-field="server_port"] .field-error');
    await portError.waitFor();
    assert.equal(await portError.innerText(), 'expected 70000 to be at most 65535');
    assert.match(
      await page.getByTestId('form-error').innerText(),
      /property "server_port" validation failed/,
    );
    assert.equal(await page.getByLabel('Listener port').getAttribute('aria-invalid'), 'true');
    await capture(page, 'stream-route-form');

    // A bad address is caught by the API's second check, with its own message.
    await page.getByLabel('Listener port').fill(String(service.streamPort));
    await page.getByLabel('Client address').fill(':/8');
    await page.getByRole('button', { name: 'Create stream route' }).click();
    await page
      .locator('[data-field="remote_addr"] .field-error')
      .filter({ hasText: 'invalid remote_addr: :/8' })
      .waitFor();
    assert.equal(await portError.count(), 0, 'the fixed field no longer shows an error');

    await page.getByLabel('Client address').fill('127.0.0.0/8');
    await page.getByRole('button', { name: 'Create stream route' }).click();
    await page.getByRole('status').filter({ hasText: 'Stream route echo-route saved.' }).waitFor();
    const row = page.locator('tr[data-id="echo-route"]');
    assert.match(await row.innerText(), /upstream echo/);
    assert.match(await row.innerText(), /ip-restriction/);
  });

  it('routes a real TCP connection through the proxy to the echo server', async () => {
    const answer = await exchangeEventually(service.streamPort, 'hello through strait\n');
    assert.equal(answer, 'echo: hello through strait\n');
  });

  it('lists objects created elsewhere (seeded through the admin API)', async () => {
    const wildcard = makeCertificate(
      workDir,
      'example.test',
      ['*.example.test', 'example.test'],
      400,
    );
    await adminPut('upstreams/mysql-primary', {
      name: 'mysql-primary',
      desc: 'Primary with a standby in a lower priority group',
      type: 'least_conn',
      nodes: [
        { host: '10.0.1.10', port: 3306, weight: 10 },
        { host: '10.0.1.11', port: 3306, weight: 10, priority: -1 },
      ],
      timeout: { connect: 3, send: 60, read: 600 },
      checks: { active: { type: 'tcp', healthy: { interval: 2 }, unhealthy: { tcp_failures: 2 } } },
      labels: { team: 'data' },
    });
    await adminPut('upstreams/mqtt-brokers', {
      name: 'mqtt-brokers',
      type: 'chash',
      key: 'mqtt_client_id',
      nodes: { '10.0.2.21:1883': 1, '10.0.2.22:1883': 1, '10.0.2.23:1883': 1 },
    });
    await adminPut('services/mqtt', {
      name: 'mqtt',
      desc: 'MQTT brokers, sticky by client id',
      upstream_id: 'mqtt-brokers',
      plugins: { 'mqtt-proxy': { protocol_level: 4 } },
    });
    await adminPut('stream_routes/mysql', {
      name: 'mysql',
      server_port: 3306,
      upstream_id: 'mysql-primary',
      plugins: {
        'limit-conn': { conn: 100, burst: 50, default_conn_delay: 0.1, key: 'remote_addr' },
      },
      labels: { team: 'data' },
    });
    await adminPut('stream_routes/mqtt', { name: 'mqtt', server_port: 1883, service_id: 'mqtt' });
    await adminPut('stream_routes/postgres-tls', {
      name: 'postgres',
      desc: 'TLS-terminated Postgres by SNI',
      server_port: 5432,
      sni: 'pg.example.test',
      upstream: { nodes: [{ host: 'pg.internal', port: 5432, weight: 1 }], scheme: 'tcp' },
    });
    await adminPut('ssls/wildcard', {
      desc: 'wildcard example.test',
      snis: ['*.example.test', 'example.test'],
      cert: readFileSync(wildcard.certPath, 'utf8'),
      key: readFileSync(wildcard.keyPath, 'utf8'),
      labels: { env: 'prod' },
    });
    await navigate(page, 'Stream routes');
    await page.getByRole('button', { name: 'Reload' }).click();
    for (const id of ['echo-route', 'mysql', 'mqtt', 'postgres-tls'])
      await page.locator(`tr[data-id="${id}"]`).waitFor();
    assert.match(await page.locator('tr[data-id="mqtt"]').innerText(), /via service mqtt/);
    assert.match(
      await page.locator('tr[data-id="postgres-tls"]').innerText(),
      /sni pg\.example\.test/,
    );
  });

  it('creates an SSL object from an uploaded PEM file and shows what the certificate says', async () => {
    const { certPath, keyPath } = makeCertificate(
      workDir,
      'db.example.test',
      ['db.example.test', '*.db.example.test'],
      20,
    );
    await navigate(page, 'SSL objects');
    await page.getByRole('link', { name: 'New SSL object' }).first().click();
    await page.getByRole('heading', { name: 'New SSL object' }).waitFor();
    await page.getByLabel('Description', { exact: true }).fill('database TLS');
    await page.getByLabel('Certificate (PEM) file').setInputFiles(certPath);
    await page.getByLabel('Private key (PEM)', { exact: true }).fill(readFileSync(keyPath, 'utf8'));

    const summary = page.locator('.cert').first();
    await summary.waitFor();
    const facts = await summary.innerText();
    assert.match(facts, /db\.example\.test/);
    assert.match(facts, /\*\.db\.example\.test/);
    assert.match(facts, /(19|20) d left/);
    assert.match(facts, /self-signed/);
    assert.match(facts, /RSA 2048/);

    await page.getByRole('button', { name: /Use the names of the certificate/ }).click();
    assert.equal(
      await page.getByLabel('Server names', { exact: true }).inputValue(),
      'db.example.test\n*.db.example.test',
    );
    await page.getByLabel('TLSv1.2').check();
    await page.getByLabel('TLSv1.3').check();
    await capture(page, 'ssl-form');
    await page.getByRole('button', { name: 'Create SSL object' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: /SSL object \d{20} saved\./ })
      .waitFor();
    const row = page.locator('tbody tr').filter({ hasText: 'db.example.test' });
    const text = await row.innerText();
    assert.match(text, /(19|20) d left/);
    assert.match(text, /enabled/);
    await capture(page, 'ssl-list');
  });

  it('edits an SSL object without re-entering its key (PATCH keeps the stored key)', async () => {
    await page
      .locator('tbody tr')
      .filter({ hasText: 'db.example.test' })
      .getByRole('link', { name: /^Edit / })
      .click();
    await page.getByRole('heading', { name: /^SSL object \d{20}$/ }).waitFor();
    assert.equal(await page.getByLabel('Private key (PEM)', { exact: true }).inputValue(), '');
    await page.getByLabel('Description', { exact: true }).fill('database TLS (renewed)');
    await page.getByLabel('Enabled').uncheck();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').filter({ hasText: 'saved.' }).waitFor();
    const text = await page.locator('tbody tr').filter({ hasText: 'db.example.test' }).innerText();
    assert.match(text, /database TLS \(renewed\)/);
    assert.match(text, /disabled/);
  });

  it('searches, filters by label, duplicates and deletes with confirmation', async () => {
    await navigate(page, 'Upstreams');
    await page.locator('tr[data-id="echo"]').waitFor();
    await page.locator('tr[data-id="mysql-primary"]').waitFor();
    await page.getByPlaceholder('label key').fill('env');
    await page.locator('tr[data-id="mysql-primary"]').waitFor({ state: 'detached' });
    await page.locator('tr[data-id="echo"]').waitFor();
    // A label chip filters by its key.
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page
      .locator('tr[data-id="mysql-primary"]')
      .getByRole('button', { name: 'team:data' })
      .click();
    await page.locator('tr[data-id="echo"]').waitFor({ state: 'detached' });
    assert.equal(await page.getByPlaceholder('label key').inputValue(), 'team');
    await page.getByPlaceholder('label key').fill('no-such-label');
    await page.getByText('No upstreams match these filters.').waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByPlaceholder('Search id, name, description…').fill(String(echo.port));
    await page.locator('tr[data-id="echo"]').waitFor();
    await page.locator('tr[data-id="mysql-primary"]').waitFor({ state: 'detached' });
    await page.getByPlaceholder('Search id, name, description…').fill('nothing-like-this');
    await page.getByText('No upstreams match these filters.').waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();

    await navigate(page, 'Stream routes');
    await page.getByRole('link', { name: 'Duplicate echo-route' }).click();
    await page.getByRole('heading', { name: 'Duplicate stream route echo-route' }).waitFor();
    assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'echo copy');
    await page.getByLabel('ID', { exact: true }).fill('echo-route');
    await page.getByRole('button', { name: 'Create stream route' }).click();
    await page
      .locator('[data-field="id"] .field-error')
      .filter({ hasText: 'A stream route with id echo-route already exists' })
      .waitFor();
    await page.getByLabel('ID', { exact: true }).fill('echo-copy');
    await page.getByLabel('Listener port').fill('');
    await page.getByRole('button', { name: 'Create stream route' }).click();
    await page.locator('tr[data-id="echo-copy"]').waitFor();

    await page.getByRole('button', { name: 'Delete echo-copy' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('This cannot be undone.').waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('tr[data-id="echo-copy"]').waitFor();
    await page.getByRole('button', { name: 'Delete echo-copy' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete', exact: true }).click();
    await page.locator('tr[data-id="echo-copy"]').waitFor({ state: 'detached' });
    await capture(page, 'stream-routes');

    // The original route still carries traffic.
    assert.equal(await exchange(service.streamPort, 'still there\n'), 'echo: still there\n');
  });

  it('answers the match debugger as real connections do', async () => {
    await navigate(page, 'Match debugger');
    await page.getByRole('heading', { name: 'Match debugger' }).waitFor();

    // The API's validation message lands beside its field.
    await page.getByLabel('Client address').fill('not-an-address');
    await page.getByLabel('Server address').fill('127.0.0.1');
    await page.getByLabel('Server port').fill(String(service.streamPort));
    await page.getByRole('button', { name: 'Explain' }).click();
    await page
      .locator('[data-field="remote_addr"] .field-error')
      .filter({ hasText: 'remote_addr must be an IPv4 or IPv6 address' })
      .waitFor();
    assert.equal(await page.getByLabel('Client address').getAttribute('aria-invalid'), 'true');

    // A port no route listens for: nothing matches, and a real connection gets no byte.
    await page.getByLabel('Client address').fill('127.0.0.1');
    await page
      .getByRole('button', { name: `tcp://127.0.0.1:${service.spareStreamPort}`, exact: true })
      .click();
    assert.equal(
      await page.getByLabel('Server port').inputValue(),
      String(service.spareStreamPort),
    );
    await page.getByRole('button', { name: 'Explain' }).click();
    await page
      .getByTestId('match-none')
      .filter({ hasText: 'No route: the connection would be closed without a byte.' })
      .waitFor();
    assert.equal(await page.locator('[data-field="remote_addr"] .field-error').count(), 0);
    const echoMiss = page.locator('tr[data-route="echo-route"]');
    assert.equal(await echoMiss.getAttribute('data-failed'), 'server_port');
    assert.match(await echoMiss.innerText(), new RegExp(`wants port ${service.streamPort}`));
    assert.equal(await bytesBeforeClose(service.spareStreamPort), 0);

    // The stream port: echo-route wins, the others say which criterion they failed.
    await page.getByLabel('Server port').fill(String(service.streamPort));
    await page.getByRole('button', { name: 'Explain' }).click();
    const winner = page.getByTestId('match-winner');
    await winner.filter({ hasText: 'takes the connection' }).waitFor();
    assert.equal(await winner.getAttribute('data-route'), 'echo-route');
    assert.equal(
      await page.locator('tr[data-route="mysql"]').getAttribute('data-failed'),
      'server_port',
    );
    assert.match(page.url(), new RegExp(`server_port=${service.streamPort}`));
    await capture(page, 'match-debugger');
    await winner.getByRole('link', { name: 'echo-route' }).click();
    await page.getByRole('heading', { name: 'Stream route echo-route' }).waitFor();

    // A real connection with the same addresses is taken by the same route.
    const connection = await hold('which route?\n');
    const live = await straitGet<{ list: { remotePort: number; routeId?: string }[] }>(
      'connections',
    );
    const row = live.list.find((candidate) => candidate.remotePort === connection.localPort);
    assert.equal(row?.routeId, 'echo-route');
    connection.socket.destroy();
  });

  it('shows a real connection with its route and node, and closes it from the page', async () => {
    const first = await hold('hello\n');
    const others = [await hold('x'.repeat(3000)), await hold('y'.repeat(40_000))];
    await navigate(page, 'Connections');
    const row = page.locator(`tr[data-client="127.0.0.1:${first.localPort}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-route'), 'echo-route');
    assert.equal(await row.getAttribute('data-node'), `127.0.0.1:${echo.port}`);
    await row.filter({ hasText: 'relaying' }).waitFor();
    // 6 bytes came from the client and "echo: hello\n" went back.
    assert.match(await row.locator('td[data-label="From client"]').innerText(), /^6 B$/);
    assert.match(await row.locator('td[data-label="To client"]').innerText(), /^12 B$/);
    assert.match(await row.locator('td[data-label="Age"]').innerText(), /^\d+ s$/);
    // 40 000 bytes each way, in human units.
    await page
      .locator(`tr[data-client="127.0.0.1:${others[1].localPort}"]`)
      .filter({ hasText: /39 KiB[\s\S]*39 KiB/ })
      .waitFor();

    // Filters go to the API (and the URL).
    await page.getByLabel('Route').selectOption('echo-route');
    await row.waitFor();
    await page.getByLabel('Node').fill('127.0.0.1:1');
    await page.getByText('No open connections match these filters.').waitFor();
    assert.match(page.url(), /node=127\.0\.0\.1%3A1/);
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await row.waitFor();
    await capture(page, 'connections');

    // Close it: confirmation first, then the client sees its socket closed.
    await row.getByRole('button', { name: /^Close connection / }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(`127.0.0.1:${first.localPort}`).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(first.isClosed(), false);
    await row.getByRole('button', { name: /^Close connection / }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Close connection' }).click();
    await within(first.closed, 5000, 'the client socket was not closed');
    await page
      .getByRole('status')
      .filter({ hasText: /Connection \d+ closed\./ })
      .waitFor();
    await row.waitFor({ state: 'detached' });
    assert.equal(others[0].isClosed(), false, 'the other connections stay open');
  });

  it('pauses the live refresh and drains a node with confirmation', async () => {
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('status').filter({ hasText: 'Paused' }).waitFor();
    const late = await hold('late\n');
    await new Promise((resolveWait) => setTimeout(resolveWait, 2600));
    assert.equal(
      await page.locator(`tr[data-client="127.0.0.1:${late.localPort}"]`).count(),
      0,
      'a paused table does not change',
    );
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.locator(`tr[data-client="127.0.0.1:${late.localPort}"]`).waitFor();

    const open = held.filter((connection) => !connection.isClosed());
    assert.ok(open.length >= 3);
    await page.getByRole('button', { name: 'Drain node' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Node (host:port)').fill(`127.0.0.1:${echo.port}`);
    await dialog.getByText(`${open.length} connections to it in the table now.`).waitFor();
    await dialog.getByRole('button', { name: 'Close every connection to it' }).click();
    await within(
      Promise.all(open.map((connection) => connection.closed)),
      5000,
      'the drained connections were not closed',
    );
    await page
      .getByRole('status')
      .filter({ hasText: `${open.length} connections to 127.0.0.1:${echo.port} closed.` })
      .waitFor();
    await page.getByText('No open connections: clients that connect').waitFor();
  });

  it('draws per-route traffic after some connections', async () => {
    // A few seconds of short connections, so the charts have something to show.
    const deadline = Date.now() + 3500;
    let sent = 0;
    while (Date.now() < deadline) {
      await exchange(service.streamPort, `traffic ${sent}\n`.repeat(20 * (1 + (sent % 5))));
      sent += 1;
      await new Promise((resolveWait) => setTimeout(resolveWait, 60));
    }
    await bytesBeforeClose(service.spareStreamPort);
    await navigate(page, 'Traffic');
    const card = page.locator('section[data-route-traffic="echo-route"]');
    // The samples of a second are closed by the next tick: bounded wait until they all show.
    await card.waitFor();
    await page.waitForFunction(
      (expected) =>
        Number(
          document
            .querySelector('section[data-route-traffic="echo-route"]')
            ?.getAttribute('data-window-connections'),
        ) >= expected,
      sent,
      { timeout: 8000, polling: 250 },
    );
    const total = Number(
      await page
        .locator('tr[data-route="echo-route"] [data-testid="connections-total"]')
        .innerText(),
    );
    assert.ok(total >= sent + 5, `total ${total} counts every connection through echo-route`);
    // Connections that no route took are shown too.
    await page.locator('section[data-route-traffic=""]').waitFor();
    const legend = await card.locator('.chart').nth(1).innerText();
    assert.match(legend, /from client/);
    assert.match(legend, /to client/);
    assert.equal(await card.locator('.chart svg path.series-line').count(), 3);
    assert.match((await card.locator('.chart').first().textContent()) ?? '', /−60 s[\s\S]*now/);
    await capture(page, 'traffic');

    await page.getByRole('button', { name: '5 min' }).click();
    await card.locator('.chart svg text').filter({ hasText: '−5 min' }).first().waitFor();
    assert.match(page.url(), /window=300/);
  });

  it('shows the overview with counts and the certificate close to expiry', async () => {
    await navigate(page, 'Overview');
    await page.getByTestId('count-stream_routes').filter({ hasText: '4' }).waitFor();
    await page.getByTestId('count-upstreams').filter({ hasText: '3' }).waitFor();
    await page.getByTestId('count-services').filter({ hasText: '1' }).waitFor();
    await page.getByTestId('count-ssls').filter({ hasText: '2' }).waitFor();
    await page.getByText('1 certificate expires within 30 days').waitFor();

    // Both stream listeners of the config are bound.
    const listeners = page.getByTestId('listeners-panel');
    await listeners.getByText('All 2 listeners up').waitFor();
    // The service runs two data-plane workers (tests/support/strait-service.ts).
    await listeners
      .getByTestId('data-plane')
      .filter({ hasText: /^Data plane: 2 of 2 worker processes running \(pids \d+, \d+\)$/ })
      .waitFor();
    for (const port of [service.streamPort, service.spareStreamPort]) {
      const row = listeners.locator(`[data-listener="tcp://127.0.0.1:${port}"]`);
      assert.match(await row.innerText(), /up/);
      assert.match(await row.innerText(), /apisix\.stream_proxy\.tcp\[\d\]/);
    }
    assert.match(
      await page.getByTestId('active-connections').innerText(),
      /^\d+ active connections?$/,
    );
    // The echo upstream's standby on the closed port 9 fails its TCP probes.
    await page
      .getByTestId('health-panel')
      .locator('[data-unhealthy-node="127.0.0.1:9"]')
      .filter({ hasText: 'upstream echo' })
      .waitFor();
    await capture(page, 'overview');
  });

  it('shows node health badges where checks are configured', async () => {
    await navigate(page, 'Upstreams');
    const echoRow = page.locator('tr[data-id="echo"]');
    await echoRow
      .locator('.node-line')
      .filter({ hasText: `127.0.0.1:${echo.port}` })
      .getByText('healthy', { exact: true })
      .waitFor();
    await echoRow
      .locator('.node-line')
      .filter({ hasText: /127\.0\.0\.1:9\s×/ })
      .getByText('unhealthy')
      .waitFor();
    // No checks, no badges.
    assert.equal(await page.locator('tr[data-id="mqtt-brokers"] .health').count(), 0);

    await echoRow.getByRole('link', { name: 'Edit echo' }).click();
    const panel = page.getByTestId('upstream-health');
    await panel.getByText('1 of 2 nodes out of the pool').waitFor();
    assert.match(await panel.innerText(), /ECONNREFUSED|refused/i);
  });

  it('works at phone width', async () => {
    const phone = await browser.newPage({ viewport: PHONE, isMobile: true, hasTouch: true });
    watch(phone);
    try {
      await signIn(phone, ADMIN_KEY);
      await phone.getByRole('button', { name: 'Open navigation' }).click();
      await navigate(phone, 'Stream routes');
      await phone.locator('tr[data-id="echo-route"]').waitFor();
      const overflow = await phone.evaluate(
        () => document.documentElement.scrollWidth - window.innerWidth,
      );
      assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
      await capture(phone, 'stream-routes-phone');
      // The live views fit too (tables become cards, the charts stack).
      for (const [path, ready] of [
        ['/', '[data-testid="listeners-panel"] .list-row'],
        ['/connections/', '.live-state'],
        ['/traffic/', 'section[data-route-traffic="echo-route"] svg'],
        [
          `/match/?remote_addr=127.0.0.1&server_addr=127.0.0.1&server_port=${service.streamPort}`,
          '[data-testid="match-winner"]',
        ],
      ]) {
        await phone.goto(`${service.dashboardUrl}${path}`);
        await phone.locator(ready).first().waitFor();
        const wider = await phone.evaluate(
          () => document.documentElement.scrollWidth - window.innerWidth,
        );
        assert.ok(wider <= 0, `${path} is ${wider}px wider than the phone`);
      }
    } finally {
      await phone.close();
    }
  });

  it('gives a viewer key a read-only dashboard', async () => {
    const viewerContext = await browser.newContext({ viewport: LAPTOP });
    const viewer = await viewerContext.newPage();
    watch(viewer);
    try {
      await signIn(viewer, VIEWER_KEY);
      assert.match(await viewer.locator('.role').innerText(), /viewer/);
      for (const path of ['/stream-routes/', '/upstreams/', '/services/', '/ssls/']) {
        await viewer.goto(`${service.dashboardUrl}${path}`);
        await viewer.locator('.page-title').waitFor();
        assert.equal(
          await viewer.getByRole('link', { name: /^New / }).count(),
          0,
          `${path}: no New button`,
        );
      }
      await viewer.goto(`${service.dashboardUrl}/stream-routes/`);
      await viewer.locator('tr[data-id="echo-route"]').waitFor();
      assert.equal(await viewer.getByRole('button', { name: /^Delete / }).count(), 0);
      assert.equal(await viewer.getByRole('link', { name: /^Duplicate / }).count(), 0);
      await viewer.getByRole('link', { name: 'View echo-route' }).click();
      await viewer.getByText('Read-only: this key has the viewer role.').waitFor();
      assert.equal(await viewer.getByRole('button', { name: /Save|Create|Delete/ }).count(), 0);
      assert.equal(await viewer.getByLabel('Listener port').isDisabled(), true);

      // Live views: connections are shown, but nothing can close them.
      const connection = await hold('viewer\n');
      await viewer.goto(`${service.dashboardUrl}/connections/`);
      await viewer.locator(`tr[data-client="127.0.0.1:${connection.localPort}"]`).waitFor();
      assert.equal(await viewer.getByRole('button', { name: /^Close connection/ }).count(), 0);
      assert.equal(await viewer.getByRole('button', { name: 'Drain node' }).count(), 0);
      // The match debugger is a read: a shared link answers at once.
      await viewer.goto(
        `${service.dashboardUrl}/match/?remote_addr=127.0.0.1&server_addr=127.0.0.1&server_port=${service.streamPort}`,
      );
      await viewer.getByTestId('match-winner').filter({ hasText: 'echo-route' }).waitFor();
    } finally {
      await viewerContext.close();
    }
  });

  it('signs out and forgets the key', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin key').waitFor();
    assert.equal(await page.evaluate(() => window.sessionStorage.getItem('strait.adminKey')), null);
    await page.reload();
    await page.getByLabel('Admin key').waitFor();
  });

  it('raised no uncaught errors and loaded every file of the build', () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(missingFiles, []);
  });
});
