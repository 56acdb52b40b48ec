import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ConfigError, validateConfig } from '../../core/config/load.js';
import { REDACT_BUILTINS } from '../../core/config/schema.js';
import type { LogRecord } from '../../core/model/records.js';
import { RegistryClass } from '../../core/telemetry/registry.js';
import { redactEvents } from './events.js';
import { BUILTINS, createRedactor, type RedactBuiltin, type RedactConfig } from './redact.js';

const config = (over: Partial<RedactConfig> = {}): RedactConfig => ({ ...validateConfig({}).collector.redact, ...over });

/** A redactor with only `builtin` on: each case proves its own pattern, not a neighbour's. */
const only = (builtin: RedactBuiltin) => createRedactor(config({ builtins: [builtin] }))!.redactString;

const CASES: Record<RedactBuiltin, { positive: Array<[string, string]>; negative: string[] }> = {
  bearer_token: {
    positive: [
      ['Authorization: Bearer eyJhbGciOi.J9.abc123', 'Authorization: Bearer [REDACTED]'],
      ['auth="bearer 0123456789abcdef" ok', 'auth="bearer [REDACTED]" ok'],
      ['token Bearer abc/def+ghi== end', 'token Bearer [REDACTED] end'],
    ],
    negative: ['the bearer of bad news', 'Bearer short1', 'Authorization: Bearer [REDACTED]'],
  },
  url_password: {
    positive: [
      ['connecting to postgres://app:s3cr3t@db.internal:5432/orders', 'connecting to postgres://app:[REDACTED]@db.internal:5432/orders'],
      ['GET https://bob:pa%40ss@example.com/x', 'GET https://bob:[REDACTED]@example.com/x'],
      // Found by the fuzz work: Redis URLs carry a password and no user.
      ['redis://:s3cr3t@cache:6379/0', 'redis://:[REDACTED]@cache:6379/0'],
    ],
    negative: ['ssh://git@github.com/org/repo', 'https://example.com:8443/path@v2', 'redis://app:[REDACTED]@cache', 'ftp://anonymous:@host/', 'http://host:8080/a@b'],
  },
  email: {
    positive: [
      ['login by jane.doe+ops@example.co.uk failed', 'login by [REDACTED] failed'],
      ['to=<a_b@mail-1.example.org>', 'to=<[REDACTED]>'],
      ['ops@example.com.png?x', '[REDACTED].png?x'],
    ],
    negative: ['user@localhost signed in', 'version 1.2@3', 'npm i @types/node', 'GET /static/icon@2x.png 200', 'logo@3x.WEBP', 'bundle@1.2.3.js'],
  },
  password: {
    positive: [
      ['login user=bob password=hunter2 ok', 'login user=bob password=[REDACTED] ok'],
      ['{"user":"bob","password":"hun\\"ter2","x":1}', '{"user":"bob","password":"[REDACTED]","x":1}'],
      ["DB_PASSWORD = 'p w'", "DB_PASSWORD = '[REDACTED]'"],
      ['passwd=abc&next=1', 'passwd=[REDACTED]&next=1'],
      ['{"Password": "x"}', '{"Password": "[REDACTED]"}'],
    ],
    negative: ['password reset requested for bob', 'password: wrong length', 'password=[REDACTED]', '"password":"[REDACTED]"'],
  },
  aws_access_key_id: {
    positive: [['using key AKIAIOSFODNN7EXAMPLE for s3', 'using key [REDACTED] for s3'], ['ASIAY34FZKBOKMUTVV7A', '[REDACTED]']],
    negative: ['AKIAIOSFODNN7EXAMPL (19 chars)', 'XAKIAIOSFODNN7EXAMPLE', 'akiaiosfodnn7example'],
  },
  api_key: {
    positive: [
      ['api_key=0123456789abcdef&q=1', 'api_key=[REDACTED]&q=1'],
      ['X-Api-Key: 9f8e7d6c5b4a', 'X-Api-Key: [REDACTED]'],
      ['{"client_secret":"abc"}', '{"client_secret":"[REDACTED]"}'],
      ['push with ghp_abcdefghijklmnopqrstuvwxyz0123456789 done', 'push with [REDACTED] done'],
      ['slack xoxb-1234567890-abcdefghij', 'slack [REDACTED]'],
      ['stripe sk_live_abcdefghijklmnop1234', 'stripe [REDACTED]'],
      ['maps AIzaSyA-abcdefghijklmnopqrstuvwxyz12345', 'maps [REDACTED]'],
    ],
    negative: ['the api key was rotated', 'ghp_short', 'a secret garden', 'sk_test_abcdefghijklmnop1234'],
  },
  jwt: {
    positive: [['id_token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.SflKxwRJSMeKKF2QT4fwpM', 'id_token=[REDACTED]']],
    negative: ['eyJustAWord.eyJ.x', 'heyJude.eyJane.abcdefghij'],
  },
};

describe('built-in redaction patterns', () => {
  test('every built-in has cases here, and the config lists exactly the built-ins the redactor knows', () => {
    expect(Object.keys(CASES).sort()).toEqual([...REDACT_BUILTINS].sort());
    expect(Object.keys(BUILTINS).sort()).toEqual([...REDACT_BUILTINS].sort());
  });

  for (const name of REDACT_BUILTINS) {
    describe(name, () => {
      test.each(CASES[name].positive)('redacts %j', (input, expected) => {
        expect(only(name)(input)).toBe(expected);
      });
      test.each(CASES[name].negative.map((n) => [n]))('leaves %j alone', (input) => {
        expect(only(name)(input)).toBe(input);
      });
    });
  }
});

/** One secret and its look-alikes per built-in, through the redactor the default config builds. */
const DEFAULT_ON: Record<RedactBuiltin, { secret: [string, string]; lookAlikes: string[] }> = {
  bearer_token: { secret: ['Authorization: Bearer abcDEF.123-xyz', 'Authorization: Bearer [REDACTED]'], lookAlikes: ['Bearer token missing', 'the bearer of bad news'] },
  url_password: { secret: ['dsn=mysql://app:hunter2@db:3306/x', 'dsn=mysql://app:[REDACTED]@db:3306/x'], lookAlikes: ['http://host:8080/path', 'http://user@host/'] },
  email: { secret: ['sent to ops@example.com', 'sent to [REDACTED]'], lookAlikes: ['user@localhost', 'npm i @scope/pkg@1.2.3', 'v1.2.3@sha'] },
  password: { secret: ['password=hunter2 user=bob', 'password=[REDACTED] user=bob'], lookAlikes: ['password reset for bob', 'password_reset=true', 'passwords=3'] },
  aws_access_key_id: { secret: ['key AKIAIOSFODNN7EXAMPLE', 'key [REDACTED]'], lookAlikes: ['AKIAIOSFODNN7EXAMPL', 'AKIAIOSFODNN7EXAMPLEX'] },
  api_key: { secret: ['x-api-key: 0123abcd', 'x-api-key: [REDACTED]'], lookAlikes: ['api-version=2024-01-01', 'token_count=12', 'GET /v1/tokens/list 200', 'sk_test_abc'] },
  jwt: { secret: ['jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.SflKxwRJSMeKKF2QT4fwpM', 'jwt [REDACTED]'], lookAlikes: ['eyJhbGciOi', 'eyJhbGciOiJI.eyJ.short'] },
};

describe('on by default: each built-in through the default config', () => {
  const redact = createRedactor(validateConfig({}).collector.redact)!.redactString;
  for (const name of REDACT_BUILTINS) {
    test(`${name}: masks ${JSON.stringify(DEFAULT_ON[name].secret[0])}, leaves its look-alikes`, () => {
      const [input, expected] = DEFAULT_ON[name].secret;
      expect(redact(input)).toBe(expected);
      for (const lookAlike of DEFAULT_ON[name].lookAlikes) expect(redact(lookAlike)).toBe(lookAlike);
    });
  }
});

describe('redactor', () => {
  test('all built-ins in one pass over a line holding several secrets; counts per pattern', async () => {
    const registry = new RegistryClass();
    const r = createRedactor(config(), redactEvents(registry, [...REDACT_BUILTINS]))!;
    const line = 'user jane@example.com called https://u:pw@api.example.com with Authorization: Bearer abcdef123456 and password=x key AKIAIOSFODNN7EXAMPLE';
    expect(r.redactString(line)).toBe('user [REDACTED] called https://u:[REDACTED]@api.example.com with Authorization: Bearer [REDACTED] and password=[REDACTED] key [REDACTED]');
    const values = (await registry.getSingleMetric('pharos_collector_redactions_total')!.get()).values;
    const by = Object.fromEntries(values.map((v) => [v.labels.pattern, v.value]));
    expect(by).toEqual({ bearer_token: 1, url_password: 1, email: 1, password: 1, aws_access_key_id: 1, api_key: 0, jwt: 0 });
  });

  test('redacting twice changes nothing more', () => {
    const r = createRedactor(config())!;
    const once = r.redactString('a@b.io Bearer abcdef123456 password="x" postgres://u:p@h/db');
    expect(r.redactString(once)).toBe(once);
  });

  test('records: body and string attributes, nested ones too; other values untouched', () => {
    const r = createRedactor(config())!;
    const rec: LogRecord = {
      timeUnixNano: 0n,
      observedTimeUnixNano: 1n,
      severityNumber: 9,
      severityText: 'INFO',
      body: 'mail to ops@example.com',
      resource: { 'service.name': 'a' },
      attributes: { 'user.email': 'bob@example.com', 'http.header': 'Bearer abcdefgh1234', n: 3, list: ['x@example.com', 1], obj: { k: 'password=z' }, short: 'a@b' },
      traceId: '',
      spanId: '',
      flags: 0,
    };
    r.redactRecords([rec]);
    expect(rec.body).toBe('mail to [REDACTED]');
    expect(rec.attributes).toEqual({ 'user.email': '[REDACTED]', 'http.header': 'Bearer [REDACTED]', n: 3, list: ['[REDACTED]', 1], obj: { k: 'password=[REDACTED]' }, short: 'a@b' });
  });

  test('only the listed built-ins apply', () => {
    const r = createRedactor(config({ builtins: ['email'] }))!;
    expect(r.redactString('a@example.com password=x')).toBe('[REDACTED] password=x');
  });

  test('patterns of the config run after the built-ins, with group references, and are counted', async () => {
    const registry = new RegistryClass();
    const c = config({ builtins: [], patterns: [{ name: 'card', regex: '\\b(\\d{4})\\d{8}(\\d{4})\\b', replacement: '$1********$2', ignore_case: false }, { name: 'session', regex: 'SESSION=\\w+', replacement: 'SESSION=[REDACTED]', ignore_case: true }] });
    const r = createRedactor(c, redactEvents(registry, ['card', 'session']))!;
    expect(r.redactString('paid 4111111111111111 and 5500000000000004; session=abc')).toBe('paid 4111********1111 and 5500********0004; SESSION=[REDACTED]');
    const values = (await registry.getSingleMetric('pharos_collector_redactions_total')!.get()).values;
    expect(Object.fromEntries(values.map((v) => [v.labels.pattern, v.value]))).toEqual({ card: 2, session: 1 });
  });

  test('adversarial 256 KiB lines (one long word, a dotted run, repeated hints) are scanned without backtracking blow-up', () => {
    const r = createRedactor(config())!;
    const big = 256 * 1024;
    for (const line of ['a'.repeat(big) + 'password', 'a.'.repeat(big / 2) + '://', 'x@'.repeat(big / 2), 'Bearer '.repeat(big / 7), `${'password'.repeat(big / 8)}=`]) {
      expect(r.redactString(line).length).toBeGreaterThan(0);
    }
  });

  // Found by test/fuzz: `\beyJ` matched inside the run, and each start scanned to its end (64 KiB: seconds).
  test('a 64 KiB run of "eyJ-" (JWT look-alike) is scanned in linear time', () => {
    const r = createRedactor(config())!;
    const line = 'eyJ-'.repeat(16 * 1024) + 'API-KEY';
    const started = performance.now();
    expect(r.redactString(line)).toBe(line);
    expect(performance.now() - started).toBeLessThan(200);
  });

  // Found by test/fuzz: a URL's scheme swallowed a Slack token glued to it; the token came out on a second redaction only.
  test('a secret overlapping another match (token glued to a URL) is redacted in the same call', () => {
    const r = createRedactor(config())!;
    const once = r.redactString('called xoxb-12345https://u:pw@e.com ok');
    expect(once).toBe('called [REDACTED]://u:[REDACTED]@e.com ok');
    expect(r.redactString(once)).toBe(once);
  });

  // Found by test/fuzz: the first value's closing quote opened the next key, which the scan then skipped.
  test('a key right after a redacted quoted value (no comma between) is redacted in the same pass', () => {
    const r = createRedactor(config())!;
    const once = r.redactString('{"password":",","api_key":"0123456789abcdef"}');
    expect(once).toBe('{"password":"[REDACTED]","api_key":"[REDACTED]"}');
    const glued = r.redactString('z"user":"bob","password":","api_key":"0123456789abcdef"}');
    expect(glued).toBe('z"user":"bob","password":"[REDACTED]"api_key":"[REDACTED]"}');
    expect(r.redactString(glued)).toBe(glued);
  });

  test('disabled, or nothing to apply: no redactor at all', () => {
    expect(createRedactor(config({ enabled: false }))).toBeUndefined();
    expect(createRedactor(config({ builtins: [] }))).toBeUndefined();
  });
});

describe('config: collector.redact', () => {
  const issues = (redact: unknown) => {
    try {
      validateConfig({ collector: { redact } });
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.issues.map((i) => `${i.key}: ${i.message}`);
    }
  };

  test('on by default with every built-in', () => {
    expect(validateConfig({}).collector.redact).toEqual({ enabled: true, builtins: [...REDACT_BUILTINS], patterns: [] });
  });

  test('a pattern that does not compile, a taken name, an unknown built-in: each refused naming its key', () => {
    expect(issues({ patterns: [{ name: 'x', regex: '(' }] })).toEqual([expect.stringMatching(/^collector\.redact\.patterns\.0\.regex: does not compile/)]);
    expect(issues({ patterns: [{ name: 'email', regex: 'x' }] })).toEqual([expect.stringMatching(/^collector\.redact\.patterns\.0\.name: name email is taken/)]);
    expect(issues({ builtins: ['ssn'] })).toEqual([expect.stringMatching(/^collector\.redact\.builtins\.0: /)]);
  });
});

describe('pre-checks', () => {
  // Fragments that make up secrets and near-misses in every case, glued at random.
  const fragment = fc.oneof(
    fc.constantFrom('Bearer ', 'bEaReR\t', 'password=', 'PassPhrase: ', '"passwd":"', 'api_key=', 'API-KEY: ', 'apikey=', 'access_token=', 'Client_Secret=', 'secret_key:', 'ghp_', 'gho_', 'github_pat_', 'xoxb-', 'xoxp-', 'sk_live_', 'rk_live_', 'AIza', 'AKIA', 'ASIA', 'eyJ', '.eyJ', 'eyJhbGciOiJIUzI1NiJ9', '.eyJzdWIiOiIxMjM0NTY3ODkwIn0', '.dozjgNryP4J3jVmNHl0w5N', 'https://', 'u:', 'p@', '@', 'a@b.io', '://:', 'xyz', 'ABCDEFGHIJKLMNOP', '0123456789', '-', '_', '.', ' ', '"'),
    fc.string({ unit: fc.constantFrom('a', 'Z', '0', '9', '_', '-', '.', 'x', 'k'), minLength: 1, maxLength: 40 }),
  );
  const line = fc.array(fragment, { maxLength: 12 }).map((parts) => parts.join(''));

  const sample: Record<RedactBuiltin, string> = {
    bearer_token: 'Authorization: Bearer abc.def-123456',
    url_password: 'redis://:s3cret@cache:6379',
    email: 'mail bob@example.com now',
    password: 'password=hunter22',
    aws_access_key_id: 'key AKIAABCDEFGHIJKLMNOP',
    api_key: 'api_key=abcdef123456',
    jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N',
  };

  test.each(Object.keys(BUILTINS) as RedactBuiltin[])('%s: every match holds one of its words (the substring pre-check never skips a secret)', (name) => {
    const b = BUILTINS[name];
    const re = new RegExp(b.source, 'g');
    let matched = 0;
    fc.assert(
      fc.property(line, (s) => {
        for (const m of s.matchAll(re)) {
          matched++;
          expect(b.words.some((w) => m[0].toLowerCase().includes(w))).toBe(true);
        }
      }),
      { numRuns: 3000, examples: [[sample[name]]] },
    );
    expect(matched).toBeGreaterThan(0);
  });
});

describe('isClean', () => {
  test('false for any line the redactor would change, true for common clean lines', () => {
    const r = createRedactor(config({ patterns: [{ name: 'order_id', regex: 'ORD-\\d+', ignore_case: false, replacement: '[ORDER]' }] }))!;
    const dirty = ['Authorization: BEARER abcdef123456', 'mail ops@example.com', 'password=x', 'ref ORD-123 shipped', 'key AKIAIOSFODNN7EXAMPLE'];
    for (const line of dirty) {
      expect(r.redactString(line)).not.toBe(line);
      expect(r.isClean(line)).toBe(false);
    }
    for (const line of ['2026-11-23T10:00:00Z INFO req=1 path=/v1/orders status=200', 'GET /health 200 0.4ms', 'short']) expect(r.isClean(line)).toBe(true);
  });

  test('never true for a line redactString changes (random lines)', () => {
    const r = createRedactor(config())!;
    const fragment = fc.constantFrom('Bearer ', 'bEaReR\t', 'abcdef123456', 'password=', 'u:p@h', 'a@b.io', 'api_key=', 'xoxb-0123456789', 'eyJabcdefghij.eyJabcdefghij.abcdefghij', 'AKIAIOSFODNN7EXAMPLE', ' ', 'text', '=', '"');
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 10 }), (parts) => {
        const line = parts.join('');
        if (r.isClean(line)) expect(r.redactString(line)).toBe(line);
      }),
    );
  });
});
