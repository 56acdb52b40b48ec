/**
 * Redaction: secrets in record bodies and string attributes are replaced before a record leaves
 * the host, because whatever reaches Kafka is copied to the warehouse, the live tail and every
 * consumer downstream, and cannot be recalled from there.
 *
 * The built-ins run as one combined regular expression (one scan per string), behind cheaper
 * pre-checks that let the common line without `@`, `Bearer`, `password` and the like skip the
 * scan (one expression of all their words first, then one expression per built-in); a line that passes is
 * scanned only for the built-ins whose hint it holds. Patterns of
 * the config run after them, one at a time. Each replacement keeps what tells a reader what was
 * there (`Bearer [REDACTED]`, `scheme://user:[REDACTED]@`, `"password":"[REDACTED]"`).
 * Every built-in starts its matches only where a word or run starts, so a hostile 256 KiB line
 * costs a linear scan, never a backtracking blow-up.
 */
import type { PharosConfig } from '../../core/config/schema.js';
import type { AttributeValue, Attributes, LogRecord } from '../../core/model/records.js';
import { redacted, type RedactEvents } from './events.js';

export type RedactConfig = PharosConfig['collector']['redact'];
export type RedactBuiltin = RedactConfig['builtins'][number];

export const REDACTED = '[REDACTED]';

interface Builtin {
  /** A regular expression without capturing groups: it becomes one alternative of the combined scan. */
  readonly source: string;
  /**
   * A cheap expression every match also matches (case spelled out in classes: an `i` flag halves
   * V8's scan speed): the pre-check that lets a line without any of them skip the full scan.
   */
  readonly hint: string;
  /**
   * Lower-case strings one of which every match holds, in any case: the first pre-check, as one
   * alternation of literals, which costs the same on any text (the hint expressions slow down
   * several times on runs of letters that start an alternative).
   */
  readonly words: readonly string[];
  readonly replace: (match: string) => string;
}

/** `word` matched in any case, without an `i` flag that would loosen the other alternatives too. */
const ci = (word: string): string => word.replace(/[a-z]/g, (c) => `[${c}${c.toUpperCase()}]`);

/** Not a value already redacted: running twice over a string changes and counts nothing. */
const NOT_DONE = '(?!"?\\[REDACTED\\])';
const VALUE = `${NOT_DONE}(?:"(?:[^"\\\\\\n]|\\\\.)*"|'[^'\\n]*'|[^\\s,;&"'}\\]]+)`;

/** `key=value`, `"key":"value"` (also `key: value` when `colon`): keeps the key and the quoting. */
function keyValue(keys: string, colon: boolean): string {
  // The lookbehind starts a key only at a word's start: without it the scan retries inside every word (quadratic in its length).
  const key = `(?<![A-Za-z0-9_])[A-Za-z0-9_]*(?:${keys})`;
  const unquoted = colon ? `${key}[ \\t]*[:=]` : `${key}[ \\t]*=`;
  // A key's opening quote may be the closing quote of the value just redacted (`"password":"","api_key":…`
  // written without the comma): a lookbehind still sees it, so the second secret is not skipped.
  return `(?:(?:"|(?<="))${key}"[ \\t]*[:=]|(?:'|(?<='))${key}'[ \\t]*[:=]|${unquoted})[ \\t]*${VALUE}`;
}

function replaceValue(match: string): string {
  const sep = match.search(/[:=]/);
  let i = sep + 1;
  while (match[i] === ' ' || match[i] === '\t') i++;
  const q = match[i];
  return match.slice(0, i) + (q === '"' || q === "'" ? `${q}${REDACTED}${q}` : REDACTED);
}

const FILE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'gif', 'svg', 'webp', 'avif', 'ico', 'css', 'js', 'mjs', 'map', 'json', 'txt'].map(ci).join('|');
const PASSWORD_KEYS = ['password', 'passwd', 'passphrase'].map(ci).join('|');
const API_KEY_KEYS = ['api_key', 'api-key', 'apikey', 'access_token', 'auth_token', 'client_secret', 'secret_key'].map(ci).join('|');

export const BUILTINS: Readonly<Record<RedactBuiltin, Builtin>> = {
  // RFC 6750 token characters; at least 8 of them with a digit or symbol, so "the bearer of bad news" stays.
  bearer_token: {
    source: `\\b${ci('bearer')}[ \\t]+(?=[A-Za-z0-9._~+/-]*[0-9._~+/-])[A-Za-z0-9._~+/-]{8,}=*`,
    hint: ci('bearer'),
    words: ['bearer'],
    replace: (m) => `${m.slice(0, 6)} ${REDACTED}`,
  },
  // Userinfo with a password; a bare `user@host` (ssh, git) has no secret and is left alone.
  // The user may be empty: Redis URLs carry only a password (`redis://:secret@cache:6379`).
  url_password: {
    // A scheme starts only where a run of scheme characters does (not at every `\b` of `a.b.c…`): linear on any line.
    source: `(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,31}://[^\\s:/?#@]*:${NOT_DONE}[^\\s/?#@]+@`,
    hint: '@',
    words: ['@'],
    replace: (m) => `${m.slice(0, m.indexOf(':', m.indexOf('://') + 3) + 1)}${REDACTED}@`,
  },
  // Not a file name with a density suffix (`icon@2x.png`): no top-level domain is an image, style or script extension.
  email: {
    source: `(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.(?!(?:${FILE_EXTENSIONS})\\b)[A-Za-z]{2,}\\b`,
    hint: '@',
    words: ['@'],
    replace: () => REDACTED,
  },
  password: {
    source: keyValue(PASSWORD_KEYS, false),
    hint: `${ci('pass')}[wWpP]`,
    words: ['passw', 'passp'],
    replace: replaceValue,
  },
  aws_access_key_id: {
    source: `\\b(?:AKIA|ASIA)[0-9A-Z]{16}\\b`,
    hint: 'A[KS]IA',
    words: ['akia', 'asia'],
    replace: () => REDACTED,
  },
  // GitHub, Slack, Stripe and Google key shapes, and `api_key=`-style fields (headers included).
  api_key: {
    source: [
      keyValue(API_KEY_KEYS, true),
      '\\bgh[pousr]_[A-Za-z0-9]{36,255}\\b',
      '\\bgithub_pat_[A-Za-z0-9_]{22,255}\\b',
      '\\bxox[abposr]-[A-Za-z0-9-]{10,}',
      '\\b[sr]k_live_[A-Za-z0-9]{16,}\\b',
      '\\bAIza[0-9A-Za-z_-]{35}\\b',
    ].join('|'),
    hint: `${ci('api')}[_kK-]|${ci('token')}|${ci('secret')}|gh[pousr]_|github_pat_|xox|k_live_|AIza`,
    words: ['api_', 'api-', 'apik', 'token', 'secret', 'ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_', 'xox', 'k_live_', 'aiza'],
    // Token shapes hold no ':' or '=', the key-value form always does.
    replace: (m) => (/[:=]/.test(m) ? replaceValue(m) : REDACTED),
  },
  jwt: {
    // Starts only where a run of base64url characters does: `\b` also falls inside `eyJ-eyJ-…`,
    // and a scan from each of those to the run's end is quadratic (64 KiB took seconds).
    source: '(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}',
    hint: 'eyJ',
    words: ['eyj'],
    replace: () => REDACTED,
  },
};

export interface Redactor {
  /** `s` with every secret replaced (the same string when there was none). */
  redactString(s: string): string;
  /** Redacts body and string attributes (nested ones too) in place. */
  redactRecords(records: readonly LogRecord[]): void;
  /**
   * True when `redactString(s)` certainly returns `s` (the pre-checks alone): a source writes a
   * clean line's record straight from its bytes, without a record object to redact.
   */
  isClean(s: string): boolean;
  /**
   * Lower-case words such that `isClean(s)` holds for every `s` containing none of them in any
   * case: lets a source decide from a line's bytes (line-scan.ts). Undefined when configured
   * patterns need the string itself.
   */
  readonly cleanWithout?: readonly string[];
}

/** Strings shorter than the shortest secret any pattern matches are not scanned. */
const MIN_LENGTH = 6;
/** Stamped by the collector from its own configuration, never from the line: nothing to find, on every record. */
const OWN_ATTRIBUTES = new Set(['log.file.path', 'log.file.name', 'pharos.source']);

/** Undefined when redaction is off or has nothing to apply: callers skip the pass entirely. */
export function createRedactor(config: RedactConfig, events?: RedactEvents): Redactor | undefined {
  if (!config.enabled) return undefined;
  const names = [...new Set(config.builtins)];
  const own = config.patterns.map((p) => ({
    name: p.name,
    test: new RegExp(p.regex, p.ignore_case ? 'i' : ''),
    all: new RegExp(p.regex, p.ignore_case ? 'gi' : 'g'),
    replacement: p.replacement,
  }));
  if (names.length === 0 && own.length === 0) return undefined;

  const builtins = names.map((n) => BUILTINS[n]);
  const hints = builtins.map((b) => new RegExp(b.hint));
  const words = [...new Set(builtins.flatMap((b) => b.words))];
  // All words in one expression: V8 runs an alternation of literals in one pass over the line,
  // 2.5–3× faster than lower-casing it and searching each word (npm run bench:collector spent a
  // fifth of its CPU there). Without the `u` flag, `i` folds ASCII letters only, as the hints do.
  const anyWord = new RegExp(words.map((w) => w.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')).join('|'), 'i');
  const mayHoldSecret = (s: string): boolean => anyWord.test(s);
  // The scan over a line covers only the built-ins whose hint it holds: one expression per such
  // set, compiled on first use (at most 2^7). One named group per built-in tells which matched.
  const scans = new Map<number, { re: RegExp; replace: (match: string, ...rest: unknown[]) => string }>();
  const scanFor = (mask: number) => {
    let scan = scans.get(mask);
    if (scan) return scan;
    const members = builtins.flatMap((b, i) => ((mask >> i) & 1 ? [i] : []));
    scan = {
      re: new RegExp(members.map((i) => `(?<b${i}>${builtins[i]!.source})`).join('|'), 'g'),
      replace: (match, ...rest) => {
        const groups = rest[rest.length - 1] as Record<string, string | undefined>;
        for (const i of members) {
          if (groups[`b${i}`] === undefined) continue;
          if (events) redacted(events, names[i]!, 1);
          return builtins[i]!.replace(match);
        }
        return match;
      },
    };
    scans.set(mask, scan);
    return scan;
  };

  const redactString = (s: string): string => {
    if (s.length < MIN_LENGTH) return s;
    let out = s;
    let mask = 0;
    if (words.length > 0 && mayHoldSecret(out)) {
      for (let i = 0; i < hints.length; i++) if (hints[i]!.test(out)) mask |= 1 << i;
    }
    if (mask !== 0) {
      const scan = scanFor(mask);
      out = out.replace(scan.re, scan.replace);
      // A match can hide a secret it overlaps (`xoxb-…https://u:pw@h`: the URL's scheme swallows
      // the token); one more pass over a changed line finds it, and matches nothing redacted.
      if (out !== s) out = out.replace(scan.re, scan.replace);
    }
    for (const p of own) {
      if (!p.test.test(out)) continue;
      const count = out.match(p.all)?.length ?? 0;
      out = out.replace(p.all, p.replacement);
      if (events && count > 0) redacted(events, p.name, count);
    }
    return out;
  };

  const redactValue = (v: AttributeValue): AttributeValue => {
    if (typeof v === 'string') return redactString(v);
    if (Array.isArray(v)) return v.map(redactValue);
    if (v !== null && typeof v === 'object') {
      redactAttributes(v);
      return v;
    }
    return v;
  };

  const redactAttributes = (attrs: Attributes): void => {
    for (const k in attrs) {
      const v = attrs[k]!;
      if (typeof v === 'string') {
        if (v.length >= MIN_LENGTH && !OWN_ATTRIBUTES.has(k)) {
          const r = redactString(v);
          if (r !== v) attrs[k] = r;
        }
      } else if (v !== null && typeof v === 'object') {
        attrs[k] = redactValue(v);
      }
    }
  };

  return {
    redactString,
    cleanWithout: own.length === 0 ? words : undefined,
    isClean: (s) => s.length < MIN_LENGTH || ((words.length === 0 || !mayHoldSecret(s)) && own.every((p) => !p.test.test(s))),
    redactRecords(records) {
      for (const r of records) {
        r.body = redactString(r.body);
        redactAttributes(r.attributes);
      }
    },
  };
}
