/**
 * Chooses and runs the parser of a file input (`parser: plain | json | logfmt | regex`) and maps
 * what it found onto the record: the message field becomes the body, the time field the event
 * time (in `time_format`), the level field the OpenTelemetry severity, every other field an
 * attribute. A line the parser cannot read is never dropped: it is kept whole as a plain record
 * tagged `log.parse_error` and counted.
 */
import type { FileInputConfig } from '../../core/config/schema.js';
import type { Attributes } from '../../core/model/records.js';
import { flattenInto } from './attributes.js';
import type { ParseEvents } from './events.js';
import { parseJson, rawNumberField } from './parse-json.js';
import { parseLogfmt } from './parse-logfmt.js';
import { parsePlain } from './parse-plain.js';
import { compileRegexParser } from './parse-regex.js';
import { normalizeSeverity, UNSPECIFIED, type Severity } from './severity.js';
import { compileTimeFormat, type TimeParser } from './time-format.js';

export type ParserName = FileInputConfig['parser'];

/** The record fields a line yields; attributes are written into the caller's object. */
export interface ParsedLine {
  body: string;
  /** 0n when the line carries no time the parser could read (the observed time stands in). */
  timeUnixNano: bigint;
  severity: Severity;
}

export type FieldsResult = { ok: true; fields: Record<string, unknown> } | { ok: false; reason: string };

export interface LineParser {
  readonly name: ParserName;
  /** Never throws on any input. */
  parse(line: string, attributes: Attributes): ParsedLine;
}

export const PARSE_ERROR_ATTRIBUTE = 'log.parse_error';

/** Tried in order when the input names no key: what common loggers write (pino, bunyan, zap, logrus, Docker, ECS). */
export const DEFAULT_KEYS = {
  json: {
    message: ['msg', 'message', 'log', 'body'],
    time: ['time', 'timestamp', 'ts', '@timestamp'],
    level: ['level', 'severity', 'lvl'],
  },
  regex: { message: ['message'], time: ['time'], level: ['level'] },
} as const;

type ParserOptions = Pick<FileInputConfig, 'parser' | 'pattern' | 'message_key' | 'time_key' | 'level_key' | 'time_format'>;

export function createLineParser(input: ParserOptions, events: ParseEvents, now: () => number = Date.now): LineParser {
  switch (input.parser) {
    case 'plain':
      return { name: 'plain', parse: (line) => parsePlain(line) };
    case 'json':
      return structured('json', parseJson, input, DEFAULT_KEYS.json, events, now);
    case 'logfmt':
      return structured('logfmt', parseLogfmt, input, DEFAULT_KEYS.json, events, now);
    case 'regex': {
      // The schema refuses a regex input without a pattern; this guards callers that skip it.
      if (input.pattern === undefined) throw new Error('parser regex needs a pattern');
      return structured('regex', compileRegexParser(input.pattern), input, DEFAULT_KEYS.regex, events, now);
    }
  }
}

interface Keys {
  readonly message: readonly string[];
  readonly time: readonly string[];
  readonly level: readonly string[];
}

function structured(
  name: ParserName,
  read: (line: string) => FieldsResult,
  input: ParserOptions,
  defaults: Keys,
  events: ParseEvents,
  now: () => number,
): LineParser {
  const messageKeys = input.message_key !== undefined ? [input.message_key] : defaults.message;
  const timeKeys = input.time_key !== undefined ? [input.time_key] : defaults.time;
  const levelKeys = input.level_key !== undefined ? [input.level_key] : defaults.level;
  const timeFormat = input.time_format;
  const parseTime: TimeParser = compileTimeFormat(timeFormat, now);
  const isJson = name === 'json';

  const failed = (line: string, attributes: Attributes, reason: string): ParsedLine => {
    events.parseFailed(reason);
    for (const k in attributes) delete attributes[k];
    attributes[PARSE_ERROR_ATTRIBUTE] = reason;
    return parsePlain(line);
  };

  const mapFields = (line: string, fields: Record<string, unknown>, attributes: Attributes): ParsedLine => {
    const messageKey = first(fields, messageKeys);
    const timeKey = first(fields, timeKeys);
    const levelKey = first(fields, levelKeys);

    let body = line;
    if (messageKey !== undefined) {
      const m = fields[messageKey];
      body = typeof m === 'string' ? m : JSON.stringify(m);
    }

    let timeUnixNano = 0n;
    let timeUsed = timeKey === undefined;
    if (timeKey !== undefined) {
      let t = fields[timeKey];
      // Past 2^53 a double has lost the nanoseconds: read the number again from the line's digits.
      if (isJson && typeof t === 'number' && !Number.isSafeInteger(t)) t = rawNumberField(line, timeKey) ?? t;
      const ns = typeof t === 'string' || typeof t === 'number' ? parseTime(t) : undefined;
      if (ns !== undefined) {
        timeUnixNano = ns;
        timeUsed = true;
      } else {
        const reason = `field ${timeKey} is not a time in format ${timeFormat}`;
        events.parseFailed(reason);
        attributes[PARSE_ERROR_ATTRIBUTE] = reason;
      }
    }

    let severity: Severity = UNSPECIFIED;
    if (levelKey !== undefined) {
      const raw = fields[levelKey];
      // An unknown level word is still the source's level: kept as the text, with no number.
      severity = normalizeSeverity(raw) ?? (raw === null || raw === undefined ? UNSPECIFIED : { number: 0, text: typeof raw === 'string' ? raw : JSON.stringify(raw) });
    }

    for (const k in fields) {
      if (k === messageKey || k === levelKey || (k === timeKey && timeUsed)) continue;
      flattenInto(attributes, k, fields[k]);
    }
    return { body, timeUnixNano, severity };
  };

  return {
    name,
    parse(line, attributes) {
      const r = read(line);
      if (!r.ok) return failed(line, attributes, r.reason);
      try {
        return mapFields(line, r.fields, attributes);
      } catch (err) {
        // JSON.stringify recurses: a line nested tens of thousands deep exhausts the stack. Bad data, not a crash.
        return failed(line, attributes, err instanceof RangeError ? 'nested too deep' : 'unreadable fields');
      }
    },
  };
}

function first(fields: Record<string, unknown>, keys: readonly string[]): string | undefined {
  for (const k of keys) if (fields[k] !== undefined && Object.hasOwn(fields, k)) return k;
  return undefined;
}
