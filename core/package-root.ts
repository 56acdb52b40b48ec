/**
 * The root of this Pharos installation (the folder with its package.json), found from this file
 * whether it runs from source (`core/`) or compiled (`dist/core/`): files that tsc does not copy
 * (default rule files, the built web app) are read from there.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'pharos') return (cached = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the Pharos package root from ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}
