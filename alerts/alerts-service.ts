/**
 * The alerts component. Today it loads and validates the configured rule files and serves them;
 * rule evaluation, routing and receivers arrive with the alerting issue.
 */
import type { PharosConfig } from '../core/config/schema.js';
import type { Logger } from '../core/log.js';
import { parseRuleFile, type RuleFile } from './rules/rule-file.js';

export interface LoadedRules {
  files: Array<{ file: string; rules: RuleFile }>;
  errors: string[];
}

export function loadRules(config: PharosConfig, log: Logger): LoadedRules {
  const loaded: LoadedRules = { files: [], errors: [] };
  for (const file of config.alerts.rule_files) {
    let result;
    try {
      result = parseRuleFile(file);
    } catch (err) {
      loaded.errors.push(`${file}: ${(err as Error).message}`);
      continue;
    }
    for (const i of result.issues) loaded.errors.push(`${i.file}${i.line ? `:${i.line}` : ''}: ${i.message}`);
    if (result.rules && result.issues.length === 0) loaded.files.push({ file, rules: result.rules });
  }
  const ruleCount = loaded.files.reduce((n, f) => n + f.rules.groups.reduce((m, g) => m + g.rules.length, 0), 0);
  if (loaded.errors.length) log.error({ errors: loaded.errors }, 'rule files have errors; those files are not loaded');
  log.info({ files: loaded.files.length, rules: ruleCount }, 'rules loaded');
  return loaded;
}
