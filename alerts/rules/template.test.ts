import { describe, expect, test } from 'vitest';
import { checkTemplate, compileTemplate, expandTemplate } from './template.js';

const render = (src: string, value = 0.5, labels: Record<string, string> = { instance: 'h1:9100', mountpoint: '/' }) =>
  compileTemplate(src).render({ labels, value, externalLabels: { cluster: 'eu1' }, externalURL: 'http://pharos' });

describe('alert templates', () => {
  test('expands labels, value and external labels', () => {
    expect(render('{{ $labels.instance }} {{$labels.mountpoint}} is {{ $value }} in {{ $externalLabels.cluster }}')).toBe('h1:9100 / is 0.5 in eu1');
    expect(render('{{ .Labels.instance }} {{ .Value }}')).toBe('h1:9100 0.5');
    expect(render('{{ $labels.missing }}|')).toBe('|');
  });

  test('prints $value as Go prints a float64', () => {
    expect(render('{{ $value }}', 1e6)).toBe('1e+06');
    expect(render('{{ $value }}', 123456)).toBe('123456');
    expect(render('{{ $value }}', 0.0001)).toBe('0.0001');
    expect(render('{{ $value }}', 0.00001)).toBe('1e-05');
    expect(render('{{ $value }}', Infinity)).toBe('+Inf');
  });

  test('humanizes as Prometheus does', () => {
    expect(render('{{ humanize $value }}', 1234567)).toBe('1.235M');
    expect(render('{{ humanize $value }}', 0.0012)).toBe('1.2m');
    expect(render('{{ humanize $value }}', 0)).toBe('0');
    expect(render('{{ humanize1024 $value }}', 1048576)).toBe('1Mi');
    expect(render('{{ humanizePercentage $value }}', 0.9345)).toBe('93.45%');
    expect(render('{{ $value | humanizePercentage }}', 0.5)).toBe('50%');
    expect(render('{{ humanizeDuration $value }}', 93784)).toBe('1d 2h 3m 4s');
    expect(render('{{ humanizeDuration $value }}', 61)).toBe('1m 1s');
    expect(render('{{ humanizeDuration $value }}', 1.5)).toBe('1.5s');
    expect(render('{{ humanizeDuration $value }}', 0.25)).toBe('250ms');
  });

  test('formats with printf, pipes and parentheses', () => {
    expect(render('{{ printf "%.2f" $value }}', 93.456)).toBe('93.46');
    expect(render('{{ $value | printf "%.1f%%" }}', 12.34)).toBe('12.3%');
    expect(render('{{ printf "%s has %d" $labels.instance $value }}', 7)).toBe('h1:9100 has 7');
    expect(render('{{ toUpper (stripPort $labels.instance) }}')).toBe('H1');
  });

  test('trims whitespace around {{- and -}}', () => {
    expect(render('a  {{- $value -}}  b')).toBe('a0.5b');
  });

  test('refuses unknown functions, variables and control structures at check time', () => {
    expect(checkTemplate('{{ query "up" }}')).toContain('function "query" not defined');
    expect(checkTemplate('{{ $foo }}')).toContain('undefined variable');
    expect(checkTemplate('{{ if $value }}x{{ end }}')).toContain('not defined');
    expect(checkTemplate('{{ $value ')).toContain('unclosed');
    expect(checkTemplate('{{ humanize $value }} {{ printf "%.2f" $value }}')).toBeUndefined();
  });

  test('a runtime error shows in place of the text rather than dropping the alert', () => {
    expect(expandTemplate(compileTemplate('{{ humanize $labels.instance }}'), { labels: { instance: 'x' }, value: 1 })).toContain('<error expanding template');
  });
});
