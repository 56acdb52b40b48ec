/** The examples in alerts/RULES.md are what the checker and the config schema accept. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { notifyConfigSchema } from '../notify/config.js';
import { parseRuleFile } from '../rules/rule-file.js';

const doc = readFileSync(join(import.meta.dirname, '..', 'RULES.md'), 'utf8');
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe('alerts/RULES.md', () => {
  it('has a log rule example that `pharos rules check` accepts', () => {
    expect(parseRuleFile('RULES.md', blocks[0]!).issues).toEqual([]);
  });

  it('has an on-call example the notification config schema accepts', () => {
    const cfg = notifyConfigSchema.parse((parse(blocks[1]!) as { alerts: { notify: unknown } }).alerts.notify);
    expect(cfg.oncall.escalation_policies[0]!.levels).toHaveLength(2);
  });
});
