// Turns the results object of bench/run.mjs into docs/benchmarks.md. Everything in the file comes
// from the run: figures, ratios, machine, versions, pinning, verdicts against issue 7's targets.

const NA = '–';

function num(value, digits = 0) {
  if (value === undefined || value === null || Number.isNaN(value)) return NA;
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function rate(value) {
  if (value === undefined || value === null) return NA;
  return num(value, value >= 100 ? 0 : 1);
}

function us(value) {
  if (value === undefined || value === null || Number.isNaN(value)) return NA;
  if (Math.abs(value) >= 10_000) return `${num(value / 1000, 1)} ms`;
  return `${num(value, 0)} µs`;
}

/** A latency percentile; with several rounds, the median of the rounds and their spread. */
function latency(f, key) {
  const runs = f[`${key}Runs`];
  if (!runs || runs.length < 2) return us(f[key]);
  return `${us(f[key])} (${us(Math.min(...runs))}–${us(Math.max(...runs))})`;
}

function ratio(a, b) {
  if (a === undefined || b === undefined || a === null || b === null || !(b > 0) || Number.isNaN(a))
    return NA;
  return `${(a / b).toFixed(2)}x`;
}

function ratioValue(a, b) {
  if (a === undefined || b === undefined || a === null || b === null || !(b > 0) || Number.isNaN(a))
    return undefined;
  return a / b;
}

/** A measured value, with the spread of the rounds when there were several. */
function withSpread(f, key, format, scale = 1) {
  const main = format(f[key] / scale);
  if (!f.runs || f.runs.length < 2) return main;
  return `${main} (${format(Math.min(...f.runs) / scale)}–${format(Math.max(...f.runs) / scale)})`;
}

/**
 * Rounds per figure class in a run's settings; results of runs older than a setting fall back to
 * the count that applied then.
 */
function rounds(settings) {
  const noisy = settings.noisyFigureRepeats ?? settings.repeats;
  return { noisy, keptAlive: settings.keptAliveRepeats ?? noisy };
}

function table(head, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The cell for a figure that failed or could not be measured. */
function unavailable(figure) {
  if (!figure) return 'not measured';
  return `unavailable: ${String(figure.error).replace(/\|/g, '/').replace(/\s+/g, ' ').slice(0, 160)}`;
}

/** The TLS protocol and cipher a target negotiated (load.mjs negotiatedTls), for the TLS table. */
function negotiated(tls) {
  if (!tls) return NA;
  if (tls.error) return unavailable(tls);
  return [tls.protocol, tls.cipher].filter(Boolean).join(', ');
}

function fig(target, name) {
  const figure = target?.figures?.[name];
  return figure && !figure.error ? figure : undefined;
}

/** Label + pinning cell of a target row. */
function who(target) {
  return target.label;
}

const BULK_GBPS = (figure) => (figure ? figure.bitsPerSecond / 1e9 : undefined);
const CPU_PER_GB = (figure) =>
  figure && figure.cpuSeconds !== undefined && figure.bytes > 0
    ? figure.cpuSeconds / (figure.bytes / 1e9)
    : undefined;
const CPU_US_PER = (figure, count) =>
  figure && figure.cpuSeconds !== undefined && count > 0
    ? (figure.cpuSeconds * 1e6) / count
    : undefined;

/** Mean share of the proxy core other processes used during a target's timed runs. */
function interference(target) {
  const values = Object.values(target?.figures ?? {})
    .filter((f) => f && !f.error && f.otherLoadOnProxyCore !== undefined)
    .map((f) => f.otherLoadOnProxyCore);
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : undefined;
}

/** Warnings the data itself calls for, so nobody quotes a disturbed figure without knowing it. */
function caveatsFor(results, byId) {
  const out = [];
  const single = ['nginx-1', 'haproxy-1', 'strait-1']
    .map((id) => interference(byId[id]))
    .filter((v) => v !== undefined);
  if (single.length) {
    const mean = single.reduce((a, b) => a + b, 0) / single.length;
    const direct = interference(byId.direct);
    if (mean > 0.1) {
      out.push(
        `This machine was shared: other processes used on average ${(100 * mean).toFixed(0)}% of the proxy core while the single-worker proxies were measured${direct !== undefined ? ` (${(100 * direct).toFixed(0)}% while "no proxy" was, when the load core was saturated)` : ''}. Single-worker figures are depressed by up to that share, unevenly between rounds, and p99 latencies are dominated by scheduling delays, so the p99 verdicts above say little. Rerun on an idle machine before quoting figures.`,
      );
    }
  }
  const n1 = byId['nginx-1']?.figures?.ka1;
  const nn = byId['nginx-n']?.figures?.ka1;
  if (n1 && nn && !n1.error && !nn.error && n1.p50Us > 3 * nn.p50Us) {
    out.push(
      `With one connection, the single-worker proxies run on the other core than wrk and the upstream, so every request crosses cores twice: on this machine that alone costs about ${Math.round(n1.p50Us - nn.p50Us)} µs at p50 (nginx 1 worker ${Math.round(n1.p50Us)} µs against ${Math.round(nn.p50Us)} µs with 2 workers, which can run on the load core). Compare single-worker proxies with each other there, not with "no proxy".`,
    );
  }
  return out;
}

/**
 * Strait's connection rate against nginx with `proxy_half_close on` (the same FIN semantics), when
 * that was measured; nginx's default closes both sides at the first FIN and saves a wake-up.
 */
function halfCloseNote(straitTarget, nginxTarget) {
  const s = fig(straitTarget, 'connRate');
  const h = fig(nginxTarget, 'connRateHalfClose');
  if (!s || !h) return undefined;
  return `against nginx with \`proxy_half_close on\` (the FIN semantics Strait has: it passes a half-close through, which nginx's default does not) ${rate(h.rate)}, ${ratio(s.rate, h.rate)}`;
}

export function renderReport(results) {
  const { meta, targets } = results;
  const byId = Object.fromEntries(targets.map((target) => [target.id, target]));
  const direct = byId.direct;
  const reference = (target) => byId[target.compareTo];
  const measured = targets.filter((target) => !target.unavailable);
  const out = [];
  const mode = meta.quick ? 'quick' : 'full';

  out.push('# Benchmarks: Strait against nginx stream and HAProxy');
  out.push('');
  out.push(
    `<!-- generated by bench/run.mjs (${mode} mode); do not edit by hand: rerun \`${meta.command}\` -->`,
  );
  out.push('');
  out.push(
    `Generated by \`${meta.command}\` on ${meta.date} (${meta.durationSeconds.toFixed(0)} s). Strait revision: ${meta.revision}.`,
  );
  out.push('');
  if (meta.quick) {
    out.push(
      `> **Quick mode: every figure on this page is a quick-mode figure** (${meta.settings.seconds} s per measurement, ${meta.settings.bulkSeconds} s per iperf3 run, one round per figure, ${num(meta.settings.manyRoutes)} routes instead of 10,000 for the route-count test, ${meta.settings.routeTrials} route-change trials). They show orders of magnitude and ratios; use \`npm run bench\` (full mode: several interleaved rounds, median kept) for figures to quote.`,
    );
  } else {
    out.push(
      `> Full mode: ${meta.settings.seconds} s per measurement, ${meta.settings.bulkSeconds} s per iperf3 run, ${meta.settings.repeats} rounds per figure with the targets interleaved (${rounds(meta.settings).noisy} for the new-connection rate, ${rounds(meta.settings).keptAlive} for the kept-alive figures; each figure is the run with the median result; latency percentiles ${meta.pooledLatencies ? "are taken over all rounds' samples pooled (wrk's histograms added up)" : 'are the median of their own'}; the tables show the rounds' spread), ${meta.settings.routeTrials} route-change trials, ${num(meta.settings.manyRoutes)} routes for the route-count test. Differences of a few percent are noise.`,
    );
  }
  out.push('');
  out.push(
    "These are benchmarks, not tests: CI does not run them and nothing fails on them. Issue 7 sets Strait's targets as ratios to nginx stream with the same number of workers, measured in the same run.",
  );
  out.push('');

  // ---- summary against issue 7
  out.push("## Strait against issue 7's targets");
  out.push('');
  const strait = byId['strait-1'];
  const nginx1 = byId['nginx-1'];
  const summaryRows = [];
  const behind = [];
  const extraCaveats = [];
  const quickMark = meta.quick ? ' (quick)' : '';
  const verdict = (ok) =>
    ok === undefined ? 'not measured' : ok ? `**met**${quickMark}` : `**behind**${quickMark}`;
  const addRow = (label, straitValue, nginxValue, format, ratioText, ok, target, note) => {
    summaryRows.push([
      label,
      format(straitValue),
      format(nginxValue),
      ratioText,
      target,
      verdict(ok),
    ]);
    if (ok === false)
      behind.push(
        `${label}: Strait ${format(straitValue)} against nginx's ${format(nginxValue)} (${ratioText}; target ${target})${note ? ` — ${note}` : ''}.`,
      );
  };
  const higher = (name, label, pick, format, note) => {
    const s = pick(fig(strait, name));
    const n = pick(fig(nginx1, name));
    const r = ratioValue(s, n);
    addRow(
      label,
      s,
      n,
      format,
      ratio(s, n),
      r === undefined ? undefined : r >= 1.0,
      '≥ 1.0x',
      note?.(fig(strait, name), fig(nginx1, name)),
    );
  };
  const cpuNote = (unit, per, format) => (sf, nf) => {
    if (!sf || !nf || sf.cpuSeconds === undefined || nf.cpuSeconds === undefined) return undefined;
    const sv = per(sf);
    const nv = per(nf);
    if (!(sv > 0) || !(nv > 0)) return undefined;
    const split = (f, count) =>
      f.cpuUserSeconds !== undefined
        ? ` (user ${format(f.cpuUserSeconds / count)}, system ${format(f.cpuSystemSeconds / count)})`
        : '';
    const faults =
      unit === 'GB' && sf.minorFaults !== undefined && nf.minorFaults !== undefined
        ? `; minor page faults per GB: Strait ${num(sf.minorFaults / sv, 0)}, nginx ${num(nf.minorFaults / nv, 0)}`
        : '';
    return `Strait spends ${format(sf.cpuSeconds / sv)}${split(sf, sv)} of CPU per ${unit}, nginx ${format(nf.cpuSeconds / nv)}${split(nf, nv)}${faults}`;
  };
  const seconds = (v) => `${num(v, 3)} s`;
  const micro = (v) => us(v * 1e6);
  higher(
    'bulk1',
    'TCP bulk throughput, 1 stream (Gbit/s)',
    BULK_GBPS,
    (v) => num(v, 2),
    cpuNote('GB', (f) => f.bytes / 1e9, seconds),
  );
  higher(
    'bulk4',
    'TCP bulk throughput, 4 streams (Gbit/s)',
    BULK_GBPS,
    (v) => num(v, 2),
    cpuNote('GB', (f) => f.bytes / 1e9, seconds),
  );
  higher(
    'connRate',
    'new connections/s',
    (f) => f?.rate,
    rate,
    (sf, nf) =>
      [cpuNote('connection', (f) => f.requests, micro)(sf, nf), halfCloseNote(strait, nginx1)]
        .filter(Boolean)
        .join('; '),
  );
  higher(
    'udp',
    'UDP request/response (queries/s)',
    (f) => f?.rate,
    rate,
    cpuNote('datagram', (f) => 2 * f.completed, micro),
  );
  for (const [name, label] of [
    ['ka50', 'added p99 latency, kept-alive, 50 connections'],
    ['ka1', 'added p99 latency, kept-alive, 1 connection'],
  ]) {
    const d = fig(direct, name);
    const s = fig(strait, name) && d ? fig(strait, name).p99Us - d.p99Us : undefined;
    const n = fig(nginx1, name) && d ? fig(nginx1, name).p99Us - d.p99Us : undefined;
    let ok;
    let ratioText = NA;
    if (s !== undefined && n !== undefined) {
      if (n > 0) {
        ratioText = `${(s / n).toFixed(2)}x`;
        ok = s / n <= 1.2;
      } else {
        ratioText = 'nginx adds none';
        ok = s <= 0;
      }
    }
    addRow(label, s, n, us, ratioText, ok, "≤ 1.2x nginx's");
  }
  {
    const s = fig(strait, 'idle')?.perConnKb;
    const n = fig(nginx1, 'idle')?.perConnKb;
    const r = ratioValue(s, n);
    addRow(
      'memory per idle connection (KB)',
      s,
      n,
      (v) => num(v, 1),
      ratio(s, n),
      r === undefined ? undefined : r <= 1.0,
      '≤ 1.0x',
    );
    const sm = fig(strait, 'idle')?.marginalKb;
    const nm = fig(nginx1, 'idle')?.marginalKb;
    const rm = ratioValue(sm, nm);
    addRow(
      'memory per idle connection, marginal (KB, 2,500 → 5,000)',
      sm,
      nm,
      (v) => num(v, 1),
      ratio(sm, nm),
      rm === undefined ? undefined : rm <= 1.0,
      '≤ 1.0x',
    );
  }
  {
    const rc = strait?.extras?.routeChange;
    const ok = rc && !rc.error ? rc.p99Ms <= 100 : undefined;
    summaryRows.push([
      'admin write to route in force, p99 (ms)',
      rc && !rc.error ? num(rc.p99Ms, 1) : unavailable(rc),
      'n/a (static config)',
      NA,
      '≤ 100 ms',
      verdict(ok),
    ]);
    if (ok === false)
      behind.push(
        `A route change took ${num(rc.p99Ms, 1)} ms at p99 to be in force (target 100 ms).`,
      );
  }
  {
    const many = strait?.extras?.manyRoutes;
    const base =
      many?.connRateBefore && !many.connRateBefore.error
        ? many.connRateBefore
        : fig(strait, 'connRate');
    let ok;
    let cell = unavailable(many);
    let ratioText = NA;
    let verdictText;
    if (many && !many.error && many.connRate && !many.connRate.error && base) {
      const r = many.connRate.rate / base.rate;
      ratioText = `${r.toFixed(2)}x of 1 route`;
      ok = r >= 0.95;
      cell = `${rate(many.connRate.rate)} with ${num(many.created)} routes`;
      const cpuRatio = ratioValue(
        CPU_US_PER(many.connRate, many.connRate.requests),
        CPU_US_PER(base, base.requests),
      );
      if (!ok && cpuRatio !== undefined && cpuRatio <= 1.05) {
        // The rate fell but the work per connection did not grow: the process got less CPU.
        ratioText += `, CPU/connection ${cpuRatio.toFixed(2)}x`;
        verdictText = `**met**${quickMark} on CPU per connection; rate disturbed`;
        ok = undefined;
      }
    }
    summaryRows.push([
      `new connections/s with ${num(meta.settings.manyRoutes)} routes in the store`,
      cell,
      NA,
      ratioText,
      'no measurable drop (≥ 0.95x)',
      verdictText ?? verdict(ok),
    ]);
    if (ok === false || verdictText) {
      const cpuRatio = ratioValue(
        CPU_US_PER(many.connRate, many.connRate.requests),
        CPU_US_PER(base, base.requests),
      );
      const cpuText =
        cpuRatio === undefined
          ? ''
          : cpuRatio < 1.1
            ? ` CPU per connection was ${cpuRatio.toFixed(2)}x of the 1-route run, so the process did no more work per connection: the drop is CPU it did not get (see the interference figures), not route matching.`
            : ` CPU per connection was ${cpuRatio.toFixed(2)}x of the 1-route run: more work per connection with many routes.`;
      (verdictText ? extraCaveats : behind).push(
        `With ${num(many.created)} routes the connection rate was ${ratioText.replace(/, CPU.*$/, '')} (measured right after the 1-route rate, same process).${cpuText}`,
      );
    }
    const rc2 = many?.routeChange;
    if (rc2 && !rc2.error) {
      const ok2 = rc2.p99Ms <= 100;
      summaryRows.push([
        `admin write to route in force with ${num(many.created)} routes, p99 (ms)`,
        num(rc2.p99Ms, 1),
        'n/a',
        NA,
        '≤ 100 ms',
        verdict(ok2),
      ]);
      if (!ok2)
        behind.push(
          `With ${num(many.created)} routes in the store a route change took ${num(rc2.p99Ms, 1)} ms at p99 to be in force (target 100 ms): every admin write recompiles the whole configuration.`,
        );
    }
    if (many && !many.error && many.created > 0) {
      behind.push(
        `Creating ${num(many.created)} routes through the admin API took ${num(many.createSeconds, 1)} s (${num(many.writesPerSecond, 0)} writes/s, ${meta.settings.routeConcurrency} in flight): the cost of one write grows with the number of routes stored.`,
      );
    }
  }
  {
    const s = fig(strait, 'tls');
    const n = fig(nginx1, 'tls');
    const cell = s
      ? rate(s.rate)
      : strait?.figures?.tls
        ? unavailable(strait.figures.tls)
        : 'not measured';
    summaryRows.push([
      'TLS handshakes/s on a `tls: true` listener',
      cell,
      n ? rate(n.rate) : NA,
      s && n ? ratio(s.rate, n.rate) : NA,
      'not set (≥ 1.0x assumed)',
      s && n ? verdict(s.rate >= n.rate) : 'not available',
    ]);
    if (!s)
      behind.push(
        `TLS termination cannot be measured: ${strait?.figures?.tls?.error ?? 'not measured'}.`,
      );
    else if (n && s.rate < n.rate)
      behind.push(`TLS handshakes/s: ${ratio(s.rate, n.rate)} of nginx's.`);
  }
  {
    // Full handshakes: the client's own handshakes saturate the load core first, so the proxy's
    // CPU per handshake is what compares the proxies, not the rate.
    const cpuPerFull = (target) => {
      const f = fig(target, 'tlsFull');
      return CPU_US_PER(f, f?.requests);
    };
    const s = cpuPerFull(strait);
    const n = cpuPerFull(nginx1);
    summaryRows.push([
      'proxy CPU per full TLS handshake (no resumption)',
      s !== undefined ? us(s) : unavailable(strait?.figures?.tlsFull),
      us(n),
      ratio(s, n),
      'not set (≤ 1.0x assumed)',
      s !== undefined && n !== undefined ? verdict(s <= n) : 'not available',
    ]);
    if (s !== undefined && n !== undefined && s > n)
      behind.push(`CPU per full TLS handshake: ${ratio(s, n)} of nginx's.`);
  }
  // ---- one worker per core: the same ratios against nginx with one worker per core
  const straitN = byId['strait-n'];
  const nginxN = byId['nginx-n'];
  const perCoreRows = [];
  if (straitN && !straitN.unavailable && nginxN && !nginxN.unavailable) {
    for (const [name, label, pick, format] of [
      ['bulk1', 'TCP bulk throughput, 1 stream (Gbit/s)', BULK_GBPS, (v) => num(v, 2)],
      ['bulk4', 'TCP bulk throughput, 4 streams (Gbit/s)', BULK_GBPS, (v) => num(v, 2)],
      ['connRate', 'new connections/s', (f) => f?.rate, rate],
      ['udp', 'UDP request/response (queries/s)', (f) => f?.rate, rate],
      ['tls', 'TLS handshakes/s', (f) => f?.rate, rate],
    ]) {
      const sv = pick(fig(straitN, name));
      const nv = pick(fig(nginxN, name));
      const r = ratioValue(sv, nv);
      const target = name === 'tls' ? 'not set' : '≥ 1.0x';
      const ok = r === undefined ? undefined : r >= 1.0;
      perCoreRows.push([label, format(sv), format(nv), ratio(sv, nv), target, verdict(ok)]);
      if (ok === false && name !== 'tls') {
        const note = name === 'connRate' ? halfCloseNote(straitN, nginxN) : undefined;
        behind.push(
          `With one worker per core, ${label}: Strait ${format(sv)} against nginx's ${format(nv)} (${ratio(sv, nv)})${note ? ` — ${note}` : ''}.`,
        );
      }
    }
    for (const [name, connections] of [
      ['ka50', 50],
      ['ka1', 1],
    ]) {
      const d = fig(direct, name);
      const sp = fig(straitN, name) && d ? fig(straitN, name).p99Us - d.p99Us : undefined;
      const np = fig(nginxN, name) && d ? fig(nginxN, name).p99Us - d.p99Us : undefined;
      const pr = sp !== undefined && np > 0 ? sp / np : undefined;
      perCoreRows.push([
        `added p99 latency, kept-alive, ${connections} connection${connections > 1 ? 's' : ''}`,
        us(sp),
        us(np),
        pr === undefined ? NA : `${pr.toFixed(2)}x`,
        "≤ 1.2x nginx's",
        verdict(pr === undefined ? undefined : pr <= 1.2),
      ]);
    }
    for (const [key, label] of [
      ['perConnKb', 'memory per idle connection (KB)'],
      ['marginalKb', 'memory per idle connection, marginal (KB, 2,500 → 5,000)'],
    ]) {
      const sv = fig(straitN, 'idle')?.[key];
      const nv = fig(nginxN, 'idle')?.[key];
      const r = ratioValue(sv, nv);
      perCoreRows.push([
        label,
        num(sv, 1),
        num(nv, 1),
        ratio(sv, nv),
        '≤ 1.0x',
        verdict(r === undefined ? undefined : r <= 1.0),
      ]);
    }
  } else {
    behind.push(
      `"Strait, one worker per core" or "nginx, one worker per core" was not measured in this run (${straitN?.unavailable ?? nginxN?.unavailable ?? 'not selected with --targets'}), so the per-core comparison is missing.`,
    );
  }
  out.push(
    table(
      [
        'figure',
        'Strait (1 process)',
        'nginx stream (1 worker)',
        'ratio',
        'issue 7 target',
        'verdict',
      ],
      summaryRows,
    ),
  );
  out.push('');
  if (perCoreRows.length) {
    out.push(
      `With one worker per core (Strait \`strait.workers: ${straitN.workers ?? 'cores'}\`, nginx \`worker_processes\` the same; both with a \`SO_REUSEPORT\` socket per worker, APISIX's default \`enable_reuseport: true\`; every process on all cores, load generators included, so these figures share the machine with the load):`,
    );
    out.push('');
    out.push(
      table(
        [
          'figure',
          'Strait (workers)',
          'nginx stream (workers)',
          'ratio',
          'issue 7 target',
          'verdict',
        ],
        perCoreRows,
      ),
    );
    out.push('');
  }
  const caveats = [...caveatsFor(results, byId), ...extraCaveats];
  if (caveats.length) {
    out.push('### Read with care');
    out.push('');
    for (const line of caveats) out.push(`- ${line}`);
    out.push('');
  }
  out.push('### Where Strait is behind');
  out.push('');
  for (const line of behind) out.push(`- ${line}`);
  out.push('');

  // ---- setup
  out.push('## Machine, versions, pinning');
  out.push('');
  const m = meta.machine;
  out.push(
    table(
      ['', ''],
      [
        ['CPU', `${m.cpuModel}, ${m.cores} cores`],
        ['memory', `${num(m.memoryGiB, 1)} GiB`],
        ['kernel / OS', `${m.kernel} / ${m.os}`],
        [
          'load average at start',
          m.loadAverage.map((v) => v.toFixed(2)).join(', ') +
            (m.loadAverage[0] > 0.5 ? ' (other work was running: figures may be noisy)' : ''),
        ],
        ['date', meta.date],
        ['mode', meta.quick ? '**quick** (`--quick`)' : 'full'],
        ...Object.entries(meta.versions).map(([tool, version]) => [tool, version]),
      ],
    ),
  );
  out.push('');
  out.push('Pinning (`taskset`):');
  out.push('');
  out.push(
    table(
      ['process', 'cores'],
      meta.pinning.map((row) => [row.what, row.cpus]),
    ),
  );
  out.push('');
  const noise = measured
    .map((target) => {
      const values = Object.values(target.figures)
        .filter((f) => f && !f.error && f.otherLoadOnProxyCore !== undefined)
        .map((f) => f.otherLoadOnProxyCore);
      return values.length
        ? [
            who(target),
            `${(100 * Math.max(...values)).toFixed(0)}%`,
            `${(100 * (values.reduce((a, b) => a + b, 0) / values.length)).toFixed(0)}%`,
          ]
        : undefined;
    })
    .filter(Boolean);
  if (noise.length) {
    out.push(
      `Interference: share of the proxy core (core ${meta.proxyCore}) used by processes other than the target during its timed runs (from /proc/stat; for "no proxy" that core should be idle). Anything above a few percent means other work on the machine took CPU from the proxy and its figures are low by up to that much.`,
    );
    out.push('');
    out.push(table(['target', 'max', 'mean'], noise));
    out.push('');
  }
  out.push(
    'Targets (all on loopback, each started with its own config and temp directory, stopped by pid afterwards):',
  );
  out.push('');
  out.push(
    table(
      ['target', 'what runs', 'cores', 'compared with'],
      targets.map((target) => [
        who(target),
        target.unavailable ? target.unavailable : target.description,
        target.cpus ?? NA,
        target.compareTo ? (byId[target.compareTo]?.label ?? target.compareTo) : NA,
      ]),
    ),
  );
  out.push('');

  // ---- figure tables
  const rowsFor = (make) =>
    measured.map((target) => make(target, reference(target))).filter(Boolean);
  const plusUnavailable = (rows, name) => {
    for (const target of targets.filter((t) => t.unavailable))
      rows.push([
        who(target),
        `not available yet: ${target.unavailableShort ?? target.unavailable}`,
      ]);
    return rows;
  };

  out.push('## TCP bulk throughput (iperf3)');
  out.push('');
  out.push(
    `\`iperf3 -c\` through each target to \`iperf3 -s\`, ${meta.settings.bulkSeconds} s per run; client and server share the load core, so "no proxy" is bounded by that core too. CPU per GB is the proxy's user+system time (all its processes and threads, from /proc/<pid>/stat) divided by the bytes received; page faults are the proxy's minor faults (fresh memory touched) per GB.`,
  );
  out.push('');
  out.push(
    table(
      [
        'target',
        '1 stream Gbit/s',
        'vs nginx',
        'vs no proxy',
        'CPU s/GB (user / system)',
        'page faults/GB',
        '4 streams Gbit/s',
        'vs nginx',
        'vs no proxy',
        'CPU s/GB (user / system)',
        'page faults/GB',
      ],
      plusUnavailable(
        rowsFor((target, ref) => {
          const cells = [who(target)];
          for (const name of ['bulk1', 'bulk4']) {
            const f = fig(target, name);
            if (!f) {
              cells.push(unavailable(target.figures[name]), NA, NA, NA, NA);
              continue;
            }
            const gb = f.bytes / 1e9;
            const split =
              f.cpuUserSeconds !== undefined
                ? ` (${num(f.cpuUserSeconds / gb, 3)} / ${num(f.cpuSystemSeconds / gb, 3)})`
                : '';
            cells.push(
              withSpread(f, 'bitsPerSecond', (v) => num(v, 2), 1e9),
              ratio(BULK_GBPS(f), BULK_GBPS(fig(ref, name))),
              ratio(BULK_GBPS(f), BULK_GBPS(fig(direct, name))),
              target.id === 'direct' ? NA : `${num(CPU_PER_GB(f), 3)}${split}`,
              target.id === 'direct' || f.minorFaults === undefined
                ? NA
                : num(f.minorFaults / gb, 0),
            );
          }
          return cells;
        }),
      ),
    ),
  );
  out.push('');

  out.push('## New connections per second');
  out.push('');
  out.push(
    `\`wrk -t1 -c50 -H 'Connection: close'\` for ${meta.settings.seconds} s through each target to nginx \`return 200\` (pinned to the load core): every request is a new TCP connection through the proxy. Latency is wrk's per-request latency on the fresh connection (the proxy's accept, upstream connect and relay are in it; the client's own connect is not); each percentile is the median over the rounds, with their range.`,
  );
  out.push('');
  out.push(
    table(
      [
        'target',
        'connections/s',
        'vs nginx',
        'vs no proxy',
        'p50',
        'p99',
        'CPU per connection',
        'of which user / system',
        'vs nginx',
        'errors',
      ],
      plusUnavailable(
        rowsFor((target, ref) => {
          const f = fig(target, 'connRate');
          if (!f) return [who(target), unavailable(target.figures.connRate)];
          const cpu = CPU_US_PER(f, f.requests);
          const refF = fig(ref, 'connRate');
          const split =
            f.cpuUserSeconds !== undefined
              ? `${us((f.cpuUserSeconds * 1e6) / f.requests)} / ${us((f.cpuSystemSeconds * 1e6) / f.requests)}`
              : NA;
          return [
            who(target),
            withSpread(f, 'rate', rate),
            ratio(f.rate, refF?.rate),
            ratio(f.rate, fig(direct, 'connRate')?.rate),
            latency(f, 'p50Us'),
            latency(f, 'p99Us'),
            target.id === 'direct' ? NA : us(cpu),
            target.id === 'direct' ? NA : split,
            target.id === 'direct' ? NA : ratio(cpu, CPU_US_PER(refF, refF?.requests)),
            f.errors ? `${num(f.errors)} (${f.errorDetail})` : '0',
          ];
        }),
      ),
    ),
  );
  out.push('');
  const halfCloseRows = [
    [byId['nginx-1'], byId['strait-1']],
    [byId['nginx-n'], byId['strait-n']],
  ]
    .map(([nginx, straitTarget]) => [nginx, straitTarget, fig(nginx, 'connRateHalfClose')])
    .filter(([nginx, , h]) => nginx && h);
  if (halfCloseRows.length > 0) {
    out.push(
      "nginx's default closes both sides as soon as one side's FIN has been passed on; Strait (issue 2), like HAProxy, passes a half-close through and keeps relaying the other way until the second FIN, which costs a wake-up and a read per connection. The same nginx with `proxy_half_close on` on an extra listener, in the same rounds:",
    );
    out.push('');
    out.push(
      table(
        ['target', 'connections/s', 'CPU per connection', 'Strait (same workers) vs this'],
        halfCloseRows.map(([nginx, straitTarget, h]) => [
          `${who(nginx)}, \`proxy_half_close on\``,
          withSpread(h, 'rate', rate),
          us(CPU_US_PER(h, h.requests)),
          ratio(fig(straitTarget, 'connRate')?.rate, h.rate),
        ]),
      ),
    );
    out.push('');
  }

  for (const [name, conns] of [
    ['ka50', 50],
    ['ka1', 1],
  ]) {
    out.push(`## Kept-alive request/response, ${conns} connection${conns > 1 ? 's' : ''}`);
    out.push('');
    out.push(
      `\`wrk -t1 -c${conns}\` for ${meta.settings.seconds} s, HTTP keep-alive: one TCP connection per wrk connection, many small requests. Each percentile is the median over ${rounds(meta.settings).keptAlive} rounds (range in brackets; a p99 moves more between runs than a rate). Added latency = the target's percentile − no proxy's percentile; "vs nginx" for added latency is Strait's (or HAProxy's) added latency over nginx's (issue 7: ≤ 1.2x at p99).`,
    );
    out.push('');
    const d = fig(direct, name);
    out.push(
      table(
        [
          'target',
          'requests/s',
          'vs nginx',
          'vs no proxy',
          'p50',
          'p99',
          'added p50',
          'added p99',
          'added p99 vs nginx',
          'CPU per request',
        ],
        plusUnavailable(
          rowsFor((target, ref) => {
            const f = fig(target, name);
            if (!f) return [who(target), unavailable(target.figures[name])];
            const refF = fig(ref, name);
            const added50 = d ? f.p50Us - d.p50Us : undefined;
            const added99 = d ? f.p99Us - d.p99Us : undefined;
            const refAdded99 = refF && d ? refF.p99Us - d.p99Us : undefined;
            const isDirect = target.id === 'direct';
            return [
              who(target),
              withSpread(f, 'rate', rate),
              ratio(f.rate, refF?.rate),
              ratio(f.rate, d?.rate),
              latency(f, 'p50Us'),
              latency(f, 'p99Us'),
              isDirect ? NA : us(added50),
              isDirect ? NA : us(added99),
              isDirect || target.id === target.compareTo
                ? NA
                : refAdded99 > 0
                  ? ratio(added99, refAdded99)
                  : NA,
              isDirect ? NA : us(CPU_US_PER(f, f.requests)),
            ];
          }),
        ),
      ),
    );
    out.push('');
  }

  out.push('## UDP request/response (dnsperf to dnsmasq)');
  out.push('');
  out.push(
    `\`dnsperf -c 10 -q 200\` for ${meta.settings.seconds} s through each target's UDP listener to dnsmasq (10 client ports = 10 UDP sessions in the proxy, up to 200 queries in flight), then a latency pass at a fixed ${num(meta.settings.udpLatencyQps)} queries/s (\`-Q\`, no queueing) for p50/p99. CPU per datagram = proxy CPU / (2 × answered queries). HAProxy 2.6 has no UDP proxying.`,
  );
  out.push('');
  out.push(
    table(
      [
        'target',
        'queries/s',
        'vs nginx',
        'vs no proxy',
        'lost',
        'mean latency at max rate',
        `p50 at ${num(meta.settings.udpLatencyQps)}/s`,
        `p99 at ${num(meta.settings.udpLatencyQps)}/s`,
        'CPU per datagram',
        'vs nginx',
      ],
      plusUnavailable(
        rowsFor((target, ref) => {
          const f = fig(target, 'udp');
          if (!f) return [who(target), unavailable(target.figures.udp)];
          const lat = fig(target, 'udpLatency');
          const refF = fig(ref, 'udp');
          const cpu = CPU_US_PER(f, 2 * f.completed);
          return [
            who(target),
            withSpread(f, 'rate', rate),
            ratio(f.rate, refF?.rate),
            ratio(f.rate, fig(direct, 'udp')?.rate),
            `${num(f.lost)} (${num(f.lossPercent, 2)}%)`,
            us(f.avgLatencyUs),
            lat ? us(lat.p50Us) : unavailable(target.figures.udpLatency),
            lat ? us(lat.p99Us) : NA,
            target.id === 'direct' ? NA : us(cpu),
            target.id === 'direct' ? NA : ratio(cpu, CPU_US_PER(refF, 2 * (refF?.completed ?? 0))),
          ];
        }),
      ),
    ),
  );
  out.push('');

  out.push('## TLS handshakes per second');
  out.push('');
  out.push(
    `\`wrk -t1 -c50 -H 'Connection: close'\` over \`https://\` for ${meta.settings.seconds} s: every request is a new connection and a TLS handshake (ECDSA P-256 certificate) terminated by the proxy, which relays plain TCP to the HTTP upstream. wrk offers each connection's previous session on its next one, so after the first handshake of each of its 50 connections every handshake is a TLS 1.3 resumption (a ticket, with a fresh ECDHE exchange and no certificate signature) wherever the proxy accepts the ticket: with several workers, only where they share ticket keys (nginx workers share the master's; Strait's workers get one secret from the API process). "No proxy" is the nginx upstream terminating TLS itself on the load core. Every TLS listener allows TLSv1.2 and TLSv1.3 (APISIX's default; nginx 1.22's own stops at 1.2), and "negotiated" is what one \`openssl s_client\` handshake got from each.`,
  );
  out.push('');
  out.push(
    table(
      [
        'target',
        'handshakes/s',
        'vs nginx',
        'vs no proxy',
        'p50',
        'p99',
        'CPU per handshake',
        'negotiated',
      ],
      plusUnavailable(
        rowsFor((target, ref) => {
          const f = fig(target, 'tls');
          if (!f) return [who(target), unavailable(target.figures.tls)];
          return [
            who(target),
            withSpread(f, 'rate', rate),
            ratio(f.rate, fig(ref, 'tls')?.rate),
            ratio(f.rate, fig(direct, 'tls')?.rate),
            us(f.p50Us),
            us(f.p99Us),
            target.id === 'direct' ? NA : us(CPU_US_PER(f, f.requests)),
            negotiated(target.extras?.tls),
          ];
        }),
      ),
    ),
  );
  out.push('');

  out.push('## Full TLS handshakes (no session resumption)');
  out.push('');
  out.push(
    `\`bench/tools/tls-full-handshakes.c\` (compiled by the run against the system OpenSSL), 50 connections for ${meta.settings.seconds} s on the load core: every connection does a whole handshake without offering a session (so the server signs with its ECDSA P-256 key every time), sends one \`Connection: close\` request, reads the response to its end and closes. The client's own full handshakes (OpenSSL 3.0 spends about 400 µs of client CPU on one) fill the load core before any proxy's core is full, so the rates are the client's ceiling and stay close together; **the proxy's CPU per handshake is the figure that compares the proxies**. Latency spans a whole connection, connect to EOF, with 50 in flight. "load core busy" says how close the client came to its ceiling.`,
  );
  out.push('');
  out.push(
    table(
      [
        'target',
        'handshakes/s',
        'vs no proxy',
        'p50',
        'p99',
        'CPU per handshake',
        'vs nginx',
        'load core busy',
        'errors',
      ],
      plusUnavailable(
        rowsFor((target, ref) => {
          const f = fig(target, 'tlsFull');
          if (!f) return [who(target), unavailable(target.figures.tlsFull)];
          const refF = fig(ref, 'tlsFull');
          const cpu = CPU_US_PER(f, f.requests);
          return [
            who(target),
            withSpread(f, 'rate', rate),
            ratio(f.rate, fig(direct, 'tlsFull')?.rate),
            us(f.p50Us),
            us(f.p99Us),
            target.id === 'direct' ? NA : us(cpu),
            target.id === 'direct' ? NA : ratio(cpu, CPU_US_PER(refF, refF?.requests)),
            f.loadCoreBusy === undefined ? NA : `${num(100 * f.loadCoreBusy)}%`,
            f.errors ? `${num(f.errors)} (${f.errorDetail})` : '0',
          ];
        }),
      ),
    ),
  );
  out.push('');

  out.push('## Memory: idle and with 5,000 idle connections');
  out.push('');
  out.push(
    `RSS is the sum of VmRSS over every process of the target, read idle (no connection yet, before any load) and with ${num(meta.settings.idleConns)} idle TCP connections open through it (opened by a Node client pinned to the load core, to a sink on the load core; no byte sent). Each reading waits until RSS has settled (read every 250 ms until ${num((meta.settings.rssSteadyMs ?? 3000) / 1000, 1)} s of readings stay within 1%, at most 20 s): a garbage-collected process can still be growing or releasing memory right after a change, and a single reading would catch it at a random point.${meta.settings.idleMinUptimeMs === undefined ? '' : meta.settings.idleMinUptimeMs ? ` The idle reading is taken no earlier than ${num(meta.settings.idleMinUptimeMs / 1000)} s after the target started: a garbage-collected process (Strait) holds its start-up garbage until V8's memory reducer runs, and connections opened before that fill the garbage's space instead of growing RSS.` : ' Quick mode does not wait for a target to have run long enough for its idle reading; a reading that may still include start-up garbage is noted.'} KB per connection = (RSS with − RSS before) / connections (issue 7's definition); the marginal figure is the slope from ${num(Math.floor(meta.settings.idleConns / 2))} to ${num(meta.settings.idleConns)} connections, which leaves out what the first connections cost once (pools, tables and heap space a process grows into).`,
  );
  out.push('');
  out.push(
    table(
      [
        'target',
        'RSS idle',
        'RSS with connections',
        'connections held',
        'KB per connection',
        'vs nginx',
        'marginal KB per connection',
        'vs nginx',
        'note',
      ],
      plusUnavailable(
        rowsFor((target, ref) => {
          if (target.id === 'direct') return undefined;
          const f = fig(target, 'idle');
          if (!f) return [who(target), unavailable(target.figures.idle)];
          return [
            who(target),
            `${num(f.idleKb / 1024, 1)} MB`,
            `${num(f.withKb / 1024, 1)} MB`,
            num(f.alive),
            num(f.perConnKb, 1),
            ratio(f.perConnKb, fig(ref, 'idle')?.perConnKb),
            num(f.marginalKb, 1),
            ratio(f.marginalKb, fig(ref, 'idle')?.marginalKb),
            f.note ?? '',
          ];
        }),
      ),
    ),
  );
  out.push('');

  out.push('## Strait only: admin write to route in force');
  out.push('');
  const rc = strait?.extras?.routeChange;
  out.push(
    `Per trial: DELETE the route (its listener then refuses), then PUT it through the admin API while connections are attempted back to back; the figure is the time from sending the PUT to the first connection served. ${meta.settings.routeTrials} trials.`,
  );
  out.push('');
  if (rc && !rc.error) {
    out.push(
      table(
        [
          'trials',
          'in force p50',
          'in force p99',
          'max',
          'PUT answered p50',
          'PUT answered p99',
          'target',
        ],
        [
          [
            `${rc.trials}/${rc.attempted}`,
            `${num(rc.p50Ms, 1)} ms`,
            `${num(rc.p99Ms, 1)} ms`,
            `${num(rc.maxMs, 1)} ms`,
            `${num(rc.putP50Ms, 1)} ms`,
            `${num(rc.putP99Ms, 1)} ms`,
            '≤ 100 ms',
          ],
        ],
      ),
    );
  } else out.push(unavailable(rc));
  out.push('');

  out.push(`## Strait only: new connections/s with ${num(meta.settings.manyRoutes)} stream routes`);
  out.push('');
  const many = strait?.extras?.manyRoutes;
  out.push(
    `${num(meta.settings.manyRoutes)} routes that never match (same server_port as the benchmark listener, distinct remote_addr /32s in 127.64.0.0/10) are POSTed through the admin API (${meta.settings.routeConcurrency} requests in flight), the matching route is moved to the end of the route order, and the connection-rate test is rerun once the process is idle again (compared with the same test run just before the routes were created, in the same process; each side is the median of ${meta.settings.repeats} runs), then the route-change test (${meta.settings.manyRoutesChangeTrials} trials) with all those routes stored.`,
  );
  out.push('');
  if (many && !many.error) {
    const base =
      many.connRateBefore && !many.connRateBefore.error
        ? many.connRateBefore
        : fig(strait, 'connRate');
    const c = many.connRate && !many.connRate.error ? many.connRate : undefined;
    const rc2 = many.routeChange && !many.routeChange.error ? many.routeChange : undefined;
    out.push(
      table(
        [
          'routes',
          'time to create them',
          'admin writes/s',
          'connections/s (1 route, just before)',
          'connections/s',
          'vs 1 route',
          'p50',
          'p99',
          'CPU per connection',
          'vs 1 route',
          'route change in force p50 / p99',
        ],
        [
          [
            `${num(many.created)}${many.complete ? '' : ` of ${num(meta.settings.manyRoutes)} (${many.failed} failed${many.firstError ? `: ${many.firstError.slice(0, 80)}` : ', stopped at the deadline'})`}`,
            `${num(many.createSeconds, 1)} s`,
            num(many.writesPerSecond, 0),
            base ? rate(base.rate) : NA,
            c ? rate(c.rate) : unavailable(many.connRate),
            c && base ? ratio(c.rate, base.rate) : NA,
            c ? us(c.p50Us) : NA,
            c ? us(c.p99Us) : NA,
            c ? us(CPU_US_PER(c, c.requests)) : NA,
            c && base ? ratio(CPU_US_PER(c, c.requests), CPU_US_PER(base, base.requests)) : NA,
            rc2
              ? `${num(rc2.p50Ms, 1)} / ${num(rc2.p99Ms, 1)} ms (${rc2.trials} trials)`
              : unavailable(many.routeChange),
          ],
        ],
      ),
    );
  } else out.push(unavailable(many));
  out.push('');

  const profile = results.profile;
  out.push('## Strait CPU profile under the new-connection load');
  out.push('');
  if (profile && !profile.error) {
    out.push(
      `\`node --cpu-prof\` on the service while \`wrk -c50 -H 'Connection: close'\` ran for ${meta.settings.profileSeconds} s (${rate(profile.connRate?.rate)} connections/s under the profiler), after a warm-up; only the samples taken under that load are counted: ${num(profile.summary.totalUs / 1e6, 2)} s on CPU in the main thread, ${num(profile.summary.idleUs / 1e6, 2)} s idle. Self time per function, top ${profile.summary.top.length} (\`node bench/cpuprofile-top.mjs\`):`,
    );
    out.push('');
    out.push(
      table(
        ['self', 'share', 'function', 'area'],
        profile.summary.top.map((entry) => [
          `${num(entry.selfUs / 1000, 1)} ms`,
          `${(entry.share * 100).toFixed(1)}%`,
          `\`${entry.label.replace(/\|/g, '\\|')}\``,
          entry.area,
        ]),
      ),
    );
    out.push('');
    if (profile.inclusive) {
      out.push(
        'Inclusive time of selected code paths (a frame and everything it calls; paths overlap):',
      );
      out.push('');
      out.push(
        table(
          ['inclusive', 'share', 'frame', 'what it is'],
          profile.inclusive.map((entry) => [
            `${num(entry.inclusiveUs / 1000, 1)} ms`,
            `${(entry.share * 100).toFixed(1)}%`,
            `\`${entry.pattern}\``,
            entry.meaning,
          ]),
        ),
      );
      out.push('');
    }
    out.push('By area:');
    out.push('');
    out.push(
      table(
        ['self', 'share', 'area'],
        profile.summary.areas.map((area) => [
          `${num(area.selfUs / 1000, 1)} ms`,
          `${(area.share * 100).toFixed(1)}%`,
          area.area,
        ]),
      ),
    );
  } else out.push(profile ? unavailable(profile) : 'not run (`--no-profile`).');
  out.push('');

  out.push('## Rerun');
  out.push('');
  out.push('```sh');
  out.push('npm run bench               # full mode, writes docs/benchmarks.md');
  out.push('npm run bench -- --quick    # under 2 minutes, every figure marked quick');
  out.push('```');
  out.push('');
  out.push(
    "The run installs what is missing from Debian's packages (nginx, libnginx-mod-stream, haproxy, iperf3, wrk, dnsperf, dnsmasq-base), builds the service if `apps/api/dist/main.js` is missing, and needs root for the install only. See `bench/README.md` for what each figure means and how to profile Strait.",
  );
  if (meta.notes.length) {
    out.push('');
    out.push('Notes from this run:');
    out.push('');
    for (const note of meta.notes) out.push(`- ${note}`);
  }
  out.push('');
  return out.join('\n');
}
