#!/usr/bin/env node
import module from 'node:module';
module.enableCompileCache?.();
await import('../dist/opsctl.js').catch((err) => {
  process.stderr.write(`error: opsctl could not start: ${String(err?.message ?? err).split('\n')[0]}\nhint: in a checkout, run \`npm ci\` (it builds dist/); re-installing opsctl fixes a damaged install\n`);
  process.exit(1);
});
