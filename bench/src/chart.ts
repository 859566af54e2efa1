/**
 * The results as an SVG chart, written by hand (no plotting dependency): one panel per scenario
 * and phase (up, down), the median wall time against N for each variant, N on equally spaced
 * ticks (the sizes are few and far apart), time on a linear axis from zero.
 */
import { summarize } from './stats.js';
import type { BenchResults } from './report.js';

const PANEL_W = 360;
const PANEL_H = 230;
const MARGIN = { left: 56, right: 24, top: 28, bottom: 36 };
const COLORS = ['#1b6ac9', '#d1452f', '#2e9e4f', '#8a4fc7', '#c98a1b', '#1ba3a3', '#666666', '#b8337a'];

const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A round step for about five ticks up to `max`. */
function tickStep(max: number): number {
  const raw = max / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw;
}

export function chartSvg(results: BenchResults): string {
  const scenarios = (['running', 'ready'] as const).filter((s) =>
    results.updown.some((r) => r.scenario === s),
  );
  const variants = [...new Set(results.updown.map((r) => r.variant))];
  const color = new Map(variants.map((v, i) => [v, COLORS[i % COLORS.length]!]));
  const panels: string[] = [];
  const width = 2 * PANEL_W;
  const legendH = 24;
  const height = scenarios.length * PANEL_H + legendH + 8;
  scenarios.forEach((scenario, row) => {
    (['up', 'down'] as const).forEach((phase, col) => {
      const records = results.updown.filter((r) => r.scenario === scenario && r[phase].length > 0);
      const ns = [...new Set(records.map((r) => r.n))].sort((a, b) => a - b);
      const ox = col * PANEL_W;
      const oy = legendH + row * PANEL_H;
      const plotW = PANEL_W - MARGIN.left - MARGIN.right;
      const plotH = PANEL_H - MARGIN.top - MARGIN.bottom;
      const median = (values: number[]): number => summarize(values).median;
      const max = Math.max(1, ...records.map((r) => median(r[phase].map((s) => s.wallMs))));
      const step = tickStep(max);
      const top = Math.ceil(max / step) * step;
      const x = (n: number): number =>
        ox + MARGIN.left + (ns.length === 1 ? plotW / 2 : (ns.indexOf(n) / (ns.length - 1)) * plotW);
      const y = (v: number): number => oy + MARGIN.top + plotH - (v / top) * plotH;
      const out: string[] = [];
      out.push(
        `<text x="${ox + MARGIN.left}" y="${oy + 18}" font-weight="bold">${escape(
          `${phase === 'up' ? 'Up' : 'Down'}, ${scenario === 'running' ? 'until running' : 'until healthy'} (median ms)`,
        )}</text>`,
      );
      for (let v = 0; v <= top + step / 2; v += step) {
        out.push(
          `<line x1="${ox + MARGIN.left}" x2="${ox + MARGIN.left + plotW}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e4e4e4"/>`,
          `<text x="${ox + MARGIN.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v >= 1000 ? `${v / 1000}k` : v}</text>`,
        );
      }
      for (const n of ns) {
        out.push(
          `<text x="${x(n).toFixed(1)}" y="${oy + MARGIN.top + plotH + 16}" text-anchor="middle">${n}</text>`,
        );
      }
      out.push(
        `<text x="${ox + MARGIN.left + plotW / 2}" y="${oy + PANEL_H - 4}" text-anchor="middle">N services</text>`,
      );
      for (const variant of variants) {
        const points = ns.flatMap((n) => {
          const r = records.find((rec) => rec.variant === variant && rec.n === n);
          return r ? [[x(n), y(median(r[phase].map((s) => s.wallMs)))] as const] : [];
        });
        if (points.length === 0) continue;
        const stroke = color.get(variant)!;
        const dash = variant.startsWith('floor') ? ' stroke-dasharray="5 3"' : '';
        out.push(
          `<polyline fill="none" stroke="${stroke}" stroke-width="2"${dash} points="${points
            .map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`)
            .join(' ')}"/>`,
          ...points.map(
            ([px, py]) => `<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="3" fill="${stroke}"/>`,
          ),
        );
      }
      panels.push(out.join('\n'));
    });
  });
  // Each entry as wide as its name (about 6.5 px a character at this font size).
  const legendX = variants.map((_, i) => variants.slice(0, i).reduce((x0, v) => x0 + 34 + 6.5 * v.length, 8));
  const legend = variants
    .map((v, i) => {
      const lx = legendX[i]!;
      const dash = v.startsWith('floor') ? ' stroke-dasharray="5 3"' : '';
      return (
        `<line x1="${lx}" x2="${lx + 22}" y1="12" y2="12" stroke="${color.get(v)}" stroke-width="2"${dash}/>` +
        `<text x="${lx + 26}" y="16">${escape(v)}</text>`
      );
    })
    .join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${escape(`docker-services benchmark (${results.meta.mode}, ${results.meta.date})`)}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    legend,
    ...panels,
    '</svg>',
    '',
  ].join('\n');
}
