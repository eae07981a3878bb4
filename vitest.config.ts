import { defineConfig } from 'vitest/config';

// Two tiers (see README "Tests"): unit and root tests beside each package, and the
// end-to-end suite that drives the built bins. Both run on the real kernel as root;
// tests that need root skip themselves, with the reason, when not root.
export default defineConfig({
  test: {
    // Forks, not threads: the tests clone() children and mount things, and a crash in
    // native code must not take the whole run down.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['packages/*/test/**/*.test.ts'] } },
      // One e2e file at a time: they share the machine's iptables, links and ip_forward,
      // and net.test.ts checks that setup + clean leave them exactly as they were.
      {
        extends: true,
        test: { name: 'e2e', include: ['test-e2e/**/*.test.ts'], fileParallelism: false, globalSetup: ['test-e2e/global-setup.ts'] },
      },
    ],
  },
});
