/**
 * Builds the dashboard's React app into dashboard/web/dist, which the dashboard server serves.
 * `npx vite --config dashboard/web/vite.config.ts` runs it with hot reload against a dashboard
 * on 127.0.0.1:8080 (`pharos dashboard` or `npm start`).
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const API = 'http://127.0.0.1:8080';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
  },
  server: {
    proxy: {
      '/api': {
        target: API,
        ws: true,
        // The dashboard checks that a WebSocket comes from its own origin, and without tokens
        // answers loopback Host names only: present the proxied request as its own.
        changeOrigin: true,
        configure(proxy) {
          proxy.on('proxyReqWs', (proxyReq) => proxyReq.setHeader('origin', API));
        },
      },
    },
  },
});
