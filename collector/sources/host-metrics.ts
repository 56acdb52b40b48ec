/**
 * Host metrics from /proc and statfs, named as the Prometheus node_exporter names them
 * (`node_cpu_seconds_total`, `node_filesystem_avail_bytes`, …) so the ecosystem's rules and
 * dashboards read them unchanged. One `collect()` reads every file once; a file that is missing
 * (another kernel, a container) just yields no samples for that group.
 */
import { readFile, readdir, statfs } from 'node:fs/promises';
import type { MetricSample, MetricType } from '../../core/model/records.js';

/** USER_HZ: /proc/stat counts CPU time in ticks of 1/100 s on every Linux architecture Node runs on. */
const TICKS_PER_SECOND = 100;
const CPU_MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;
/** Pseudo and in-memory filesystems: their "disk space" means nothing for disk-filling alerts. */
const IGNORED_FS = new Set(['proc', 'sysfs', 'cgroup', 'cgroup2', 'devpts', 'mqueue', 'tmpfs', 'devtmpfs', 'overlay', 'nsfs', 'securityfs', 'debugfs', 'tracefs', 'pstore', 'bpf', 'autofs', 'configfs', 'fusectl', 'hugetlbfs', 'binfmt_misc', 'ramfs', 'squashfs', 'rpc_pipefs', 'efivarfs']);
/** Partitions and virtual devices double-count the whole disks' I/O. */
const IGNORED_DISK = /^(loop|ram|fd|sr|dm-|zram|nbd)\d*|^(sd[a-z]+|vd[a-z]+|xvd[a-z]+|hd[a-z]+)\d+$|^nvme\d+n\d+p\d+$/;
const MEMINFO_KEYS = ['MemTotal', 'MemFree', 'MemAvailable', 'Buffers', 'Cached', 'SwapTotal', 'SwapFree', 'Dirty', 'Shmem', 'Slab'];

export interface HostMetricsOptions {
  /** Root of the proc filesystem (tests point it at a fixture). */
  procRoot?: string;
  labels: Record<string, string>;
}

export async function collectHostMetrics(opts: HostMetricsOptions, nowMs: number): Promise<MetricSample[]> {
  const proc = opts.procRoot ?? '/proc';
  const out: MetricSample[] = [];
  const add = (name: string, type: MetricType, value: number, labels: Record<string, string> = {}) => {
    if (Number.isFinite(value)) out.push({ name, labels: { ...opts.labels, ...labels }, timestampMs: nowMs, value, type });
  };
  await Promise.all([
    read(`${proc}/stat`).then((text) => text && parseStat(text, add)),
    read(`${proc}/meminfo`).then((text) => text && parseMeminfo(text, add)),
    read(`${proc}/loadavg`).then((text) => text && parseLoadavg(text, add)),
    read(`${proc}/uptime`).then((text) => {
      const up = Number(text?.split(/\s+/)[0]);
      if (text) add('node_uptime_seconds', 'gauge', up);
    }),
    read(`${proc}/diskstats`).then((text) => text && parseDiskstats(text, add)),
    read(`${proc}/net/dev`).then((text) => text && parseNetDev(text, add)),
    read(`${proc}/mounts`).then((text) => (text ? collectFilesystems(text, add) : undefined)),
    countProcesses(proc).then((n) => n !== null && add('node_processes', 'gauge', n)),
  ]);
  add('node_time_seconds', 'gauge', nowMs / 1000);
  return out;
}

type Add = (name: string, type: MetricType, value: number, labels?: Record<string, string>) => void;

async function read(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

export function parseStat(text: string, add: Add): void {
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const key = f[0];
    if (key && /^cpu\d+$/.test(key)) {
      CPU_MODES.forEach((mode, i) => add('node_cpu_seconds_total', 'counter', Number(f[i + 1]) / TICKS_PER_SECOND, { cpu: key.slice(3), mode }));
    } else if (key === 'btime') add('node_boot_time_seconds', 'gauge', Number(f[1]));
    else if (key === 'ctxt') add('node_context_switches_total', 'counter', Number(f[1]));
    else if (key === 'processes') add('node_forks_total', 'counter', Number(f[1]));
    else if (key === 'procs_running') add('node_procs_running', 'gauge', Number(f[1]));
    else if (key === 'procs_blocked') add('node_procs_blocked', 'gauge', Number(f[1]));
  }
}

export function parseMeminfo(text: string, add: Add): void {
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+)(?:\s+kB)?$/.exec(line.trim());
    if (m && MEMINFO_KEYS.includes(m[1]!)) add(`node_memory_${m[1]}_bytes`, 'gauge', Number(m[2]) * (line.includes('kB') ? 1024 : 1));
  }
}

export function parseLoadavg(text: string, add: Add): void {
  const f = text.trim().split(/\s+/);
  add('node_load1', 'gauge', Number(f[0]));
  add('node_load5', 'gauge', Number(f[1]));
  add('node_load15', 'gauge', Number(f[2]));
}

export function parseDiskstats(text: string, add: Add): void {
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const device = f[2];
    if (!device || f.length < 14 || IGNORED_DISK.test(device)) continue;
    const labels = { device };
    // Sectors are 512 bytes in /proc/diskstats whatever the device's real sector size.
    add('node_disk_reads_completed_total', 'counter', Number(f[3]), labels);
    add('node_disk_read_bytes_total', 'counter', Number(f[5]) * 512, labels);
    add('node_disk_writes_completed_total', 'counter', Number(f[7]), labels);
    add('node_disk_written_bytes_total', 'counter', Number(f[9]) * 512, labels);
    add('node_disk_io_time_seconds_total', 'counter', Number(f[12]) / 1000, labels);
  }
}

export function parseNetDev(text: string, add: Add): void {
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const device = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (f.length < 16) continue;
    const labels = { device };
    add('node_network_receive_bytes_total', 'counter', f[0]!, labels);
    add('node_network_receive_packets_total', 'counter', f[1]!, labels);
    add('node_network_receive_errs_total', 'counter', f[2]!, labels);
    add('node_network_receive_drop_total', 'counter', f[3]!, labels);
    add('node_network_transmit_bytes_total', 'counter', f[8]!, labels);
    add('node_network_transmit_packets_total', 'counter', f[9]!, labels);
    add('node_network_transmit_errs_total', 'counter', f[10]!, labels);
    add('node_network_transmit_drop_total', 'counter', f[11]!, labels);
  }
}

/** Real filesystems from /proc/mounts, once per device (bind mounts repeat a device). */
export function realMounts(text: string): Array<{ device: string; mountpoint: string; fstype: string }> {
  const seen = new Set<string>();
  const mounts: Array<{ device: string; mountpoint: string; fstype: string }> = [];
  for (const line of text.split('\n')) {
    const [device, mountpoint, fstype] = line.split(' ');
    if (!device || !mountpoint || !fstype || IGNORED_FS.has(fstype) || !device.startsWith('/') || seen.has(device)) continue;
    seen.add(device);
    // /proc/mounts escapes spaces and other bytes as octal (\040).
    mounts.push({ device, mountpoint: mountpoint.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))), fstype });
  }
  return mounts;
}

async function collectFilesystems(text: string, add: Add): Promise<void> {
  await Promise.all(
    realMounts(text).map(async (m) => {
      try {
        const s = await statfs(m.mountpoint);
        const labels = { device: m.device, mountpoint: m.mountpoint, fstype: m.fstype };
        add('node_filesystem_size_bytes', 'gauge', s.blocks * s.bsize, labels);
        add('node_filesystem_free_bytes', 'gauge', s.bfree * s.bsize, labels);
        add('node_filesystem_avail_bytes', 'gauge', s.bavail * s.bsize, labels);
        add('node_filesystem_files', 'gauge', s.files, labels);
        add('node_filesystem_files_free', 'gauge', s.ffree, labels);
      } catch {
        // A mount we may not stat (permissions, a stale NFS handle) is skipped, not fatal.
      }
    }),
  );
}

async function countProcesses(proc: string): Promise<number | null> {
  try {
    return (await readdir(proc)).filter((n) => /^\d+$/.test(n)).length;
  } catch {
    return null;
  }
}
