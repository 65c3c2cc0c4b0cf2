import type { Command } from "commander";

/** Registers this stage's subcommands (filled in by issue 12's work). */
export function registerCompare(_program: Command): void {}
