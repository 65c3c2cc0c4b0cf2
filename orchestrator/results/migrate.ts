// Older results files, brought to the current schema when read, so reports and comparisons
// keep working on runs made before per-case attempts existed.
type Json = Record<string, unknown>;
const isObj = (x: unknown): x is Json => typeof x === "object" && x !== null && !Array.isArray(x);

/**
 * Version 1 (one attempt per case, known issues frozen in as `expected`, known reports as
 * `known`) → version 2: each result gets its one attempt (guest 1), and the frozen policy is
 * dropped, because policy is now applied when results are read. Anything else is returned as is
 * for the schema to judge.
 */
export function migrateResults(raw: unknown): unknown {
  if (!isObj(raw) || raw.schema_version !== 1) return raw;
  const results = Array.isArray(raw.results) ? raw.results : [];
  const kernels = Array.isArray(raw.kernels) ? raw.kernels : [];
  return {
    ...raw,
    schema_version: 2,
    run: isObj(raw.run) ? { repeat: 1, retry_failed: 0, ...raw.run } : raw.run,
    kernels: kernels.map((k) => {
      if (!isObj(k)) return k;
      const boot = isObj(k.boot) && Array.isArray(k.boot.reports) ? { ...k.boot, reports: k.boot.reports.map((r) => (isObj(r) ? { title: r.title, line: r.line } : r)) } : k.boot;
      return { ...k, boot, reruns: [] };
    }),
    results: results.map((r) => {
      if (!isObj(r)) return r;
      const { expected: _policy, ...facts } = r;
      return { ...facts, attempts: [{ status: r.status, duration_ms: r.duration_ms, reason: r.reason, guest: 1 }] };
    }),
  };
}
