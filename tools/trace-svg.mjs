#!/usr/bin/env node
// Draws a --trace FILE (Chrome trace-event JSON) as an SVG timeline, the picture in
// docs/performance.md: a band per process (diyc-run's host steps, the container's child
// steps), a row per nesting depth, each slice labelled with its name and duration.
//
//   node tools/trace-svg.mjs TRACE.json OUT.svg
import { readFileSync, writeFileSync } from 'node:fs';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node tools/trace-svg.mjs TRACE.json OUT.svg');
  process.exit(2);
}
const { traceEvents } = JSON.parse(readFileSync(input, 'utf8'));
const slices = traceEvents.filter((e) => e.ph === 'X');
const names = new Map(traceEvents.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => [e.pid, e.args.name]));
const start = Math.min(...slices.map((e) => e.ts));
const end = Math.max(...slices.map((e) => e.ts + e.dur));

const width = 960,
  left = 170,
  row = 22,
  band = 12;
const x = (ts) => left + ((ts - start) / (end - start)) * (width - left - 10);
const escapeXml = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const palette = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#9c755f'];

// Rows: within a process, a slice goes one row below the slice it lies inside.
const parts = [];
let y = 30;
for (const pid of [...new Set(slices.map((e) => e.pid))]) {
  const own = slices.filter((e) => e.pid === pid).sort((a, b) => a.ts - b.ts || b.dur - a.dur);
  const open = [];
  let depth = 0;
  for (const e of own) {
    while (open.length && open.at(-1).ts + open.at(-1).dur <= e.ts) open.pop();
    e.depth = open.length;
    depth = Math.max(depth, e.depth);
    open.push(e);
  }
  parts.push(`<text x="4" y="${y + 15}" class="track">${escapeXml(names.get(pid) ?? `pid ${pid}`)}</text>`);
  own.forEach((e, i) => {
    const sx = x(e.ts),
      w = Math.max(1, x(e.ts + e.dur) - sx),
      sy = y + e.depth * row;
    const label = `${e.name} ${(e.dur / 1000).toFixed(1)} ms`;
    parts.push(
      `<g><title>${escapeXml(label)}</title><rect x="${sx.toFixed(1)}" y="${sy}" width="${w.toFixed(1)}" height="${row - 3}" fill="${palette[i % palette.length]}"/>` +
        (w > label.length * 6 ? `<text x="${(sx + 3).toFixed(1)}" y="${sy + 14}" class="slice">${escapeXml(label)}</text>` : '') +
        '</g>',
    );
  });
  y += (depth + 1) * row + band;
}
const total = `${((end - start) / 1000).toFixed(1)} ms`;
writeFileSync(
  output,
  `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 10}" font-family="sans-serif">
<style>.track{font-size:12px;font-weight:bold}.slice{font-size:11px;fill:#fff}.axis{font-size:11px;fill:#555}</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="${left}" y="18" class="axis">0 ms</text><text x="${width - 10}" y="18" class="axis" text-anchor="end">${total}</text>
${parts.join('\n')}
</svg>
`,
);
