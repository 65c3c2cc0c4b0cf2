import { readFile } from "node:fs/promises";
import { isAbsolute, relative, resolve } from "node:path";
import { LineCounter, parseDocument, isNode } from "yaml";
import type { z } from "zod";
import { InputError } from "../util/result.ts";
import { repoRoot } from "../util/paths.ts";

/** A data file as errors name it: relative to the working directory or the repository, else absolute. */
export const shown = (file: string): string => {
  const abs = resolve(file);
  for (const base of [process.cwd(), repoRoot]) {
    const rel = relative(base, abs);
    if (rel && !rel.startsWith("..") && !isAbsolute(rel)) return rel;
  }
  return abs;
};

/**
 * Parse a YAML data file against a schema. Every failure is one InputError naming the file,
 * the line and the field, because users edit these files by hand.
 */
export async function loadYaml<S extends z.ZodType>(file: string, schema: S): Promise<z.infer<S>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new InputError(shown(file), `cannot read: ${(e as Error).message}`);
  }
  return parseYaml(text, file, schema);
}

export function parseYaml<S extends z.ZodType>(text: string, file: string, schema: S): z.infer<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const first = doc.errors[0];
  if (first) {
    const line = lineCounter.linePos(first.pos[0]).line;
    throw new InputError(`${shown(file)}:${line}`, `invalid YAML: ${first.message.split("\n")[0]}`);
  }
  const parsed = schema.safeParse(doc.toJS());
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.path.map(String);
  // Point at the deepest node of the path that exists in the document.
  const line = lineOf(doc, lineCounter, path);
  const field = path.length ? path.join(".") : "(top level)";
  throw new InputError(`${shown(file)}:${line}`, `${field}: ${issue.message}`);
}

/** "file:line" of a field of a YAML file (its deepest existing node), for errors found after parsing. */
export async function yamlLocation(file: string, path: (string | number)[]): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => "");
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  return `${shown(file)}:${lineOf(doc, lineCounter, path.map(String))}`;
}

function lineOf(doc: ReturnType<typeof parseDocument>, lineCounter: LineCounter, path: string[]): number {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return 1;
}
