// Kernel version ranges for known issues: "<5.19", ">=6.2 <6.5", "5.10", "<5.19 || >=7.0".

export function parseVersion(v: string): number[] {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(v.trim());
  if (!m) return [];
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  for (let i = 0; i < 3; i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d) return Math.sign(d);
  }
  return 0;
}

/** Does `version` (a release like 6.12.117 or 5.10.0-cowlab) satisfy the range? */
export function inRange(version: string, range: string): boolean {
  if (!parseVersion(version).length) return false;
  return range.split("||").some((alt) =>
    alt
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .every((term) => {
        const m = /^(<=|>=|<|>|=)?\s*(\d+(?:\.\d+){0,2})$/.exec(term);
        if (!m) throw new Error(`bad version range term '${term}' in '${range}'`);
        const op = m[1] ?? "=";
        const want = m[2]!;
        const c = compareVersions(version, want);
        if (op === "=") {
          // "5.10" matches every 5.10.x: compare only the given components.
          const parts = want.split(".").length;
          return parseVersion(version).slice(0, parts).join(".") === parseVersion(want).slice(0, parts).join(".");
        }
        return op === "<" ? c < 0 : op === "<=" ? c <= 0 : op === ">" ? c > 0 : c >= 0;
      }),
  );
}
