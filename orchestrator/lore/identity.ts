// Who signs the Tested-by: --tested-by, else git's user.name and user.email, as `git
// commit -s` would sign.
import { execa } from "execa";
import { InputError } from "../util/result.ts";

/** "Name <email>" as trailers write it: a name, one address in angle brackets. */
const IDENTITY = /^[^<>@\n]+ <[^<>\s@]+@[^<>\s@]+>$/;

export function checkIdentity(text: string, flag = "--tested-by"): string {
  const t = text.trim().replace(/\s+/g, " ");
  if (!IDENTITY.test(t)) throw new InputError(flag, `'${text}' is not "Name <email>"`);
  return t;
}

async function gitConfig(key: string): Promise<string | undefined> {
  const r = await execa("git", ["config", "--get", key], { reject: false });
  return r.exitCode === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
}

/** The identity from git config, or undefined when user.name or user.email is not set. */
export async function gitIdentity(): Promise<string | undefined> {
  const [name, email] = await Promise.all([gitConfig("user.name"), gitConfig("user.email")]);
  return name && email ? `${name} <${email}>` : undefined;
}
