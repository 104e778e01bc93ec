import { defineConfig } from 'vitest/config';

/**
 * Three tiers, chosen by file name so a job folder needs no config change:
 *  - unit: `*.unit.test.ts`, plus the pure files listed below that predate the
 *    naming. argv → options, parsers, analysis: no build, no system services
 *    (`npm run test:unit`, seconds).
 *  - e2e: `*.e2e.test.ts`, `e2e.test.ts` and `cli.test.ts`: the built binary.
 *  - integration: every other `*.test.ts`: command `run()` against real local
 *    services (PostgreSQL, Pebble, sshd, cognito-local) or wire-level stand-ins.
 * integration and e2e rebuild dist/ first when src/ is newer (test/support/build.ts).
 */
const unitFiles = [
  'test/**/*.unit.test.ts',
  'test/ecs-ssh/options.test.ts',
  'test/pg/analysis.test.ts',
  'test/pg/connection.test.ts',
  'test/pi/parse.test.ts',
  'test/cognito/units.test.ts',
  'test/foundation/config.test.ts',
  'test/foundation/errors.test.ts',
  'test/foundation/lib.test.ts',
];
const e2eFiles = ['test/**/*.e2e.test.ts', 'test/**/e2e.test.ts', 'test/**/cli.test.ts', 'test/foundation/package.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.ts'],
    env: { NO_COLOR: '1' },
    projects: [
      { extends: true, test: { name: 'unit', include: unitFiles } },
      { extends: true, test: { name: 'integration', include: ['test/**/*.test.ts'], exclude: [...unitFiles, ...e2eFiles], globalSetup: ['./test/support/build.ts'] } },
      { extends: true, test: { name: 'e2e', include: e2eFiles, exclude: unitFiles, globalSetup: ['./test/support/build.ts'] } },
    ],
  },
});
