import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { MetricSample } from '../../core/model/records.js';
import { collectHostMetrics, realMounts } from './host-metrics.js';

function fixture(): string {
  const proc = mkdtempSync(join(tmpdir(), 'pharos-proc-'));
  mkdirSync(join(proc, 'net'));
  writeFileSync(join(proc, 'stat'), 'cpu  300 0 100 1000 0 0 0 0 0 0\ncpu0 150 0 50 500 10 0 2 0 0 0\ncpu1 150 0 50 500 0 0 0 0 0 0\nctxt 12345\nbtime 1795459518\nprocesses 48825\nprocs_running 2\nprocs_blocked 1\n');
  writeFileSync(join(proc, 'meminfo'), 'MemTotal:       24000000 kB\nMemFree:         1000000 kB\nMemAvailable:   12000000 kB\nSwapTotal:             0 kB\nHugePages_Total:       0\n');
  writeFileSync(join(proc, 'loadavg'), '3.06 2.59 2.83 1/256 16359\n');
  writeFileSync(join(proc, 'uptime'), '2601.50 4000.00\n');
  writeFileSync(join(proc, 'diskstats'), '   7       0 loop0 9 0 9 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n 253       0 vda 100 0 2048 50 200 0 4096 70 0 1500 120 0 0 0 0 0 0\n 253       1 vda1 100 0 2048 50 200 0 4096 70 0 1500 120 0 0 0 0 0 0\n');
  writeFileSync(
    join(proc, 'net', 'dev'),
    'Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls carrier compressed\n    lo: 1000 10 0 0 0 0 0 0 2000 20 1 0 0 0 0 0\n  eth0: 5000 50 2 1 0 0 0 0 6000 60 0 3 0 0 0 0\n',
  );
  writeFileSync(join(proc, 'mounts'), `proc /proc proc rw 0 0\n/dev/vda / ext4 rw 0 0\n/dev/vda /bind ext4 rw 0 0\ntmpfs /run tmpfs rw 0 0\n`);
  mkdirSync(join(proc, '1'));
  mkdirSync(join(proc, '42'));
  return proc;
}

function value(samples: MetricSample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

describe('collectHostMetrics', () => {
  test('reads CPU, memory, load, disk, network and processes under node_exporter names', async () => {
    const samples = await collectHostMetrics({ procRoot: fixture(), labels: { job: 'node', instance: 'h1' } }, 1_700_000_000_000);
    expect(value(samples, 'node_cpu_seconds_total', { cpu: '0', mode: 'user' })).toBe(1.5);
    expect(value(samples, 'node_cpu_seconds_total', { cpu: '0', mode: 'iowait' })).toBe(0.1);
    expect(samples.filter((s) => s.name === 'node_cpu_seconds_total')).toHaveLength(16);
    expect(value(samples, 'node_memory_MemAvailable_bytes')).toBe(12_000_000 * 1024);
    expect(value(samples, 'node_memory_HugePages_Total_bytes')).toBeUndefined();
    expect(value(samples, 'node_load5')).toBe(2.59);
    expect(value(samples, 'node_boot_time_seconds')).toBe(1795459518);
    expect(value(samples, 'node_uptime_seconds')).toBe(2601.5);
    expect(value(samples, 'node_procs_blocked')).toBe(1);
    expect(value(samples, 'node_processes')).toBe(2);
    // Whole disks only: loops and partitions would double-count.
    expect(value(samples, 'node_disk_read_bytes_total', { device: 'vda' })).toBe(2048 * 512);
    expect(value(samples, 'node_disk_written_bytes_total', { device: 'vda' })).toBe(4096 * 512);
    expect(value(samples, 'node_disk_io_time_seconds_total', { device: 'vda' })).toBe(1.5);
    expect(samples.some((s) => s.labels.device === 'loop0' || s.labels.device === 'vda1')).toBe(false);
    expect(value(samples, 'node_network_receive_errs_total', { device: 'eth0' })).toBe(2);
    expect(value(samples, 'node_network_transmit_drop_total', { device: 'eth0' })).toBe(3);
    expect(value(samples, 'node_network_transmit_bytes_total', { device: 'lo' })).toBe(2000);
    for (const s of samples) {
      expect(s.labels).toMatchObject({ job: 'node', instance: 'h1' });
      expect(s.timestampMs).toBe(1_700_000_000_000);
      expect(s.type).toBe(s.name.endsWith('_total') ? 'counter' : 'gauge');
    }
  });

  test('reports the real filesystems of this machine with sizes from statfs', async () => {
    const samples = await collectHostMetrics({ labels: {} }, Date.now());
    const root = samples.find((s) => s.name === 'node_filesystem_size_bytes' && s.labels.mountpoint === '/');
    expect(root?.value).toBeGreaterThan(0);
    const avail = value(samples, 'node_filesystem_avail_bytes', { mountpoint: '/' })!;
    expect(avail).toBeLessThanOrEqual(root!.value);
  });

  test('a missing /proc file yields no samples for its group, not an error', async () => {
    const samples = await collectHostMetrics({ procRoot: join(tmpdir(), 'no-such-proc-dir'), labels: {} }, 1);
    expect(samples.map((s) => s.name)).toEqual(['node_time_seconds']);
  });

  test('lists each real device once and decodes escaped mount points', () => {
    expect(realMounts('/dev/sda1 /mnt/my\\040disk ext4 rw 0 0\n/dev/sda1 /again ext4 rw 0 0\nsysfs /sys sysfs rw 0 0\n')).toEqual([
      { device: '/dev/sda1', mountpoint: '/mnt/my disk', fstype: 'ext4' },
    ]);
  });
});
