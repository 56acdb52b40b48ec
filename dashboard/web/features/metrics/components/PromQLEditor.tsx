/**
 * The PromQL editor: CodeMirror 6 with `@prometheus-io/codemirror-promql` for highlighting,
 * linting and completion of metric names, labels and values from our own `/api/v1/*`.
 *
 * Uncontrolled on purpose: the view owns the text while typing (React re-rendering it would move
 * the cursor); the page hears of changes and sets the text only when the URL changes under it.
 */
import { autocompletion, closeBrackets, closeBracketsKeymap, closeCompletion, completionKeymap, completionStatus } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { bracketMatching, HighlightStyle, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { lintKeymap } from '@codemirror/lint';
import { EditorState, Prec } from '@codemirror/state';
import { EditorView, keymap, placeholder } from '@codemirror/view';
import { tags } from '@lezer/highlight';
import { PromQLExtension } from '@prometheus-io/codemirror-promql';
import { useEffect, useRef } from 'react';
import { getToken } from '../../../ui/auth-token.js';
import styles from './PromQLEditor.module.css';

interface Props {
  value: string;
  onChange: (value: string) => void;
  onRun: () => void;
}

/** Colours come from the theme's variables, so the editor follows light and dark with the page. */
const highlight = HighlightStyle.define([
  { tag: tags.keyword, color: 'var(--hl-keyword)' },
  { tag: tags.function(tags.variableName), color: 'var(--hl-function)' },
  { tag: [tags.labelName], color: 'var(--hl-label)' },
  { tag: tags.string, color: 'var(--hl-string)' },
  { tag: tags.number, color: 'var(--hl-number)' },
  { tag: [tags.operator, tags.compareOperator, tags.arithmeticOperator], color: 'var(--hl-operator)' },
  { tag: tags.comment, color: 'var(--text-faint)', fontStyle: 'italic' },
  { tag: tags.invalid, color: 'var(--danger)' },
]);

const theme = EditorView.theme({
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
});

function promql(): PromQLExtension {
  return new PromQLExtension().setComplete({
    remote: {
      url: window.location.origin,
      // GET: our API's POST forms are not all there (label values), and GETs are cacheable.
      httpMethod: 'GET',
      fetchFn: (input, init) => {
        const token = getToken();
        const headers = new Headers(init?.headers);
        if (token) headers.set('authorization', `Bearer ${token}`);
        return fetch(input, { ...init, headers });
      },
      // Completion is a nicety: a failed lookup (e.g. no metadata endpoint) must not shout.
      httpErrorHandler: () => undefined,
      cache: { maxAge: 60_000 },
    },
  });
}

export function PromQLEditor({ value, onChange, onRun }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const handlers = useRef({ onChange, onRun });
  handlers.current = { onChange, onRun };

  useEffect(() => {
    const extension = promql();
    const run = (v: EditorView) => {
      closeCompletion(v);
      handlers.current.onRun();
      return true;
    };
    // With the completion list open, Enter picks the completion, as in every editor; Ctrl+Enter always runs.
    const runUnlessCompleting = (v: EditorView) => completionStatus(v.state) !== 'active' && run(v);
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          // Before the default keymap, so Enter runs instead of inserting a line break (Shift+Enter still does).
          Prec.highest(keymap.of([{ key: 'Mod-Enter', run }, { key: 'Enter', run: runUnlessCompleting }])),
          history(),
          closeBrackets(),
          bracketMatching(),
          indentOnInput(),
          autocompletion(),
          placeholder('Expression, e.g. rate(node_cpu_seconds_total{mode="user"}[1m])'),
          keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap, ...lintKeymap]),
          syntaxHighlighting(highlight),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ 'aria-label': 'PromQL expression', 'data-testid': 'promql-editor' }),
          theme,
          extension.asExtension(),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) handlers.current.onChange(u.state.doc.toString());
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
    if (v && v.state.doc.toString() !== value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
  }, [value]);

  return <div ref={host} className={styles.editor} />;
}
