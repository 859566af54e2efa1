// Prints the score of each file from the incremental files of the last mutation runs
// (`npx tsx test/mutation/summary.ts [DIR]`, DIR by default `incremental/` beside it), and every mutant that was not killed, with its place and
// its replacement: the raw material of RESULTS.md. The score counts only killed mutants.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The part of a mutation-testing-report-schema report read here. */
interface Report {
  files: Record<string, { source: string; mutants: Mutant[] }>;
}
interface Mutant {
  status: string;
  mutatorName: string;
  replacement?: string;
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
}

const dir = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), 'incremental');
const rows: {
  file: string;
  valid: number;
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  score: string;
}[] = [];
const notKilled: string[] = [];
for (const name of readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()) {
  const report = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Report;
  for (const [file, { mutants, source }] of Object.entries(report.files)) {
    const count = (status: string) => mutants.filter((m) => m.status === status).length;
    const ignored = count('Ignored') + count('CompileError') + count('RuntimeError');
    const killed = count('Killed');
    const valid = mutants.length - ignored;
    rows.push({
      file,
      valid,
      killed,
      timeout: count('Timeout'),
      survived: count('Survived'),
      noCoverage: count('NoCoverage'),
      score: valid ? ((100 * killed) / valid).toFixed(1) : '-',
    });
    const lines = source.split('\n');
    for (const m of mutants.filter((x) => ['Survived', 'NoCoverage', 'Timeout'].includes(x.status))) {
      const { start, end } = m.location;
      // The mutated code itself (columns are 1-based), not its whole line: a line holds many mutants.
      const line = lines[start.line - 1] ?? '';
      const span =
        end.line === start.line
          ? line.slice(start.column - 1, end.column - 1)
          : `${line.slice(start.column - 1)} …`;
      notKilled.push(
        `${file}:${start.line}:${start.column} ${m.status} ${m.mutatorName}: \`${span.trim().replace(/\s+/g, ' ')}\` → \`${(m.replacement ?? '').replace(/\s+/g, ' ')}\`${end.line !== start.line ? ` (to line ${end.line})` : ''}`,
      );
    }
  }
}
const total = rows.reduce((t, r) => ({ valid: t.valid + r.valid, killed: t.killed + r.killed }), {
  valid: 0,
  killed: 0,
});
console.log('| file | mutants | killed | timeout | survived | no coverage | score (killed only) |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows)
  console.log(
    `| ${r.file} | ${r.valid} | ${r.killed} | ${r.timeout} | ${r.survived} | ${r.noCoverage} | ${r.score} % |`,
  );
console.log(
  `| all | ${total.valid} | ${total.killed} | | | | ${((100 * total.killed) / total.valid).toFixed(1)} % |`,
);
console.log('');
for (const line of notKilled) console.log(`- ${line}`);
