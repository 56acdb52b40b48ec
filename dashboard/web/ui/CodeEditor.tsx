/**
 * A CodeMirror 6 editor as a React component, shared by the PromQL and SQL editors: theme and
 * highlight colours from the page's variables (light and dark follow the page), history,
 * brackets, completion, and Mod-Enter to run. The language comes from the caller.
 *
 * Uncontrolled on purpose: the view owns the text while typing (React re-rendering it would move
 * the cursor); the page hears of changes and sets the text only when it changes from outside.
 */
import { autocompletion, closeBrackets, closeBracketsKeymap, closeCompletion, completionKeymap, completionStatus } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { bracketMatching, HighlightStyle, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { EditorState, Prec, type Extension } from '@codemirror/state';
import { EditorView, keymap, placeholder as placeholderText, type KeyBinding } from '@codemirror/view';
import { tags } from '@lezer/highlight';
import { useEffect, useRef } from 'react';
import { cx } from './cx.js';
import styles from './CodeEditor.module.css';

export interface CodeEditorProps {
  value: string;
  onChange: (value: string) => void;
  onRun: () => void;
  /** The language's extensions (highlighting, completion, linting); called once, at mount. */
  language: () => Extension[];
  placeholder: string;
  label: string;
  testId: string;
  /** Enter runs too (one-line languages); with the completion list open, Enter still picks. */
  runOnEnter?: boolean;
  /** More key bindings after the defaults (e.g. the lint keymap). */
  extraKeys?: readonly KeyBinding[];
  /** Theme rules on top of the shared ones (e.g. a minimum height). */
  themeOverrides?: Parameters<typeof EditorView.theme>[0];
  className?: string;
}

const highlight = HighlightStyle.define([
  { tag: tags.keyword, color: 'var(--hl-keyword)' },
  { tag: [tags.function(tags.variableName), tags.standard(tags.name)], color: 'var(--hl-function)' },
  { tag: [tags.labelName, tags.typeName], color: 'var(--hl-label)' },
  { tag: [tags.string, tags.special(tags.string)], color: 'var(--hl-string)' },
  { tag: tags.number, color: 'var(--hl-number)' },
  { tag: [tags.operator, tags.compareOperator, tags.arithmeticOperator], color: 'var(--hl-operator)' },
  { tag: [tags.comment, tags.lineComment, tags.blockComment], color: 'var(--text-faint)', fontStyle: 'italic' },
  { tag: tags.invalid, color: 'var(--danger)' },
]);

const baseTheme: Parameters<typeof EditorView.theme>[0] = {
  '&': { fontSize: '13.5px', backgroundColor: 'transparent', color: 'var(--text)' },
  '&.cm-focused': { outline: 'none' },
  '.cm-content': { fontFamily: 'var(--font-mono)', padding: '7px 0', caretColor: 'var(--text)' },
  '.cm-line': { padding: '0 10px' },
  '.cm-scroller': { fontFamily: 'var(--font-mono)', lineHeight: '1.5' },
  '.cm-placeholder': { color: 'var(--text-faint)' },
  '.cm-cursor': { borderLeftColor: 'var(--text)' },
  '&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection': { backgroundColor: 'color-mix(in srgb, var(--focus) 25%, transparent)' },
  '.cm-tooltip': { backgroundColor: 'var(--surface)', border: '1px solid var(--border-strong)', borderRadius: '6px', boxShadow: 'var(--shadow)', color: 'var(--text)' },
  '.cm-tooltip-autocomplete > ul': { fontFamily: 'var(--font-mono)', fontSize: '12.5px', maxHeight: '16em' },
  '.cm-tooltip-autocomplete > ul > li[aria-selected]': { backgroundColor: 'var(--accent-soft)', color: 'var(--text)' },
  '.cm-completionDetail': { color: 'var(--text-faint)', fontStyle: 'normal', marginLeft: '1em' },
  '.cm-completionInfo': { padding: '6px 10px', maxWidth: '32em' },
  '.cm-diagnostic-error': { borderLeftColor: 'var(--danger)' },
  '.cm-matchingBracket': { backgroundColor: 'var(--surface-sunken)', outline: '1px solid var(--border-strong)' },
};

export function CodeEditor(props: CodeEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const latest = useRef(props);
  latest.current = props;

  useEffect(() => {
    const p = latest.current;
    const run = (v: EditorView) => {
      closeCompletion(v);
      latest.current.onRun();
      return true;
    };
    const runKeys: KeyBinding[] = [{ key: 'Mod-Enter', run }];
    // With the completion list open, Enter picks the completion, as in every editor.
    if (p.runOnEnter) runKeys.push({ key: 'Enter', run: (v) => completionStatus(v.state) !== 'active' && run(v) });
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: p.value,
        extensions: [
          // Before the default keymap, so the run keys win over a line break.
          Prec.highest(keymap.of(runKeys)),
          history(),
          closeBrackets(),
          bracketMatching(),
          indentOnInput(),
          autocompletion(),
          ...p.language(),
          placeholderText(p.placeholder),
          keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap, ...(p.extraKeys ?? [])]),
          syntaxHighlighting(highlight),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ 'aria-label': p.label, 'data-testid': p.testId }),
          EditorView.theme({ ...baseTheme, ...p.themeOverrides }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) latest.current.onChange(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
    // Built once: later values arrive through the effect below, without losing cursor and history.
  }, []);

  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== props.value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: props.value } });
  }, [props.value]);

  return <div ref={host} className={cx(styles.editor, props.className)} />;
}
