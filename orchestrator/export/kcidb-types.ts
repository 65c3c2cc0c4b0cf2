// The part of KCIDB's I/O schema v5.3 (kernelci/kcidb-io, kcidb_io/schema/v05_03.py) that
// cowlab writes, as TypeScript types. The schema itself, vendored for the tests, is
// test/fixtures/kcidb/v05_03.schema.json: these types only keep the exporter honest at compile
// time (no field the schema lacks; no null, which the schema forbids everywhere).

/** The schema's status vocabulary, highest priority first (its own order, used to summarize). */
export const KCIDB_STATUSES = ["FAIL", "ERROR", "MISS", "PASS", "DONE", "SKIP"] as const;
export type KcidbStatus = (typeof KCIDB_STATUSES)[number];

export const KCIDB_VERSION = { major: 5, minor: 3 } as const;

/** Free-form extra data ("misc" objects): any JSON, never null at the top. */
export type Misc = Record<string, unknown>;

export interface KcidbCheckout {
  id: string;
  origin: string;
  tree_name?: string;
  git_repository_url?: string;
  patchset_hash?: string;
  comment?: string;
  start_time?: string;
  log_excerpt?: string;
  valid?: boolean;
  misc?: Misc;
}

export interface KcidbBuild {
  id: string;
  checkout_id: string;
  origin: string;
  comment?: string;
  start_time?: string;
  duration?: number;
  architecture?: string;
  compiler?: string;
  config_name?: string;
  config_url?: string;
  log_url?: string;
  log_excerpt?: string;
  status?: KcidbStatus;
  misc?: Misc;
}

export interface KcidbTest {
  id: string;
  build_id: string;
  origin: string;
  path: string;
  environment?: { comment?: string; misc?: Misc };
  comment?: string;
  log_url?: string;
  log_excerpt?: string;
  status?: KcidbStatus;
  start_time?: string;
  duration?: number;
  misc?: Misc;
}

export interface KcidbIssue {
  id: string;
  version: number;
  origin: string;
  report_subject?: string;
  culprit?: { code?: boolean; tool?: boolean; harness?: boolean };
  comment?: string;
  misc?: Misc;
}

export interface KcidbIncident {
  id: string;
  origin: string;
  issue_id: string;
  issue_version: number;
  build_id?: string;
  test_id?: string;
  present?: boolean;
  comment?: string;
  misc?: Misc;
}

export interface KcidbReport {
  version: { major: 5; minor: 3 };
  checkouts: KcidbCheckout[];
  builds: KcidbBuild[];
  tests: KcidbTest[];
  issues: KcidbIssue[];
  incidents: KcidbIncident[];
}
