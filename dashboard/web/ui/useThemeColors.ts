/**
 * The theme's colours as values: canvas drawing (uPlot) cannot use CSS variables, so charts read
 * them here and redraw when the system switches between light and dark.
 */
import { useSyncExternalStore } from 'react';

export interface ThemeColors {
  text: string;
  muted: string;
  grid: string;
  surface: string;
  accent: string;
}

const query = typeof window !== 'undefined' ? window.matchMedia('(prefers-color-scheme: dark)') : null;

function subscribe(cb: () => void): () => void {
  query?.addEventListener('change', cb);
  return () => query?.removeEventListener('change', cb);
}

let cached: { dark: boolean; colors: ThemeColors } | null = null;

function snapshot(): ThemeColors {
  const dark = query?.matches ?? false;
  if (cached?.dark === dark) return cached.colors;
  const css = getComputedStyle(document.documentElement);
  const v = (name: string) => css.getPropertyValue(name).trim();
  cached = { dark, colors: { text: v('--text'), muted: v('--text-muted'), grid: v('--border'), surface: v('--surface'), accent: v('--accent') } };
  return cached.colors;
}

export function useThemeColors(): ThemeColors {
  return useSyncExternalStore(subscribe, snapshot);
}
