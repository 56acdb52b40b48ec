/**
 * `npm run bench`: every component benchmark, one after the other (they share two cores: never in
 * parallel), each printing its figures and writing bench/results/<name>.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const BENCHES = ['codec.bench.ts', 'collector.bench.ts', 'warehouse.bench.ts', 'warehouse-search.ts', 'realtime-store.bench.ts', 'alerts.bench.ts', 'dashboard.bench.ts', 'end-to-end.bench.ts'];
let failed = 0;
for (const file of BENCHES) {
  const path = join(import.meta.dirname, file);
  if (!existsSync(path)) continue;
  console.log(`\n=== ${file}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path], { stdio: 'inherit', timeout: 15 * 60_000 });
  if (r.status !== 0) {
    failed++;
    console.log(`${file} failed (exit ${r.status ?? r.signal})`);
  }
}
process.exit(failed ? 1 : 0);
