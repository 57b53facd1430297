#!/usr/bin/env node
// Summarises a V8 .cpuprofile (node --cpu-prof) without any network or extra package:
//   node bench/cpuprofile-top.mjs <file.cpuprofile> [--top N] [--window from,to] [--inclusive pat,...]
//                                 [--folded out.folded] [--svg out.svg] [--json]
// prints the top N functions by self time (with their share of the non-idle samples), the same
// time grouped by area (Strait code, Node internals, dependencies, GC, native), and optionally
// writes collapsed stacks ("a;b;c <microseconds>" per line, the input format of flamegraph.pl and
// speedscope) and a self-contained SVG flame graph (hover a frame for its name and time).
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/**
 * Self time (µs) per sampled node id, from samples + timeDeltas (hitCount as a fallback). With a
 * `window` ({startUs, endUs} after the profile's start), only samples taken inside it count.
 */
function selfTimes(profile, window) {
  const self = new Map();
  const { samples, timeDeltas } = profile;
  if (Array.isArray(samples) && Array.isArray(timeDeltas) && samples.length === timeDeltas.length) {
    // timeDeltas[i] is the time between sample i-1 and sample i; sample i owns the interval after it.
    let at = 0;
    for (let i = 0; i < samples.length; i++) {
      at += timeDeltas[i];
      if (window && (at < window.startUs || at > window.endUs)) continue;
      const delta = i + 1 < timeDeltas.length ? timeDeltas[i + 1] : 0;
      self.set(samples[i], (self.get(samples[i]) ?? 0) + Math.max(0, delta));
    }
  } else {
    const interval =
      (profile.endTime - profile.startTime) /
      Math.max(
        1,
        profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0),
      );
    for (const node of profile.nodes) self.set(node.id, (node.hitCount ?? 0) * interval);
  }
  return self;
}

function shortUrl(url) {
  if (!url) return '';
  return url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, 'node_modules/')
    .replace(/^.*\/(apps|libs)\//, '$1/');
}

function frameLabel(frame) {
  let name = frame.functionName || '(anonymous)';
  // Regular expressions are named by their whole source; keep the start.
  if (name.length > 60) name = `${name.slice(0, 57)}...`;
  const url = shortUrl(frame.url);
  return url ? `${name} ${url}:${frame.lineNumber + 1}` : name;
}

export function areaOf(frame) {
  const name = frame.functionName;
  const url = frame.url || '';
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)') return 'idle';
  if (name === '(program)') return 'native / V8 (program)';
  if (/\/(libs\/proxy)\//.test(url)) return 'Strait data plane (libs/proxy)';
  if (/\/apps\/api\//.test(url)) return 'Strait control plane (apps/api)';
  if (/node_modules\//.test(url)) return 'dependencies (node_modules)';
  if (url.startsWith('node:')) {
    if (
      /node:(net|internal\/stream_base_commons|internal\/net|_stream_|internal\/streams)/.test(url)
    )
      return 'Node net + streams';
    if (/node:(internal\/)?(dgram|udp)/.test(url)) return 'Node dgram';
    if (/node:(events|internal\/event_target)/.test(url)) return 'Node events';
    if (/timers/.test(url)) return 'Node timers';
    return 'Node other internals';
  }
  if (!url) return 'native (builtins, C++)';
  return 'other';
}

/** { totalUs, idleUs, top: [{label, area, selfUs, share}], areas: [{area, selfUs, share}] } */
export function summarize(profile, topN = 20, window) {
  const self = selfTimes(profile, window);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const perFunction = new Map();
  const perArea = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const area = areaOf(node.callFrame);
    if (area === 'idle') {
      idle += us;
      continue;
    }
    total += us;
    const label = frameLabel(node.callFrame);
    const entry = perFunction.get(label) ?? { label, area, selfUs: 0 };
    entry.selfUs += us;
    perFunction.set(label, entry);
    perArea.set(area, (perArea.get(area) ?? 0) + us);
  }
  const share = (us) => (total > 0 ? us / total : 0);
  const top = [...perFunction.values()]
    .sort((a, b) => b.selfUs - a.selfUs)
    .slice(0, topN)
    .map((entry) => ({ ...entry, share: share(entry.selfUs) }));
  const areas = [...perArea.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([area, us]) => ({ area, selfUs: us, share: share(us) }));
  return { totalUs: total, idleUs: idle, top, areas, window };
}

/** Collapsed stacks: one line per distinct stack, root first, with its self time in µs. */
export function foldedStacks(profile) {
  const self = selfTimes(profile);
  const parent = new Map();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const lines = new Map();
  for (const [id, us] of self) {
    if (us <= 0) continue;
    const stack = [];
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at).callFrame;
      if (frame.functionName === '(root)') continue;
      stack.push(frameLabel(frame).replace(/;/g, ','));
    }
    const key = stack.reverse().join(';');
    lines.set(key, (lines.get(key) ?? 0) + us);
  }
  return [...lines.entries()].map(([stack, us]) => `${stack} ${Math.round(us)}`).join('\n') + '\n';
}

/**
 * Inclusive time of the stacks that pass through a frame whose label contains `pattern`: what
 * removing that code path (and everything it calls) would save at most.
 */
export function inclusiveTime(profile, pattern, window) {
  const self = selfTimes(profile, window);
  const parent = new Map();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  let hit = 0;
  let total = 0;
  for (const [id, us] of self) {
    if (areaOf(byId.get(id).callFrame) === 'idle') continue;
    total += us;
    for (let at = id; at !== undefined; at = parent.get(at)) {
      if (frameLabel(byId.get(at).callFrame).includes(pattern)) {
        hit += us;
        break;
      }
    }
  }
  return { pattern, inclusiveUs: hit, share: total > 0 ? hit / total : 0 };
}

function escapeXml(text) {
  return text.replace(
    /[<>&"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c],
  );
}

const AREA_COLOURS = {
  'Strait data plane (libs/proxy)': '#e8743b',
  'Strait control plane (apps/api)': '#f2a65a',
  'Node net + streams': '#4a90d9',
  'Node dgram': '#4a90d9',
  'Node events': '#6fa8dc',
  'Node timers': '#6fa8dc',
  'Node other internals': '#9fc5e8',
  'dependencies (node_modules)': '#b4a7d6',
  GC: '#cc4125',
  'native / V8 (program)': '#999999',
  'native (builtins, C++)': '#b7b7b7',
  other: '#d9d9d9',
};

/** A flame graph (root at the bottom) of the non-idle samples, as one SVG document. */
export function flameGraphSvg(profile, title = 'CPU profile') {
  const self = selfTimes(profile);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  // Inclusive time per node, skipping idle.
  const total = new Map();
  const visit = (node) => {
    let sum = areaOf(node.callFrame) === 'idle' ? 0 : (self.get(node.id) ?? 0);
    for (const child of node.children ?? []) sum += visit(byId.get(child));
    total.set(node.id, sum);
    return sum;
  };
  const root = profile.nodes[0];
  const rootTotal = visit(root);
  const width = 1200;
  const rowHeight = 16;
  const rects = [];
  let maxDepth = 0;
  const layout = (node, depth, x) => {
    const w = (total.get(node.id) / rootTotal) * width;
    if (w < 0.3) return;
    maxDepth = Math.max(maxDepth, depth);
    const frame = node.callFrame;
    rects.push({
      x,
      depth,
      w,
      label: frame.functionName === '(root)' ? 'all' : frameLabel(frame),
      area: frame.functionName === '(root)' ? 'other' : areaOf(frame),
      us: total.get(node.id),
    });
    let childX = x;
    for (const child of node.children ?? []) {
      const childNode = byId.get(child);
      layout(childNode, depth + 1, childX);
      childX += (total.get(child) / rootTotal) * width;
    }
  };
  layout(root, 0, 0);
  const height = (maxDepth + 1) * rowHeight + 40;
  const body = rects.map((rect) => {
    const y = height - 10 - (rect.depth + 1) * rowHeight;
    const text =
      rect.w > 40
        ? `<text x="${(rect.x + 3).toFixed(1)}" y="${y + 12}" font-size="11" clip-path="inset(0)">${escapeXml(rect.label.slice(0, Math.floor(rect.w / 6.5)))}</text>`
        : '';
    return `<g><title>${escapeXml(rect.label)} — ${(rect.us / 1000).toFixed(1)} ms (${((100 * rect.us) / rootTotal).toFixed(1)}%) [${rect.area}]</title><rect x="${rect.x.toFixed(1)}" y="${y}" width="${rect.w.toFixed(1)}" height="${rowHeight - 1}" fill="${AREA_COLOURS[rect.area] ?? '#d9d9d9'}" rx="2"/>${text}</g>`;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="monospace">`,
    `<text x="4" y="16" font-size="13">${escapeXml(title)}: ${(rootTotal / 1e6).toFixed(2)} s on CPU (idle excluded)</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function main(argv) {
  const valued = new Set(['--top', '--folded', '--svg', '--window', '--inclusive']);
  const file = argv.find((arg, i) => !arg.startsWith('--') && !valued.has(argv[i - 1]));
  if (!file) {
    process.stderr.write(
      'usage: node bench/cpuprofile-top.mjs <file.cpuprofile> [--top N] [--folded out.folded] [--svg out.svg] [--window from,to (s)] [--inclusive pattern,...] [--json]\n',
    );
    process.exit(2);
  }
  const topIndex = argv.indexOf('--top');
  const topN = topIndex >= 0 ? Number(argv[topIndex + 1]) : 25;
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  // --window a,b: only the samples between a and b seconds after the profile started.
  const windowIndex = argv.indexOf('--window');
  let window;
  if (windowIndex >= 0) {
    const [a, b] = argv[windowIndex + 1].split(',').map(Number);
    window = { startUs: a * 1e6, endUs: b * 1e6 };
  }
  const summary = summarize(profile, topN, window);
  const foldedIndex = argv.indexOf('--folded');
  if (foldedIndex >= 0) writeFileSync(argv[foldedIndex + 1], foldedStacks(profile));
  const svgIndex = argv.indexOf('--svg');
  if (svgIndex >= 0) writeFileSync(argv[svgIndex + 1], flameGraphSvg(profile, file));
  if (argv.includes('--json')) {
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    return;
  }
  const ms = (us) => (us / 1000).toFixed(1).padStart(9);
  const pct = (x) => `${(100 * x).toFixed(1)}%`.padStart(6);
  process.stdout.write(
    `${file}: ${(summary.totalUs / 1e6).toFixed(2)} s on CPU, ${(summary.idleUs / 1e6).toFixed(2)} s idle\n\n`,
  );
  process.stdout.write(`top ${topN} functions by self time:\n   self ms  share  function (area)\n`);
  for (const entry of summary.top)
    process.stdout.write(
      `${ms(entry.selfUs)} ${pct(entry.share)}  ${entry.label}  [${entry.area}]\n`,
    );
  process.stdout.write('\nby area:\n');
  for (const area of summary.areas)
    process.stdout.write(`${ms(area.selfUs)} ${pct(area.share)}  ${area.area}\n`);
  // --inclusive a,b,c: time of the stacks through frames whose label contains each pattern.
  const inclusiveIndex = argv.indexOf('--inclusive');
  if (inclusiveIndex >= 0) {
    process.stdout.write('\ninclusive (stacks through a frame matching):\n');
    for (const pattern of argv[inclusiveIndex + 1].split(',')) {
      const entry = inclusiveTime(profile, pattern, window);
      process.stdout.write(`${ms(entry.inclusiveUs)} ${pct(entry.share)}  ${pattern}\n`);
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main(process.argv.slice(2));
