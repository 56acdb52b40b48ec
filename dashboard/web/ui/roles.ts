/**
 * The server's role order (core/http/auth.ts): each role has every right of the ones before it.
 * The app hides what the caller may not do; the server refuses it anyway.
 */
const ORDER = ['viewer', 'operator', 'analyst', 'admin'] as const;

/** True when `role` is at least `needed`; an unknown caller (whoami not answered yet) is given the benefit. */
export function hasRole(role: string | undefined, needed: (typeof ORDER)[number]): boolean {
  if (role === undefined) return true;
  return ORDER.indexOf(role as (typeof ORDER)[number]) >= ORDER.indexOf(needed);
}
