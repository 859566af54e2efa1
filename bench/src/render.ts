/** `node --import tsx bench/src/render.ts full`: rewrites bench/results/<mode>.md and .svg from its JSON. */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chartSvg } from './chart.js';
import { markdown, type BenchResults } from './report.js';

const mode = process.argv[2] ?? 'full';
const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');
const results = JSON.parse(readFileSync(join(dir, `${mode}.json`), 'utf8')) as BenchResults;
// Results written before the proxies were sampled have no samples.
for (const record of results.updown) record.proxySamples ??= [];
writeFileSync(join(dir, `${mode}.md`), markdown(results));
writeFileSync(join(dir, `${mode}.svg`), chartSvg(results));
