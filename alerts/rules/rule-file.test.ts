import { describe, expect, test } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseRuleFile } from './rule-file.js';

describe('parseRuleFile', () => {
  test('accepts Prometheus rule groups with alerting and recording rules', () => {
    const { rules, issues } = parseRuleFile(
      'r.yaml',
      `groups:
  - name: host
    interval: 30s
    rules:
      - record: instance:cpu:rate5m
        expr: rate(cpu_seconds_total[5m])
      - alert: DiskFull
        expr: disk_used_ratio > 0.9
        for: 5m
        keep_firing_for: 1m
        labels: { severity: page }
        annotations: { summary: "{{ $labels.instance }} disk {{ $value }}" }
`,
    );
    expect(issues).toEqual([]);
    expect(rules?.groups[0]?.rules).toHaveLength(2);
  });

  test('reports file, line and reason', () => {
    const { issues } = parseRuleFile(
      'r.yaml',
      `groups:
  - name: host
    rules:
      - alert: DiskFull
        record: disk
        expr: up
      - alert: X
        expr: up
        for: five minutes
`,
    );
    expect(issues).toContainEqual({ file: 'r.yaml', line: 4, message: 'groups.0.rules.0: a rule needs exactly one of alert or record' });
    expect(issues).toContainEqual(expect.objectContaining({ file: 'r.yaml', line: 9, message: expect.stringContaining('groups.0.rules.1.for') }));
  });

  test('refuses repeated group names', () => {
    const { issues } = parseRuleFile('r.yaml', 'groups:\n  - { name: a, rules: [] }\n  - { name: a, rules: [] }\n');
    expect(issues[0]?.message).toContain('repeated');
  });

  test('reports an expression that does not parse, with its line', () => {
    const { issues } = parseRuleFile(
      'r.yaml',
      `groups:
  - name: host
    rules:
      - alert: Bad
        expr: rate(up[5m) > 0
`,
    );
    expect(issues).toEqual([expect.objectContaining({ file: 'r.yaml', line: 5, message: expect.stringMatching(/^groups\.0\.rules\.0\.expr: could not parse expression of Bad: /) })]);
  });

  test('reports durations out of order, bad label names and templates with unknown functions', () => {
    const { issues } = parseRuleFile(
      'r.yaml',
      `groups:
  - name: host
    interval: 1m1h
    rules:
      - alert: A
        expr: up == 0
        for: 30s5m
        labels:
          "bad-name": x
          team: "{{ $labels.team | nosuchfn }}"
        annotations:
          summary: '{{ query "up" }}'
`,
    );
    const messages = issues.map((i) => `${i.line}: ${i.message}`);
    expect(messages).toContainEqual(expect.stringMatching(/^3: groups\.0\.interval: invalid duration/));
    expect(messages).toContainEqual(expect.stringMatching(/^7: groups\.0\.rules\.0\.for: invalid duration/));
    expect(messages).toContainEqual(expect.stringMatching(/^9: .*invalid label name "bad-name"/));
    expect(messages).toContainEqual(expect.stringMatching(/^10: .*function "nosuchfn" not defined/));
    expect(messages).toContainEqual(expect.stringMatching(/^12: .*annotation "summary" of A: template: function "query" not defined/));
  });

  test('refuses recording rule names that are not metric names', () => {
    const { issues } = parseRuleFile('r.yaml', 'groups:\n  - name: a\n    rules:\n      - record: "job:up-ratio"\n        expr: up\n');
    expect(issues[0]).toMatchObject({ line: 4, message: expect.stringContaining('invalid metric name') });
  });

  test('the default rule files shipped with Pharos pass the checker', () => {
    const dir = join(import.meta.dirname, '..', 'default-rules');
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files).toEqual(expect.arrayContaining(['host.yaml', 'stack.yaml']));
    for (const f of files) {
      const { rules, issues } = parseRuleFile(join(dir, f));
      expect(issues, f).toEqual([]);
      expect(rules?.groups.length, f).toBeGreaterThan(0);
    }
  });
});
