import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { renderHtml } from "../../reports/render.ts";
import { RunResults } from "../results/schema.ts";
import { writeFileAtomic } from "../util/fsx.ts";
import { InputError } from "../util/result.ts";
import { migrateResults } from "../results/migrate.ts";
import type { JudgedRun } from "../results/policy.ts";

export async function readResults(file: string): Promise<RunResults> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw new InputError(file, `cannot read results: ${(e as Error).message.split("\n")[0]}`);
  }
  if (typeof raw === "object" && raw !== null && "schema_version" in raw && typeof raw.schema_version === "number" && raw.schema_version > 2) {
    throw new InputError(file, `results schema version ${raw.schema_version} is newer than this cowlab reads (2): update cowlab`);
  }
  const parsed = RunResults.safeParse(migrateResults(raw));
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new InputError(file, `not a cowlab results file: ${i.path.join(".") || "(top level)"}: ${i.message}`);
  }
  return parsed.data;
}

/** Write index.html beside results.json (console links in it are relative to that folder). */
export async function writeReport(data: JudgedRun, outDir: string): Promise<string> {
  const path = join(outDir, "index.html");
  await writeFileAtomic(path, renderHtml(data));
  return path;
}
