/**
 * Inhibition (Alertmanager `inhibit/inhibit.go`): a target alert is muted while a firing source
 * alert has equal values for the `equal` labels. An alert never inhibits itself.
 */
import type { Alert, Labels } from '../model.js';
import type { InhibitRuleConfig } from './config.js';
import { formatLabels, matchesAll, parseMatchers, type CompiledMatcher } from './matchers.js';
import type { Muter } from './mute-stage.js';
import { isFiring } from './stages.js';

interface Rule {
  source: CompiledMatcher[];
  target: CompiledMatcher[];
  equal: readonly string[];
}

export class Inhibitor implements Muter {
  private readonly rules: Rule[];

  constructor(rules: readonly InhibitRuleConfig[], private readonly alerts: () => Iterable<Alert>) {
    this.rules = rules.map((r) => ({ source: r.source_matchers.flatMap(parseMatchers), target: r.target_matchers.flatMap(parseMatchers), equal: r.equal }));
  }

  /** Fingerprints of the source alerts inhibiting these labels. */
  mutedBy(labels: Labels, nowMs: number): string[] {
    const out = new Set<string>();
    const self = formatLabels(labels);
    for (const r of this.rules) {
      if (!matchesAll(r.target, labels)) continue;
      for (const a of this.alerts()) {
        if (!isFiring(a, nowMs) || !matchesAll(r.source, a.labels)) continue;
        if (!r.equal.every((n) => (a.labels[n] ?? '') === (labels[n] ?? ''))) continue;
        if (formatLabels(a.labels) === self) continue;
        out.add(a.fingerprint);
      }
    }
    return [...out];
  }
}
