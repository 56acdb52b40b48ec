/**
 * Serves the built React app (Vite's `dashboard/web/dist`) with a single-page-app fallback:
 * any GET outside `/api` that is not a file answers index.html, so a reload on a client-side
 * route works. Mounted without authentication: the app holds no data, and a browser cannot
 * send a bearer token when it navigates; the app asks for a token when the API answers 401.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Express, type Response } from 'express';

/**
 * `dashboard/web/dist` under the repository root. The root is the nearest folder above this
 * file holding package.json, which is right both from source (`dashboard/server/`) and from the
 * compiled `dist/dashboard/server/`.
 */
export function defaultStaticDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dashboard', 'web', 'dist');
    const parent = dirname(dir);
    if (parent === dir) return resolve('dashboard', 'web', 'dist');
    dir = parent;
  }
}

// connect-src 'self' also covers same-origin ws:/wss: (CSP level 3), which the live channel needs.
const CSP = [
  "default-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "style-src 'self' 'unsafe-inline'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pharos</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}code{background:#8882;padding:.1em .3em;border-radius:4px}</style>
</head><body>
<h1>Pharos</h1>
<p>The dashboard web app is not built yet. Run <code>npm run build</code> (or <code>npm run build:web</code>) and reload this page.</p>
<p>The API is up: <code>/api/logs</code>, <code>/api/whoami</code>, <code>/metrics</code>.</p>
</body></html>
`;

export function mountStaticApp(app: Express, dir: string): void {
  const staticDir = resolve(dir);
  const indexFile = join(staticDir, 'index.html');
  const assetsDir = join(staticDir, 'assets');

  app.use(
    express.static(staticDir, {
      index: false,
      setHeaders(res, path) {
        res.locals.metricsRoute = 'static';
        // Vite puts a content hash in every name under assets/: they never change.
        if (path.startsWith(assetsDir)) res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
      },
    }),
  );

  app.use((req, res, next) => {
    const isApi = req.path === '/api' || req.path.startsWith('/api/');
    if ((req.method !== 'GET' && req.method !== 'HEAD') || isApi) return next();
    res.locals.metricsRoute = 'app';
    // A missing asset (favicon.ico, a stale hashed chunk) is a 404, not the app's HTML.
    if (/\.[A-Za-z0-9]{1,8}$/.test(req.path)) return void res.status(404).type('text/plain').send('not found');
    sendIndex(res, indexFile);
  });
}

function sendIndex(res: Response, indexFile: string): void {
  // Checked per request, so building while the server runs needs no restart.
  if (!existsSync(indexFile)) {
    res.status(200).type('html').set('Cache-Control', 'no-store').send(NOT_BUILT);
    return;
  }
  res.set({ 'Cache-Control': 'no-cache', 'Content-Security-Policy': CSP, 'Referrer-Policy': 'no-referrer' });
  res.sendFile(indexFile);
}
