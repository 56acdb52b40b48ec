/**
 * The dashboard's log queries: time expressions, the query strings of /api/logs,
 * /api/logs/histogram and /api/logs/context, and the warehouse's search built from them (words,
 * "phrases", attribute filters, cursors). Bad input is a `bad_request` PharosError (a 400); what
 * parses can be echoed back (RFC 3339) and turned into SQL whose values all travel as parameters.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { PharosError } from '../../core/errors.js';
import { parseContextQuery, parseHistogramQuery } from '../../dashboard/server/routes/logs-extra.js';
import { parseLogsQuery } from '../../dashboard/server/routes/logs.js';
import { formatRfc3339, parseTimeExpr } from '../../dashboard/server/time-expr.js';
import { ClickHouseLogSearch, searchTerms } from '../../pipeline/warehouse/log-search.js';
import { expectTyped, fromFragments, fuzz, mutatedText, randomText } from './kit.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

const timeExpr = fc.oneof(
  fc.tuple(fc.constantFrom('+', '-', ''), fc.oneof(fc.constantFrom('0', '1', '15', '999999999', '0000000001'), fc.nat().map(String)), fc.constantFrom('ms', 's', 'm', 'h', 'd', 'w', 'y', '')).map(([sign, n, unit]) => `now${sign}${n}${unit}`),
  fromFragments(['now', '-', '+', '15', '999999999', '0', 'ms', 's', 'm', 'h', 'd', 'w', ' '], 5),
  mutatedText(['2025-01-31T12:00:00.123456789Z', '2025-02-28T23:59:59+05:30', '1738324800000', 'now-15m', 'now+1h', '9999-12-31T23:59:59Z', '0000-01-01T00:00:00Z']),
  fc.tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }), fc.constantFrom('Z', '+23:59', '-23:59', '+99:99')).map(([y, m, d, z]) => `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}T23:59:59.999999999${z}`),
  fc.bigInt({ min: 0n, max: 10n ** 16n }).map(String),
  randomText(30),
);

/** A query string as Express hands it over: strings, repeated keys as arrays, `a[b]=c` as objects. */
const queryValue = fc.oneof({ arbitrary: timeExpr, weight: 3 }, { arbitrary: randomText(40), weight: 2 }, fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 }), fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 }), { maxKeys: 2 }));
const queryKeys = fc.constantFrom('from', 'to', 'q', 'limit', 'service', 'host', 'buckets', 'time', 'before', 'after', 'attr.http.method', 'attr.', 'attr.__proto__', 'attr.constructor', '__proto__', 'cursor');
const query = fc.dictionary(queryKeys, queryValue, { maxKeys: 7 });

const searchText = fc.oneof(mutatedText(['GET /api "connection refused" ERR_CODE_7f3a', '"unterminated phrase', 'a b c']), randomText(80), fromFragments(['"', ' ', 'word', '/', '-', '_', '\t', 'é', '😀', '{t0:String}', "'", '\\'], 12));
const cursor = fc.oneof(
  fc.tuple(fc.bigInt({ min: 0n, max: 1n << 64n }), fc.bigInt({ min: 0n, max: 1n << 65n })).map(([t, tie]) => Buffer.from(`${t}.${tie}`).toString('base64url')),
  mutatedText([Buffer.from('1795428000000000000.123').toString('base64url')]),
  randomText(30),
);

// build() is pure: the client is never reached.
const search = new ClickHouseLogSearch({} as ClickHouseClient, 'pharos');

describe('log queries', () => {
  fuzz('time expressions: a time that can be echoed as RFC 3339, or bad_request', timeExpr, (text) => {
    const r = expectTyped('parseTimeExpr', text, () => parseTimeExpr('from', text, NOW), PharosError);
    if (r.ok) expectTyped('formatRfc3339', r.value, () => formatRfc3339(r.value));
    else expect((r.error as PharosError).code).toBe('bad_request');
  }, 800);

  fuzz('query strings of /api/logs, histogram and context: params or bad_request, and what parses is echoed', query, (q) => {
    const logs = expectTyped('parseLogsQuery', q, () => parseLogsQuery(q, NOW), PharosError);
    // The route answers with the window it searched.
    if (logs.ok) expectTyped('formatRfc3339', q, () => [formatRfc3339(logs.value.fromNs), formatRfc3339(logs.value.toNs)]);
    expectTyped('parseHistogramQuery', q, () => parseHistogramQuery(q, NOW), PharosError);
    expectTyped('parseContextQuery', q, () => parseContextQuery(q), PharosError);
  }, 800);

  fuzz('search text, attribute filters and cursors: SQL with parameters only, or bad_request', fc.record({ text: searchText, attributes: fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constant('__proto__')), randomText(20), { maxKeys: 4 }), cursor: fc.option(cursor, { nil: undefined }), limit: fc.oneof(fc.integer({ min: -1, max: 20_000 }), fc.double()), fromNs: fc.bigInt({ min: -1n, max: 1n << 64n }), span: fc.bigInt({ min: -1n, max: 1n << 64n }), minSeverity: fc.option(fc.double(), { nil: undefined }) }), (p) => {
    const params = { ...p, toNs: p.fromNs + p.span };
    expectTyped('searchTerms', p.text, () => searchTerms(p.text));
    const r = expectTyped('ClickHouseLogSearch.build', params, () => search.build(params), PharosError);
    if (!r.ok) return;
    // Every term and attribute is a parameter: the SQL is the same for another text of the same shape
    // (letters and digits swapped, separators kept), so none of the user's text is in it.
    const blank = (t: string) => t.replace(/[A-Za-z0-9]/g, 'a');
    const same = search.build({ ...params, text: blank(p.text), attributes: Object.fromEntries(Object.entries(p.attributes).map(([k, v], i) => [`k${i}`, blank(v)])) });
    expect(same.sql).toBe(r.value.sql);
    for (const v of Object.values(r.value.values)) expect(['string', 'number'].includes(typeof v)).toBe(true);
  }, 600);
});
