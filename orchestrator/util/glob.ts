/** A shell-style glob (`*`, `?`) as an anchored RegExp: testcase ids, case names, known-issue cases. */
export const globRe = (g: string): RegExp => new RegExp(`^${g.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
