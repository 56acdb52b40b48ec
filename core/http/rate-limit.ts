/**
 * Requests per second per caller: a token bucket per key (the principal's name, or the client
 * address for anonymous callers and logins). A bucket holds `burst` requests and refills at
 * `perSecond`; a request finding it empty is answered 429 with Retry-After (whole seconds, as
 * RFC 9110 says) until the next request would fit.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Principal } from './auth.js';

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/** Keys idle long enough to be full again are dropped on the next sweep: memory follows active callers. */
const MAX_KEYS = 100_000;

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweepMs = 0;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one request from the key's bucket: 0 when allowed, else the ms until one would be. */
  take(key: string): number {
    const now = this.now();
    this.sweep(now);
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= MAX_KEYS) this.buckets.delete(this.buckets.keys().next().value as string);
      b = { tokens: this.burst, updatedMs: now };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.updatedMs) / 1000) * this.perSecond);
      b.updatedMs = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - b.tokens) / this.perSecond) * 1000);
  }

  private sweep(now: number): void {
    const fullAfterMs = (this.burst / this.perSecond) * 1000;
    if (now - this.lastSweepMs < Math.max(fullAfterMs, 1000)) return;
    this.lastSweepMs = now;
    for (const [k, b] of this.buckets) if (now - b.updatedMs >= fullAfterMs) this.buckets.delete(k);
  }
}

/** The key of a request: who the token says, or where it came from when nobody is named. */
export function rateKey(req: Request, principal: Principal | undefined): string {
  if (principal && !principal.anonymous) return `principal:${principal.name}`;
  return `address:${req.socket.remoteAddress ?? 'unknown'}`;
}

/** Answers 429 with Retry-After once the caller's bucket is empty; `res.locals.rejected` says why. */
export function rateLimitMiddleware(buckets: TokenBuckets, keyOf: (req: Request, res: Response) => string): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const waitMs = buckets.take(keyOf(req, res));
    if (waitMs === 0) {
      next();
      return;
    }
    res.locals.rejected = 'rate_limited';
    res.set('Retry-After', String(Math.max(1, Math.ceil(waitMs / 1000))));
    res.status(429).json({
      status: 'error',
      errorType: 'rate_limited',
      error: `too many requests: at most ${buckets.perSecond} per second (bursts of ${buckets.burst}); retry in ${Math.max(1, Math.ceil(waitMs / 1000))} s`,
    });
  };
}
