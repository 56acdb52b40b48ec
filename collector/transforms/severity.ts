/**
 * Severity normalised to the OpenTelemetry number and short name, whatever the source spelled:
 * level words and their aliases, pino's numeric levels, syslog's 0-7. The mapping of syslog
 * names follows the OpenTelemetry logs data model's appendix (notice is INFO2; critical, alert
 * and emergency are FATAL), so a query for `severity_number >= 17` finds every error-or-worse.
 */
import { SeverityNumber } from '../../core/model/records.js';

export interface Severity {
  readonly number: number;
  readonly text: string;
}

const sev = (number: number, text: string): Severity => Object.freeze({ number, text });
const TRACE = sev(SeverityNumber.TRACE, 'TRACE');
const DEBUG = sev(SeverityNumber.DEBUG, 'DEBUG');
const INFO = sev(SeverityNumber.INFO, 'INFO');
const INFO2 = sev(SeverityNumber.INFO + 1, 'INFO2');
const WARN = sev(SeverityNumber.WARN, 'WARN');
const ERROR = sev(SeverityNumber.ERROR, 'ERROR');
const FATAL = sev(SeverityNumber.FATAL, 'FATAL');
export const UNSPECIFIED: Severity = sev(SeverityNumber.UNSPECIFIED, '');

const BY_WORD: ReadonlyMap<string, Severity> = new Map([
  ['trace', TRACE],
  ['debug', DEBUG],
  ['dbug', DEBUG],
  ['info', INFO],
  ['information', INFO],
  ['informational', INFO],
  ['notice', INFO2],
  ['warn', WARN],
  ['warning', WARN],
  ['error', ERROR],
  ['err', ERROR],
  ['eror', ERROR],
  ['fatal', FATAL],
  ['crit', FATAL],
  ['critical', FATAL],
  ['alert', FATAL],
  ['emerg', FATAL],
  ['emergency', FATAL],
  ['panic', FATAL],
]);

/** pino / bunyan levels. */
const BY_PINO: ReadonlyMap<number, Severity> = new Map([
  [10, TRACE],
  [20, DEBUG],
  [30, INFO],
  [40, WARN],
  [50, ERROR],
  [60, FATAL],
]);

/** RFC 5424 severities: emergency, alert, critical, error, warning, notice, informational, debug. */
const BY_SYSLOG: readonly Severity[] = [FATAL, FATAL, FATAL, ERROR, WARN, INFO2, INFO, DEBUG];

/**
 * A level field's value as severity. Numbers 0-7 read as syslog and 10-60 (steps of 10) as pino,
 * the two numeric conventions seen in the wild; anything else is unrecognised (undefined) and
 * the caller keeps the raw text.
 */
export function normalizeSeverity(value: unknown): Severity | undefined {
  if (typeof value === 'number') return numeric(value);
  if (typeof value !== 'string') return undefined;
  const word = value.trim();
  if (word.length === 0 || word.length > 16) return undefined;
  const known = BY_WORD.get(word.toLowerCase());
  if (known) return known;
  return /^\d+$/.test(word) ? numeric(Number(word)) : undefined;
}

function numeric(n: number): Severity | undefined {
  if (Number.isInteger(n) && n >= 0 && n <= 7) return BY_SYSLOG[n];
  return BY_PINO.get(n);
}

// --- heuristic for unstructured lines ------------------------------------------------------------

/** Only the head of a line: levels sit near the start, and prose further on says "error" freely. */
export const SCAN_CHARS = 200;
/** Upper-case level words found anywhere in the head (`2026-… ERROR …`, `[WARN]`), as whole words. */
export const UPPER_LEVEL_WORDS = ['TRACE', 'DEBUG', 'INFO', 'NOTICE', 'WARN', 'WARNING', 'ERROR', 'ERR', 'FATAL', 'CRITICAL'] as const;
/** The severity each upper-case level word stands for. */
export const BY_UPPER_WORD: ReadonlyMap<string, Severity> = new Map(UPPER_LEVEL_WORDS.map((w) => [w, BY_WORD.get(w.toLowerCase())!]));
const UPPER_WORD = new RegExp(`\\b(${UPPER_LEVEL_WORDS.join('|')})\\b`);
// Any case, but only where a level is spelled out: `level=info`, `"level":"warn"`, `[error]`,
// `<debug>`; or pino's numeric level (`"level":30`). One expression, so the head is scanned once
// for both (group 1: a word, group 2: a number).
const MARKED_OR_PINO = /(?:\blevel["']?\s*[:=]\s*["']?|\[|<)(trace|debug|info|notice|warn|warning|error|err|fatal|crit|critical|alert|emerg)\b|"level":\s*(10|20|30|40|50|60)\b/i;

/** Where a head holds this (any case), '[' or '<', the marked expression runs. */
export const LEVEL_ANCHOR = 'level';
const LEVEL_ANY_CASE = new RegExp(LEVEL_ANCHOR, 'i');

/** The first level keyword in the line's head, as OpenTelemetry severity; unspecified when none. */
export function detectSeverity(line: string): Severity {
  const head = line.length > SCAN_CHARS ? line.slice(0, SCAN_CHARS) : line;
  const upper = UPPER_WORD.exec(head);
  const upperSeverity = upper?.[1] === undefined ? undefined : BY_WORD.get(upper[1].toLowerCase());
  // Most heads hold none of its anchors; three quick searches spare the scan (1.6 ns a char).
  const marked = head.includes('[') || head.includes('<') || LEVEL_ANY_CASE.test(head) ? MARKED_OR_PINO.exec(head) : null;
  const markedSeverity = marked === null ? undefined : marked[1] !== undefined ? BY_WORD.get(marked[1].toLowerCase()) : BY_PINO.get(Number(marked[2]));
  // The first in the head wins.
  if (upperSeverity !== undefined && (markedSeverity === undefined || upper!.index < marked!.index)) return upperSeverity;
  return markedSeverity ?? UNSPECIFIED;
}
