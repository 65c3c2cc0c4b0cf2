// What a job's source label (KernelEntry.source, written by orchestrator/sources/) tells a
// KCIDB checkout. results.json keeps no other record of where the source came from, so the
// label's known shapes are read here, one table row per source kind; a label of another shape
// still exports, with only its text (comment) and no tree name.
import { basename } from "node:path";

/** `BASE (VERSION)`, optionally ` + SERIES (N patches)` or, from a bisection, ` + K of SERIES`. */
const LABEL = /^(?<base>.+?) \((?<version>[^()]*)\)(?: \+ (?<series>.+))?$/;

interface SourceKind {
  kind: string;
  match: RegExp;
  /** tree_name and, where the schema takes it, the repository URL */
  facts: (m: RegExpExecArray) => { tree_name: string; git_repository_url?: string; misc?: Record<string, string> };
}

const stripArchive = (file: string): string => file.replace(/\.(tar\.[a-z0-9]+|tgz|tar)$/, "");

/** First match wins. */
const KINDS: SourceKind[] = [
  // Debian's linux-source-X.Y package (sources/debian.ts): the tree is Debian's, not mainline.
  { kind: "debian", match: /^(?<pkg>linux-source-[0-9.]+)$/, facts: (m) => ({ tree_name: `debian-${m.groups!.pkg}` }) },
  // A git tree at a revision (sources/index.ts labels it REPO@SHA[:12]): only an https:// URL
  // fits the schema's git_repository_url, and 12 digits are not the full commit hash it wants.
  {
    kind: "git",
    match: /^(?<repo>.+)@(?<rev>[0-9a-f]{12})$/,
    facts: (m) => ({
      tree_name: basename(m.groups!.repo!).replace(/\.git$/, ""),
      ...(/^https:\/\//.test(m.groups!.repo!) ? { git_repository_url: m.groups!.repo! } : {}),
      misc: { git_commit_abbrev: m.groups!.rev! },
    }),
  },
  // A tarball on disk: its file name is the best name the tree has.
  { kind: "tarball", match: /^(?<path>.+)$/, facts: (m) => ({ tree_name: stripArchive(basename(m.groups!.path!)) }) },
];

export interface SourceFacts {
  tree_name?: string;
  git_repository_url?: string;
  /** true: a series was applied; false: the plain source; undefined: the label did not say */
  patched?: boolean;
  misc: Record<string, string>;
}

export function sourceFacts(label: string): SourceFacts {
  const m = LABEL.exec(label);
  if (!m) return { misc: label ? { source: label } : {} };
  const { base, version, series } = m.groups as { base: string; version: string; series?: string };
  const kind = KINDS.find((k) => k.match.test(base))!;
  const f = kind.facts(kind.match.exec(base)!);
  return {
    tree_name: f.tree_name,
    ...(f.git_repository_url ? { git_repository_url: f.git_repository_url } : {}),
    patched: series !== undefined,
    misc: { source: label, source_kind: kind.kind, source_version: version, ...(series ? { series } : {}), ...f.misc },
  };
}
