import type { Command } from "commander";

/** `cowlab bisect` is registered here; the bisection itself lives beside it. */
export function registerBisect(_program: Command): void {}
