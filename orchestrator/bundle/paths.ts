// Where a result's replay bundle lives in its run folder. One name for the writer (`cowlab
// bundle`) and the readers (the report's links), so a link and its archive cannot drift apart.
import type { CaseResult } from "../results/schema.ts";

const slug = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, "_");

/** The bundle of one case result, relative to the run folder (where results.json is). */
export function bundleFile(r: Pick<CaseResult, "job" | "testcase" | "case">): string {
  return `bundles/${slug(r.job.replaceAll("/", "-"))}--${slug(r.testcase)}--${slug(r.case)}.tar.gz`;
}
