import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { silentLogger } from '../../core/log.js';
import { RegistryClass } from '../../core/telemetry/registry.js';
import { componentTelemetry } from '../events.js';
import { CheckpointStore } from './checkpoint-store.js';

function telemetry(now: () => number = Date.now) {
  const registry = new RegistryClass();
  return { registry, ...componentTelemetry(registry, silentLogger(), { kind: 'service', id: 'checkpoints', type: 'file_checkpoints' }, now) };
}

const entry = (offset: number) => ({ path: '/var/log/app.log', offset, seq: offset / 10, fingerprint: 'ab', fingerprint_bytes: 2 });

function offsets(file: string): Record<string, number> {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { files: Record<string, { offset: number }> };
  return Object.fromEntries(Object.entries(parsed.files).map(([id, cp]) => [id, cp.offset]));
}

describe('checkpoint store', () => {
  test('save replaces checkpoints.json at once; sync and close write checkpoints.synced.json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-cp-'));
    const store = await CheckpointStore.open(dir, telemetry());
    store.claim('1:2', 'src');
    store.set('1:2', entry(100));
    await store.save();
    expect(offsets(store.file)).toEqual({ '1:2': 100 });
    expect(existsSync(store.syncedFile)).toBe(false);
    await store.sync();
    expect(offsets(store.syncedFile)).toEqual({ '1:2': 100 });
    store.set('1:2', entry(200));
    await store.save();
    expect(offsets(store.file)).toEqual({ '1:2': 200 });
    expect(offsets(store.syncedFile)).toEqual({ '1:2': 100 });
    await store.close();
    expect(offsets(store.syncedFile)).toEqual({ '1:2': 200 });
    expect(readdirSync(dir).sort()).toEqual(['checkpoints.json', 'checkpoints.synced.json']);
  });

  test('open keeps, per file, the entry updated last of the two files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-cp-'));
    let clock = 1_000;
    const store = await CheckpointStore.open(dir, telemetry(() => clock));
    store.claim('a', 'src');
    store.claim('b', 'src');
    store.set('a', entry(10));
    store.set('b', entry(10));
    await store.sync();
    clock = 2_000;
    store.set('a', entry(20));
    await store.save();
    // checkpoints.json fell behind for b (say its write failed): the synced file's newer b counts.
    const main = JSON.parse(readFileSync(store.file, 'utf8')) as { files: Record<string, { offset: number; updated_ms: number }> };
    main.files.b = { ...main.files.b!, offset: 5, updated_ms: 500 };
    writeFileSync(store.file, JSON.stringify(main));
    const reopened = await CheckpointStore.open(dir, telemetry());
    expect(reopened.get('a')?.offset).toBe(20);
    expect(reopened.get('b')?.offset).toBe(10);
  });

  test('a torn checkpoints.json (a machine crash) is moved aside and the synced file is used', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-cp-'));
    const store = await CheckpointStore.open(dir, telemetry());
    store.claim('a', 'src');
    store.set('a', entry(30));
    await store.close();
    writeFileSync(store.file, '');
    const t = telemetry();
    const reopened = await CheckpointStore.open(dir, t);
    expect(reopened.get('a')?.offset).toBe(30);
    expect(readdirSync(dir).some((f) => f.startsWith('checkpoints.json.corrupt-'))).toBe(true);
    const errors = (await t.registry.getSingleMetric('pharos_component_errors_total')?.get())?.values ?? [];
    expect(errors.reduce((n, v) => n + v.value, 0)).toBe(1);
  });
});
