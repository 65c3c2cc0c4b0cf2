// Host key checking against an OpenSSH known_hosts file, for the ssh2 transport: ssh2's
// hostVerifier hands us the raw key blob and nothing else, so the OpenSSH rules (plain and
// `[host]:port` names, hashed `|1|salt|hash` names, wildcard patterns, `@revoked`) are ours.
// Never accept an unknown key: every outcome that is not an exact match is a refusal with a
// one-line message saying what to do.
import { createHash, createHmac } from "node:crypto";

export type HostKeyCheck = { ok: true; line: number } | { ok: false; kind: "unknown" | "changed"; message: string };

/** "SHA256:<base64 without padding>", like `ssh-keygen -l`. */
export function fingerprint(keyBlob: Buffer): string {
  return "SHA256:" + createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "");
}

/** The key type inside an SSH public key blob: its first length-prefixed string. */
export function keyTypeOfBlob(keyBlob: Buffer): string | undefined {
  if (keyBlob.length < 4) return undefined;
  const len = keyBlob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > keyBlob.length) return undefined;
  return keyBlob.subarray(4, 4 + len).toString("latin1");
}

/** The name a host has in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

interface Entry {
  line: number;
  marker: "" | "@revoked" | "@cert-authority";
  hosts: string;
  keyType: string;
  blob: Buffer;
}

function parseLine(text: string, line: number): Entry | undefined {
  const t = text.trim();
  if (t === "" || t.startsWith("#")) return undefined;
  const fields = t.split(/\s+/);
  let marker: Entry["marker"] = "";
  if (fields[0]?.startsWith("@")) {
    const m = fields.shift();
    if (m !== "@revoked" && m !== "@cert-authority") return undefined; // unknown marker: OpenSSH skips the line
    marker = m;
  }
  const [hosts, keyType, b64] = fields;
  if (hosts === undefined || keyType === undefined || b64 === undefined) return undefined;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined;
  const blob = Buffer.from(b64, "base64");
  if (blob.length === 0) return undefined;
  return { line, marker, hosts, keyType, blob };
}

/** OpenSSH wildcard pattern: `*` any run, `?` one character; case-insensitive like match_hostname. */
function wildcardMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    "^" +
      pattern
        .split("")
        .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
        .join("") +
      "$",
    "is",
  );
  return re.test(name);
}

function hashedMatch(entry: string, name: string): boolean {
  // |1|base64(salt)|base64(HMAC-SHA1(salt, name))
  const parts = entry.split("|");
  if (parts.length !== 4 || parts[1] !== "1") return false;
  const salt = Buffer.from(parts[2] ?? "", "base64");
  const want = parts[3] ?? "";
  const got = createHmac("sha1", salt).update(name).digest("base64");
  return got === want;
}

/** Does a known_hosts host field (comma list, hashed, wildcards, `!negation`) name this host? */
function hostsMatch(hostsField: string, name: string): boolean {
  if (hostsField.startsWith("|")) return hashedMatch(hostsField, name);
  let matched = false;
  for (const raw of hostsField.split(",")) {
    if (raw === "") continue;
    const negated = raw.startsWith("!");
    const pat = negated ? raw.slice(1) : raw;
    if (wildcardMatch(pat, name)) {
      if (negated) return false; // a negated match excludes the host whatever else matches
      matched = true;
    }
  }
  return matched;
}

/**
 * Check the key the server offered (its algorithm and raw blob) against known_hosts text.
 * `file` is only used in messages. Exact match of type and blob on a line naming the host
 * is accepted; an `@revoked` line with the same key refuses ("changed", the message says
 * revoked); other keys for the host are "changed"; no entry for the host is "unknown".
 * `@cert-authority` lines are ignored (host certificates are not supported here).
 */
export function checkHostKey(
  knownHostsText: string,
  host: string,
  port: number,
  keyType: string,
  keyBlob: Buffer,
  file: string,
): HostKeyCheck {
  const name = knownHostsName(host, port);
  const hp = `${host}:${port}`;
  const fp = fingerprint(keyBlob);
  const entries: Entry[] = [];
  knownHostsText.split(/\r?\n/).forEach((l, i) => {
    const e = parseLine(l, i + 1);
    if (e !== undefined && e.marker !== "@cert-authority" && hostsMatch(e.hosts, name)) entries.push(e);
  });

  const same = (e: Entry) => e.blob.equals(keyBlob);
  const revoked = entries.find((e) => e.marker === "@revoked" && same(e));
  if (revoked !== undefined) {
    return {
      ok: false,
      kind: "changed",
      message: `host key of ${hp} is REVOKED: ${file} line ${revoked.line} marks ${keyType} ${fp} @revoked; refusing (the host must be given a new key)`,
    };
  }
  const plain = entries.filter((e) => e.marker === "");
  const match = plain.find(same);
  if (match !== undefined) return { ok: true, line: match.line };

  const removeCmd = `ssh-keygen -R '${name}' -f ${file}`;
  const other = plain.find((e) => e.keyType === keyType) ?? plain[0];
  if (other !== undefined) {
    const sameType = other.keyType === keyType;
    return {
      ok: false,
      kind: "changed",
      message:
        `host key of ${hp} CHANGED: ${file} line ${other.line} has ${sameType ? "" : other.keyType + " "}${fingerprint(other.blob)}, ` +
        `the host offered ${sameType ? "" : keyType + " "}${fp}; refusing (if the host was reinstalled, remove the line with ${removeCmd})`,
    };
  }
  const scan = port === 22 ? `ssh-keyscan ${host}` : `ssh-keyscan -p ${port} ${host}`;
  return {
    ok: false,
    kind: "unknown",
    message: `host key of ${hp} is not in ${file} (offered ${keyType} ${fp}); check it and add it with: ${scan} >> ${file}`,
  };
}
