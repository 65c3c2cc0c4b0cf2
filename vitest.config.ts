import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests build kernels and boot QEMU guests: they share the two cores, so
    // files run one after another rather than fighting over them.
    fileParallelism: false,
    // The kernels several integration files share, built first in a fixed order (see the file).
    globalSetup: ["test/integration/global-setup.ts"],
    testTimeout: 20_000,
    reporters: ["default"],
  },
});
