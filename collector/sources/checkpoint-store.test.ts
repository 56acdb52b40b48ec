import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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

  test('saves after the first overwrite the same file in place, padded to its length; a text over a page is replaced whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-cp-'));
    const store = await CheckpointStore.open(dir, telemetry());
    for (const id of ['a', 'b', 'c']) store.claim(id, 'src');
    store.set('a', { ...entry(1000), path: '/var/log/a-rather-long-file-name-for-this-test.log' });
    store.set('b', entry(10));
    await store.save();
    const inode = statSync(store.file).ino;
    const length = statSync(store.file).size;
    // Shorter text: the old bytes past its end must not survive as garbage.
    store.set('a', { ...entry(20), path: '/a' });
    await store.save();
    expect(statSync(store.file).ino).toBe(inode);
    expect(statSync(store.file).size).toBe(length);
    expect(offsets(store.file)).toEqual({ a: 20, b: 10 });
    // Longer, still under a page: in place, and the file grows.
    store.set('c', entry(30));
    await store.save();
    expect(statSync(store.file).ino).toBe(inode);
    expect(offsets(store.file)).toEqual({ a: 20, b: 10, c: 30 });
    const reopened = await CheckpointStore.open(dir, telemetry());
    expect(reopened.get('a')?.offset).toBe(20);
    // Over a page: a new file through a rename (a kill could cut a multi-page write short).
    store.set('c', { ...entry(40), path: `/var/log/${'x'.repeat(5000)}` });
    await store.save();
    expect(statSync(store.file).ino).not.toBe(inode);
    expect(offsets(store.file)).toEqual({ a: 20, b: 10, c: 40 });
    await store.close();
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
