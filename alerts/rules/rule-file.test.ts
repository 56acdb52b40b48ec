import { describe, expect, test } from 'vitest';
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
});
