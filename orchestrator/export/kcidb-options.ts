// The command line's words for the KCIDB export, checked before any file is read: a bad
// origin or URL would otherwise surface only as a schema rejection at submit time.
import { InputError } from "../util/result.ts";
import type { KcidbOptions } from "./kcidb.ts";
import { ORIGIN_RE } from "./kcidb-vocab.ts";

export function kcidbOptions(raw: { origin: string; artifactsUrl?: string }): KcidbOptions {
  if (!ORIGIN_RE.test(raw.origin)) throw new InputError("--origin", `'${raw.origin}' is not a KCIDB origin (lowercase letters, digits and _ only, e.g. cowlab)`);
  if (raw.artifactsUrl === undefined) return { origin: raw.origin };
  let url: URL;
  try {
    url = new URL(raw.artifactsUrl);
  } catch {
    throw new InputError("--artifacts-url", `'${raw.artifactsUrl}' is not an absolute URL (e.g. https://example.org/runs/RUN/)`);
  }
  if (!/^https?:$/.test(url.protocol)) throw new InputError("--artifacts-url", `'${raw.artifactsUrl}' is not an http(s) URL: KCIDB readers fetch logs from it`);
  return { origin: raw.origin, artifactsUrl: url.href };
}
