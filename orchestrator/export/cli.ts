import type { Command } from "commander";

/** Registers this stage's subcommands (filled in by issue 12's work). */
export function registerExport(_program: Command): void {}
