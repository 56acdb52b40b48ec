import { describe, expect, it } from 'vitest';
import type { LabelMatcher, MatchType } from '../storage.js';
import { seriesLabels } from './labels.js';
import { MemPostings } from './postings.js';

const series: Record<string, string>[] = [
  { job: 'api', instance: 'a', method: 'GET' },
  { job: 'api', instance: 'b', method: 'POST' },
  { job: 'db', instance: 'a' },
  { job: 'web', instance: 'c', method: 'GET', path: '/x\ny' },
  { instance: 'd' },
];

function index(): MemPostings {
  const p = new MemPostings();
  series.forEach((l, i) => p.add(i + 1, seriesLabels('up', l)));
  return p;
}

function m(name: string, type: MatchType, value: string): LabelMatcher {
  return { name, type, value };
}

/** Prometheus's semantics spelled out directly: a missing label is the empty string. */
function naive(matchers: LabelMatcher[]): number[] {
  const out: number[] = [];
  series.forEach((l, i) => {
    const labels = seriesLabels('up', l);
    const ok = matchers.every((mm) => {
      const v = labels[mm.name] ?? '';
      const re = new RegExp(`^(?:${mm.value})$`, 's');
      switch (mm.type) {
        case '=':
          return v === mm.value;
        case '!=':
          return v !== mm.value;
        case '=~':
          return re.test(v);
        case '!~':
          return !re.test(v);
      }
    });
    if (ok) out.push(i + 1);
  });
  return out;
}

describe('postings', () => {
  const cases: Array<[string, LabelMatcher[]]> = [
    ['equality', [m('job', '=', 'api')]],
    ['equality on a missing value', [m('job', '=', 'nope')]],
    ['the empty value selects series without the label', [m('method', '=', '')]],
    ['!= keeps series without the label', [m('job', '!=', 'api')]],
    ['!= "" selects series with the label', [m('method', '!=', '')]],
    ['anchored regex (no partial match)', [m('job', '=~', 'ap')]],
    ['regex alternation', [m('job', '=~', 'api|db')]],
    ['regex matching empty includes series without the label', [m('method', '=~', 'GET|')]],
    ['negative regex', [m('job', '!~', 'a.*')]],
    ['negative regex matching everything non-empty', [m('method', '!~', '.+')]],
    ['. matches a newline', [m('path', '=~', '/x.y')]],
    ['several matchers intersect', [m('__name__', '=', 'up'), m('instance', '=', 'a'), m('job', '!=', 'db')]],
    ['no matchers select everything', []],
  ];
  for (const [name, matchers] of cases) {
    it(`selects as Prometheus does: ${name}`, () => expect(index().select(matchers)).toEqual(naive(matchers)));
  }

  // Found by the golden test through Kafka: the head compiled matchers as plain JS regexes, so
  // RE2's inline flags (what Grafana users type for case-insensitive filters) were an error.
  it('understands RE2 spellings: (?i), (?P<name>) and POSIX classes', () => {
    expect(index().select([m('job', '=~', '(?i)API')])).toEqual(naive([m('job', '=~', 'api')]));
    expect(index().select([m('job', '=~', '(?P<x>[[:alpha:]]+)')])).toEqual(naive([m('job', '=~', '[A-Za-z]+')]));
    expect(index().select([m('job', '!~', '(?i)API|DB')])).toEqual(naive([m('job', '!~', 'api|db')]));
  });

  it('forgets deleted series and their now-empty values', () => {
    const p = index();
    p.delete(new Map([[3, seriesLabels('up', series[2]!)]]));
    expect(p.select([m('job', '=', 'db')])).toEqual([]);
    expect([...p.values('job').keys()].sort()).toEqual(['api', 'web']);
    expect(p.numSeries).toBe(4);
  });

  it('rejects an invalid regex with a message naming it', () => {
    expect(() => index().select([m('job', '=~', '(')])).toThrow(/invalid regular expression "\(" in matcher on label job/);
  });
});
