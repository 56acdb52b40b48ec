import { useEffect } from 'react';
import layout from '../../ui/PageLayout.module.css';
import { useAsync } from '../../ui/useAsync.js';
import { labelValues } from './api.js';
import type { VariableModel } from './model.js';

interface Props {
  variable: VariableModel;
  value: string;
  onChange: (value: string, fromUser: boolean) => void;
}

/** A template variable's picker: the label's values from the real-time store; picks the default once they arrive. */
export function VariablePicker({ variable, value, onChange }: Props) {
  const { value: options, error, loading } = useAsync((signal) => labelValues(variable.labelName, variable.metric, signal), [variable.labelName, variable.metric]);
  useEffect(() => {
    if (!options || value) return;
    const pick = variable.default && options.includes(variable.default) ? variable.default : options[0];
    if (pick) onChange(pick, false);
  }, [options, value, variable.default, onChange]);
  const all = options && value && !options.includes(value) ? [value, ...options] : (options ?? (value ? [value] : []));
  return (
    <label className={layout.field} title={error ? `Could not list values: ${error.message}` : undefined}>
      {variable.label ?? variable.name}
      <select className={layout.select} value={value} onChange={(e) => onChange(e.target.value, true)} aria-label={`Variable ${variable.name}`} aria-busy={loading}>
        {all.length === 0 && <option value="">{loading ? 'loading…' : error ? 'unavailable' : 'no values'}</option>}
        {all.map((v) => (
          <option key={v} value={v}>
            {v}
          </option>
        ))}
      </select>
    </label>
  );
}
