/**
 * What `pharos all` tails with no configuration (Pharos monitors itself with itself): its own
 * log file from the beginning, and the host's text logs under /var/log from their end.
 *
 * The /var/log list is fixed at start and holds only files readable now, so an agent running
 * unprivileged does not log permission errors for ever; rotation at those paths is still
 * followed. Compressed and numbered rotations and binary accounting files are left out.
 */
import { accessSync, closeSync, constants, openSync, readdirSync, readSync, statSync, type Dirent } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FileInputConfig, PharosConfig } from '../core/config/schema.js';

const SYSTEM_LOG_DIR = '/var/log';
const TEXT_NAMES = /^(syslog|messages)$|\.log$/;
/** Names that are never text logs, also applied by the source to whatever the paths later hold. */
const EXCLUDE = ['*.gz', '*.xz', '*.bz2', '*.zst', '*.zip', '*.[0-9]', '*.[0-9].log', 'wtmp', 'btmp', 'lastlog', 'faillog', '**/journal/**'];
const NOT_TEXT = /\.(gz|xz|bz2|zst|zip|\d+)$|\.\d+\.log$|^(wtmp|btmp|lastlog|faillog)$/;
const SNIFF_BYTES = 4096;
const MAX_LINE_BYTES = 256 * 1024;

export function defaultSelfInputs(config: PharosConfig, ownLogFile?: string, logDir = SYSTEM_LOG_DIR): FileInputConfig[] {
  const inputs: FileInputConfig[] = [];
  const own = ownLogFile === undefined ? undefined : resolve(ownLogFile);
  if (own !== undefined) {
    // pino JSON: msg, numeric level and epoch-ms time become body, severity and event time; the rest attributes.
    inputs.push({ include: [own], exclude: [], service: 'pharos', start_at: 'beginning', max_line_bytes: MAX_LINE_BYTES, parser: 'json', time_format: 'rfc3339' });
  }
  const system = systemLogFiles(logDir).filter((p) => p !== own && !config.collector.files.some((f) => f.include.includes(p)));
  if (system.length > 0) {
    inputs.push({ include: system, exclude: EXCLUDE, service: 'system', start_at: 'end', max_line_bytes: MAX_LINE_BYTES, parser: 'plain', time_format: 'rfc3339' });
  }
  return inputs;
}

/** Readable text logs directly under `dir` and one level below (nginx/, apt/, …), sorted. */
function systemLogFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of list(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name === 'journal') continue;
      for (const sub of list(path)) {
        if (!sub.isDirectory() && sub.name.endsWith('.log') && isReadableText(join(path, sub.name), sub.name)) out.push(join(path, sub.name));
      }
    } else if (TEXT_NAMES.test(e.name) && isReadableText(path, e.name)) {
      out.push(path);
    }
  }
  return out.sort();
}

function list(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function isReadableText(path: string, name: string): boolean {
  if (NOT_TEXT.test(name)) return false;
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.R_OK);
    // A NUL byte in the head: a binary file with a log-like name (lastlog-style databases, journals).
    const fd = openSync(path, 'r');
    try {
      const head = Buffer.alloc(SNIFF_BYTES);
      const n = readSync(fd, head, 0, SNIFF_BYTES, 0);
      return !head.subarray(0, n).includes(0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}
