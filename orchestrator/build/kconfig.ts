// Reading Kconfig fragments and checking that olddefconfig kept what they asked for:
// a dependency the fragment forgot silently drops an option, and a lab whose kernel lacks
// CONFIG_TRANSPARENT_HUGEPAGE would report THP cases as passes of nothing.

export type ConfigValue = string; // "y", "m", "n" (for "is not set"), a number or a quoted string
export type ConfigMap = Map<string, ConfigValue>;

const SET = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/;
const UNSET = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/;

export function parseConfig(text: string): ConfigMap {
  const map: ConfigMap = new Map();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const set = SET.exec(line);
    if (set) {
      map.set(set[1]!, set[2]!);
      continue;
    }
    const unset = UNSET.exec(line);
    if (unset) map.set(unset[1]!, "n");
  }
  return map;
}

export interface DroppedOption {
  option: string;
  wanted: ConfigValue;
  got: ConfigValue;
}

/** Options the fragments asked for whose final value differs ("n" when absent). */
export function droppedOptions(requested: ConfigMap, final: ConfigMap): DroppedOption[] {
  const dropped: DroppedOption[] = [];
  for (const [option, wanted] of requested) {
    const got = final.get(option) ?? "n";
    if (got !== wanted) dropped.push({ option, wanted, got });
  }
  return dropped;
}

/** Merge fragments in order, later ones winning, as merge_config.sh does. */
export function mergeFragments(texts: string[]): ConfigMap {
  const merged: ConfigMap = new Map();
  for (const t of texts) for (const [k, v] of parseConfig(t)) merged.set(k, v);
  return merged;
}

export const formatDropped = (d: DroppedOption[]): string =>
  d.map((o) => `${o.option}=${o.wanted} (got ${o.got === "n" ? "not set" : o.got})`).join(", ");
