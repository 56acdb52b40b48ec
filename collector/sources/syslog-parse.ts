/**
 * Syslog messages → log records: RFC 5424 (`<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID
 * [SD] MSG`) exactly, and RFC 3164 (`<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG`) as it is found in
 * the wild. Hand-written: the npm parsers tried (nsyslog-parser 0.10, syslog-parse) misread
 * several structured-data elements, `-` nil values and escaped quotes, and the grammar is small.
 *
 * Mapping (after the OpenTelemetry Collector's syslog receiver): severity from PRI (0 emerg …
 * 7 debug → OpenTelemetry severity), HOSTNAME → resource `host.name` (else the sender's address),
 * APP-NAME/TAG → resource `service.name` (else the configured service), and attributes
 * `syslog.facility`, `syslog.severity`, `syslog.procid`, `syslog.msgid`, `syslog.version`, and
 * `syslog.sd.<SD-ID>.<PARAM>` for each structured-data parameter. A message that does not parse
 * is kept whole as the body, tagged `log.parse_error`, never dropped.
 */
import type { Attributes, LogRecord } from '../../core/model/records.js';
import { normalizeSeverity } from '../transforms/severity.js';

export interface SyslogContext {
  /** `service.name` when the message names no app. */
  service: string;
  /** `host.name` when the message names no host: the peer address. */
  peer: string;
  /** For RFC 3164 timestamps, which carry no year and no zone (read as UTC). */
  nowMs: number;
}

const SEVERITY_WORDS = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const RFC3164_TIME = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) /;
const resources = new Map<string, Attributes>();

export function parseSyslog(message: string, ctx: SyslogContext): LogRecord {
  // Trailing newlines and NULs belong to the framing of many senders, not the message.
  const text = message.replace(/[\r\n\0]+$/, '');
  const attributes: Attributes = {};
  const m = /^<(\d{1,3})>/.exec(text);
  const pri = m ? Number(m[1]) : NaN;
  if (!m || pri > 191) {
    attributes['log.parse_error'] = true;
    return record(text, 0n, undefined, resourceOf(ctx.service, ctx.peer), attributes);
  }
  const facility = pri >> 3;
  const severity = pri & 7;
  attributes['syslog.facility'] = facility;
  attributes['syslog.severity'] = severity;
  const rest = text.slice(m[0].length);
  if (/^[1-9]\d{0,2} /.test(rest)) return parse5424(rest, severity, attributes, ctx);
  return parse3164(rest, severity, attributes, ctx);
}

function parse5424(rest: string, severity: number, attributes: Attributes, ctx: SyslogContext): LogRecord {
  let pos = 0;
  const field = (): string => {
    const end = rest.indexOf(' ', pos);
    const value = end < 0 ? rest.slice(pos) : rest.slice(pos, end);
    pos = end < 0 ? rest.length : end + 1;
    return value;
  };
  attributes['syslog.version'] = Number(field());
  const timestamp = field();
  const hostname = field();
  const appName = field();
  const procid = field();
  const msgid = field();
  if (procid !== '-' && procid !== '') attributes['syslog.procid'] = procid;
  if (msgid !== '-' && msgid !== '') attributes['syslog.msgid'] = msgid;
  let timeNs = 0n;
  if (timestamp !== '-') {
    const ms = Date.parse(timestamp);
    if (Number.isNaN(ms)) attributes['log.parse_error'] = true;
    else timeNs = BigInt(ms) * 1_000_000n + fractionBelowMs(timestamp);
  }
  // Structured data: '-' or one or more [ID PARAM="VALUE" ...] with \" \\ \] escapes in values.
  if (rest[pos] === '-') pos += 1;
  else {
    while (rest[pos] === '[') {
      const end = readElement(rest, pos, attributes);
      if (end < 0) {
        attributes['log.parse_error'] = true;
        break;
      }
      pos = end;
    }
  }
  if (rest[pos] === ' ') pos++;
  let body = rest.slice(pos);
  if (body.startsWith('\uFEFF')) body = body.slice(1); // the BOM RFC 5424 puts before UTF-8 MSG
  const resource = resourceOf(nil(appName) ?? ctx.service, nil(hostname) ?? ctx.peer);
  return record(body, timeNs, severity, resource, attributes);
}

/** Reads one `[SD-ID PARAM="VALUE"…]` at `pos`; returns the index after `]`, or -1 when malformed. */
function readElement(s: string, pos: number, attributes: Attributes): number {
  let i = pos + 1;
  const idEnd = s.slice(i).search(/[ \]]/);
  if (idEnd <= 0) return -1;
  const id = s.slice(i, i + idEnd);
  i += idEnd;
  let params = 0;
  while (s[i] === ' ') {
    i++;
    const eq = s.indexOf('=', i);
    if (eq < 0 || s[eq + 1] !== '"') return -1;
    const name = s.slice(i, eq);
    i = eq + 2;
    let value = '';
    for (;;) {
      const c = s[i];
      if (c === undefined) return -1;
      if (c === '\\' && (s[i + 1] === '"' || s[i + 1] === '\\' || s[i + 1] === ']')) {
        value += s[i + 1];
        i += 2;
      } else if (c === '"') {
        i++;
        break;
      } else {
        value += c;
        i++;
      }
    }
    attributes[`syslog.sd.${id}.${name}`] = value;
    params++;
  }
  if (s[i] !== ']') return -1;
  // Counted, not searched for among the attributes: a scan per element was quadratic (found by
  // test/fuzz: 4,000 elements in one message took 12 s).
  if (params === 0) attributes[`syslog.sd.${id}`] = true;
  return i + 1;
}

function parse3164(rest: string, severity: number, attributes: Attributes, ctx: SyslogContext): LogRecord {
  let timeNs = 0n;
  let body = rest;
  let host: string | undefined;
  let app: string | undefined;
  const t = RFC3164_TIME.exec(rest);
  if (t) {
    const month = MONTHS.indexOf(t[1]!);
    if (month >= 0) {
      const now = new Date(ctx.nowMs);
      let ms = Date.UTC(now.getUTCFullYear(), month, Number(t[2]), Number(t[3]), Number(t[4]), Number(t[5]));
      // No year on the wire: a time more than a day ahead is last year's (a December line read in January).
      if (ms > ctx.nowMs + 86_400_000) ms = Date.UTC(now.getUTCFullYear() - 1, month, Number(t[2]), Number(t[3]), Number(t[4]), Number(t[5]));
      timeNs = BigInt(ms) * 1_000_000n;
    }
    body = rest.slice(t[0].length);
    const sp = body.indexOf(' ');
    if (sp > 0 && !body.slice(0, sp).endsWith(':')) {
      host = body.slice(0, sp);
      body = body.slice(sp + 1);
    }
  }
  // TAG[PID]: MSG — the tag is at most 32 alphanumerics by RFC 3164, longer in practice.
  const tag = /^([^\s:[\]]{1,64})(?:\[([^\]\s]{1,32})\])?: ?/.exec(body);
  if (tag) {
    app = tag[1];
    if (tag[2] !== undefined) attributes['syslog.procid'] = tag[2];
    body = body.slice(tag[0].length);
  }
  return record(body, timeNs, severity, resourceOf(app ?? ctx.service, host ?? ctx.peer), attributes);
}

function nil(v: string): string | undefined {
  return v === '-' || v === '' ? undefined : v;
}

/** Date.parse keeps milliseconds; RFC 5424 allows microseconds, kept here. */
function fractionBelowMs(timestamp: string): bigint {
  const f = /\.(\d+)/.exec(timestamp)?.[1];
  if (!f || f.length <= 3) return 0n;
  return BigInt(f.slice(3, 9).padEnd(6, '0'));
}

function resourceOf(service: string, host: string): Attributes {
  const key = `${service}\u0000${host}`;
  let r = resources.get(key);
  if (!r) {
    r = Object.freeze({ 'service.name': service, 'host.name': host }) as Attributes;
    // Bounded: senders are few; past the bound each record gets its own object.
    if (resources.size < 10_000) resources.set(key, r);
  }
  return r;
}

function record(body: string, timeNs: bigint, severity: number | undefined, resource: Attributes, attributes: Attributes): LogRecord {
  const sev = severity === undefined ? undefined : normalizeSeverity(severity);
  return {
    timeUnixNano: timeNs,
    observedTimeUnixNano: 0n,
    severityNumber: sev?.number ?? 0,
    severityText: severity === undefined ? '' : SEVERITY_WORDS[severity]!,
    body,
    resource,
    attributes,
    traceId: '',
    spanId: '',
    flags: 0,
  };
}
