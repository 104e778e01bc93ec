// The slow tier: a booted Debian VM under qemu (software emulation). Its own config so the normal suite
// (test/**/*.test.ts) never picks it up; CI runs it as a separate step:
//   scripts/with-node.sh 24 npx vitest run --config test/pi/vm/vitest.config.ts
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/pi/vm/*.e2e.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 1_800_000,
    pool: 'forks',
    maxWorkers: 1,
    env: { NO_COLOR: '1' },
  },
});
