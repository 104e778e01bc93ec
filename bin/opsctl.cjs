#!/usr/bin/env node
// The whole entry is dist/launch.cjs, built from src/launch.ts by `npm run build`.
let launch;
try {
  launch = require('../dist/launch.cjs');
} catch (err) {
  process.stderr.write(`error: opsctl could not start: ${String(err && err.message).split('\n')[0]}\nhint: in a checkout, run \`npm ci\` (it builds dist/); re-installing opsctl fixes a damaged install\n`);
  process.exit(1);
}
launch.start(require('node:path').join(__dirname, '..', 'dist'));
