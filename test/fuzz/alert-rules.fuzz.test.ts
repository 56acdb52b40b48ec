/**
 * Alert rule files (YAML, Prometheus format), their label and annotation templates, and
 * durations: a rule file of any content gives rules or issues with lines, never an exception; a
 * template compiles or throws TemplateError, and renders or gives Prometheus's error text.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { durationMs, parseDurationMs } from '../../alerts/rules/duration.js';
import { parseRuleFile } from '../../alerts/rules/rule-file.js';
import { checkTemplate, compileTemplate, expandTemplate, TemplateError } from '../../alerts/rules/template.js';
import { expectTyped, fromFragments, fuzz, mutatedText, randomText } from './kit.js';

const rulesDir = fileURLToPath(new URL('../../alerts/default-rules/', import.meta.url));
const RULE_FILES = ['host.yaml', 'stack.yaml'].map((f) => readFileSync(rulesDir + f, 'utf8'));
const SMALL_RULES = `groups:
  - name: g
    interval: 30s
    rules:
      - alert: HighLoad
        expr: node_load1 > 2 * count by (instance) (node_cpu_seconds_total{mode="idle"})
        for: 5m
        labels: { severity: page, team: "{{ $labels.instance }}" }
        annotations:
          summary: 'Load {{ $value | humanize }} on {{ $labels.instance }}'
      - record: job:up:sum
        expr: sum by (job) (up)
`;

/** YAML-shaped text from the pieces rule files are made of, anchors and tags included. */
const YAML_FRAGMENTS = [
  'groups:', '\n', '  ', '- ', 'name: g', 'rules:', 'alert: A', 'record: r:x', 'expr: up == 0', 'for: 5m', 'interval: 1h30m', 'limit: -1',
  'labels:', 'annotations:', 'severity: page', "summary: '{{ $value }}'", '&a ', '*a', '<<: *a', '!!str ', '!!binary ', '!!timestamp ', '? ', ': ', '{', '}', '[', ']', ',', '"', "'", '|', '>', '#', '---', '...', '%YAML 1.2', '\t', 'null', '~', '0x1f', '.inf',
];

/** Aliases multiplied: yaml refuses past its alias budget (the billion laughs). */
const aliasBomb = fc.integer({ min: 2, max: 8 }).map((levels) => {
  let text = 'a0: &a0 [x, x, x, x, x, x, x, x, x]\n';
  for (let i = 1; i <= levels; i++) text += `a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]\n`;
  return text;
});

// Past ~1000 levels yaml reports its own stack overflow as a parse error; deeper only costs time inside the library.
const deepYaml = fc.tuple(fc.integer({ min: 100, max: 2_000 }), fc.constantFrom('[', '{a: ', '- ')).map(([n, open]) => `groups: ${open === '- ' ? '\n' + Array.from({ length: Math.min(n, 300) }, (_, i) => ' '.repeat(i) + '- ').join('\n') + 'x' : open.repeat(n)}`);

const ruleText = fc.oneof(
  { arbitrary: mutatedText([...RULE_FILES, SMALL_RULES], 6), weight: 4 },
  { arbitrary: fromFragments(YAML_FRAGMENTS, 30), weight: 2 },
  { arbitrary: randomText(300), weight: 1 },
  { arbitrary: aliasBomb, weight: 1 },
  { arbitrary: deepYaml, weight: 1 },
  { arbitrary: fc.constantFrom('a: *x', '*', '&', 'groups: *undefined', 'groups: [*a]', '- &a x\n- *b'), weight: 1 },
);

const TEMPLATE_FRAGMENTS = [
  '{{', '}}', '{{-', '-}}', ' ', '$labels', '$labels.instance', '.Labels.job', '$value', '.Value', '$externalLabels.cluster', '$externalURL', '|', '(', ')',
  'humanize', 'humanize1024', 'humanizePercentage', 'humanizeDuration', 'printf', 'toUpper', 'toLower', 'title', 'stripPort',
  '"%s"', '"%d"', '"%.2f"', '"%.200f"', '"%999999999d"', '"%.101e"', '"%x"', '"%q"', '"%-8v|"', '"%+05g"', '"%.150g"', '"%"', '"\\"', '`raw`', '1e308', '-1', '0', 'NaN', '"abc"',
  '/* c */', 'if', 'range', '$x', 'text ',
];

const FUNCTIONS = ['humanize', 'humanize1024', 'humanizePercentage', 'humanizeDuration', 'printf', 'toUpper', 'toLower', 'title', 'stripPort'];
const OPERANDS = ['$value', '$labels', '$labels.instance', '.Labels.x', '$externalURL', '"h:80"', '"[::1]:9"', '1e308', '-0', '"NaN"', '""', '`raw`'];
/** printf formats from their grammar: flags, width and precision (huge ones too), verb. */
const printfFormat = fc
  .tuple(fc.constantFrom('', '-', '+', '0', ' ', '-0+'), fc.constantFrom('', '1', '8', '101', '1000000', '1000001', '99999999', '999999999999'), fc.constantFrom('', '.0', '.2', '.100', '.101', '.150', '.1000001'), fc.constantFrom(...'svdfeEgqx%'), fc.constantFrom('', ' %s', '%'))
  .map(([flags, width, prec, verb, tail]) => `"%${flags}${width}${prec}${verb}${tail}"`);
/** Actions built from the template grammar: calls with arguments, pipes, parentheses. */
const action = fc.letrec<{ pipe: string }>((tie) => ({
  pipe: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(...OPERANDS),
    fc.tuple(fc.constantFrom(...FUNCTIONS), fc.array(fc.oneof(fc.constantFrom(...OPERANDS), printfFormat, tie('pipe').map((p) => `(${p})`)), { maxLength: 3 })).map(([f, args]) => [f, ...args].join(' ')),
    fc.tuple(tie('pipe'), fc.constantFrom(...FUNCTIONS)).map(([p, f]) => `${p} | ${f}`),
    fc.tuple(printfFormat, fc.array(fc.constantFrom(...OPERANDS), { maxLength: 3 })).map(([fmt, args]) => `printf ${fmt} ${args.join(' ')}`),
  ),
})).pipe;
const structuredTemplate = fc.array(fc.oneof(action.map((a) => `{{ ${a} }}`), action.map((a) => `{{- ${a} -}}`), fc.constantFrom('text ', ' ', '{{/* c */}}')), { minLength: 1, maxLength: 4 }).map((parts) => parts.join(''));

const templates = fc.oneof(
  { arbitrary: structuredTemplate, weight: 3 },
  fromFragments(TEMPLATE_FRAGMENTS, 14),
  mutatedText(['{{ $labels.instance }} is {{ $value | humanize }}', '{{ printf "%.2f%%" $value }} on {{ $labels.job | toUpper }}', '{{- humanizeDuration $value -}} {{ (stripPort $labels.instance) }}']),
  randomText(80),
  fc.tuple(fc.integer({ min: 10, max: 20_000 }), fc.constantFrom('(', '( toUpper ')).map(([n, open]) => `{{ ${open.repeat(n)}"x"${')'.repeat(n)} }}`),
);

const values = fc.oneof(fc.double(), fc.constantFrom(0, -0, 1e308, -1e-320, Infinity, -Infinity, NaN, 2 ** 53, 93784));

describe('rule files', () => {
  fuzz('any text gives rules or issues, never an exception', ruleText, (text) => {
    const r = expectTyped('parseRuleFile', text, () => parseRuleFile('rules.yaml', text));
    if (r.ok) for (const issue of r.value.issues) expect(typeof issue.message).toBe('string');
  }, 150);
});

describe('templates', () => {
  fuzz('compile or TemplateError; render or the error text', fc.tuple(templates, values, fc.dictionary(fc.constantFrom('instance', 'job', 'x'), randomText(20), { maxKeys: 3 })), ([source, value, labels]) => {
    expectTyped('checkTemplate', source, () => checkTemplate(source));
    const compiled = expectTyped('compileTemplate', source, () => compileTemplate(source), TemplateError);
    if (!compiled.ok) return;
    const out = expectTyped('expandTemplate', { source, value, labels }, () => expandTemplate(compiled.value, { labels, value, externalLabels: { cluster: 'eu1' }, externalURL: 'http://x' }));
    // Go's fmt caps a width at 1e6: output grows with the template, never with a number in it.
    if (out.ok) expect(out.value.length).toBeLessThanOrEqual((source.length + 1) * 1_000_100);
  }, 600);
});

describe('durations', () => {
  fuzz('parse to a whole number of ms or undefined', fc.oneof(fromFragments(['1', '0', '99999999999999999999', 'y', 'w', 'd', 'h', 'm', 's', 'ms', '-', ' ', '.5'], 8), randomText(20)), (text) => {
    const r = expectTyped('parseDurationMs', text, () => parseDurationMs(text));
    if (r.ok && r.value !== undefined) expect(Number.isSafeInteger(r.value) && r.value >= 0).toBe(true);
    expectTyped('durationMs', text, () => durationMs(text), Error);
  });
});
