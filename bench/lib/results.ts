import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes a benchmark's machine-readable figures to bench/results/<name>.json. */
export function writeResults(name: string, data: unknown): string {
  const dir = join(import.meta.dirname, '..', 'results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({ bench: name, at: new Date().toISOString(), ...(data as object) }, null, 2) + '\n');
  return path;
}
