#!/usr/bin/env node
// Entry point: runs the compiled CLI (built by `npm install` through the `prepare` script).
import('../dist/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    console.error('pharos: the build is missing; run `npm run build` (npm install does it through `prepare`).');
    process.exit(1);
  }
  throw err;
});
