// Regenerates orchestrator/results/results.schema.json from the zod definitions.
import { writeFile } from "node:fs/promises";
import { resultsJsonSchema } from "../orchestrator/results/schema.ts";
import { repoPath } from "../orchestrator/util/paths.ts";

await writeFile(repoPath("orchestrator", "results", "results.schema.json"), JSON.stringify(resultsJsonSchema(), null, 2) + "\n");
