/** Rule evaluation: what the alerts service and the CLI wire together. */
export {
  alertsToSend,
  evalAlerts,
  fingerprint,
  needsSending,
  toAlert,
  DEFAULT_RESEND_DELAY_MS,
  RESOLVED_RETENTION_MS,
  type ActiveAlert,
  type AlertChange,
  type AlertSample,
  type AlertState,
  type Fingerprint,
  type RuleTiming,
} from './alert-state.js';
export { RuleEvaluator, type AlertStateStoreLike, type RuleEvaluatorOptions } from './evaluator.js';
export { evalTimestamp, groupOffsetMs, ruleKey, type AlertStateEvent, type PersistedAlert, type RuleHealth } from './group.js';
export { recordedToBus } from './recorded.js';
export { compileRuleFile, loadRuleFiles, DEFAULT_EVALUATION_INTERVAL_MS, type RuleGroupSpec, type RuleSpec } from './rules.js';
export { AlertStateStore, DEFAULT_STATE_TOPIC, type AlertStateStoreOptions } from './state-store.js';
