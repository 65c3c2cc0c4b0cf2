import { configDefaults, defineConfig } from "vitest/config";

// The unit tier (`npm run test:unit`): test/*.test.ts only, so no kernel builds, no QEMU,
// no root and no scripts/setup.sh. test/integration/ builds and boots kernels, and
// report-browser.test.ts needs the Chromium that setup.sh installs with apt: both run
// in `npm test` (vitest.config.ts) only.
export default defineConfig({
  test: {
    include: ["test/*.test.ts"],
    exclude: [...configDefaults.exclude, "test/integration/**", "test/report-browser.test.ts"],
    testTimeout: 20_000,
    reporters: ["default"],
  },
});
