// known_hosts checking for the SSH transport: the OpenSSH name forms (plain, [host]:port,
// hashed, comma lists, wildcards), @revoked and @cert-authority, unknown vs changed, and
// fingerprints equal to ssh-keygen's. Keys and hashed lines come from ssh-keygen itself.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkHostKey, fingerprint, keyTypeOfBlob } from "../orchestrator/ssh/known-hosts.ts";

let dir: string;
interface Key {
  line: string; // "type base64 comment"
  type: string;
  b64: string;
  blob: Buffer;
  file: string;
}
const keys: Record<string, Key> = {};

function makeKey(name: string, type: "ed25519" | "ecdsa"): Key {
  const file = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", name, "-f", file]);
  const line = readFileSync(`${file}.pub`, "utf8").trim();
  const [t, b64] = line.split(" ") as [string, string];
  return { line, type: t, b64, blob: Buffer.from(b64, "base64"), file };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "cowlab-kh-"));
  keys.a = makeKey("a", "ed25519");
  keys.b = makeKey("b", "ed25519");
  keys.e = makeKey("e", "ecdsa");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const K = (n: string): Key => keys[n]!;
const F = "/x/known_hosts";

describe("checkHostKey", () => {
  it("accepts a plain name on port 22 and reports the line", () => {
    const text = `# comment\n\nother.example ${K("b").type} ${K("b").b64}\nbox.example ${K("a").type} ${K("a").b64} root@box\n`;
    expect(checkHostKey(text, "box.example", 22, K("a").type, K("a").blob, F)).toEqual({ ok: true, line: 4 });
  });

  it("needs [host]:port for other ports: a plain entry does not cover port 2222", () => {
    const plain = `127.0.0.1 ${K("a").type} ${K("a").b64}\n`;
    const r = checkHostKey(plain, "127.0.0.1", 2222, K("a").type, K("a").blob, F);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.kind).toBe("unknown");
      expect(r.message).toBe(
        `host key of 127.0.0.1:2222 is not in /x/known_hosts (offered ssh-ed25519 ${fingerprint(K("a").blob)}); check it and add it with: ssh-keyscan -p 2222 127.0.0.1 >> /x/known_hosts`,
      );
    }
    const bracketed = `[127.0.0.1]:2222 ${K("a").type} ${K("a").b64}\n`;
    expect(checkHostKey(bracketed, "127.0.0.1", 2222, K("a").type, K("a").blob, F)).toEqual({ ok: true, line: 1 });
    // and [host]:22 is not how port 22 is written
    expect(checkHostKey(`[127.0.0.1]:22 ${K("a").type} ${K("a").b64}\n`, "127.0.0.1", 22, K("a").type, K("a").blob, F).ok).toBe(false);
  });

  it("matches comma lists and wildcards, and honours !negation", () => {
    const text = `alpha,[127.0.0.1]:2200,gamma ${K("a").type} ${K("a").b64}\n*.lab.example,!bad.lab.example ${K("b").type} ${K("b").b64}\n`;
    expect(checkHostKey(text, "127.0.0.1", 2200, K("a").type, K("a").blob, F)).toEqual({ ok: true, line: 1 });
    expect(checkHostKey(text, "gamma", 22, K("a").type, K("a").blob, F)).toEqual({ ok: true, line: 1 });
    expect(checkHostKey(text, "x.lab.example", 22, K("b").type, K("b").blob, F)).toEqual({ ok: true, line: 2 });
    const neg = checkHostKey(text, "bad.lab.example", 22, K("b").type, K("b").blob, F);
    expect(neg.ok === false && neg.kind).toBe("unknown");
  });

  it("matches hashed entries made by ssh-keygen -H, for plain and [host]:port names", () => {
    const file = join(dir, "known_hosts_hashed");
    writeFileSync(file, `[127.0.0.1]:2222 ${K("a").type} ${K("a").b64}\nbox.example ${K("b").type} ${K("b").b64}\n`);
    execFileSync("ssh-keygen", ["-H", "-f", file], { stdio: "ignore" });
    const text = readFileSync(file, "utf8");
    expect(text).not.toContain("127.0.0.1");
    expect(text).not.toContain("box.example");
    expect(text.split("\n")[0]).toMatch(/^\|1\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+ ssh-ed25519 /);
    const line = (needle: string) => text.split("\n").findIndex((l) => l.includes(needle)) + 1;
    expect(checkHostKey(text, "127.0.0.1", 2222, K("a").type, K("a").blob, file)).toEqual({ ok: true, line: line(K("a").b64) });
    expect(checkHostKey(text, "box.example", 22, K("b").type, K("b").blob, file)).toEqual({ ok: true, line: line(K("b").b64) });
    // a hashed entry for one host says nothing about another
    const r = checkHostKey(text, "127.0.0.1", 2223, K("a").type, K("a").blob, file);
    expect(r.ok === false && r.kind).toBe("unknown");
    // and a hashed entry with another key is "changed", naming the line
    const c = checkHostKey(text, "127.0.0.1", 2222, K("b").type, K("b").blob, file);
    expect(c.ok).toBe(false);
    if (!c.ok) {
      expect(c.kind).toBe("changed");
      expect(c.message).toContain(`${file} line ${line(K("a").b64)} has ${fingerprint(K("a").blob)}`);
    }
  });

  it("says CHANGED, with both fingerprints and the ssh-keygen -R command, when the host has another key of the type", () => {
    const text = `# old\n\n[127.0.0.1]:2222 ${K("a").type} ${K("a").b64}\n`;
    const r = checkHostKey(text, "127.0.0.1", 2222, K("b").type, K("b").blob, F);
    expect(r).toEqual({
      ok: false,
      kind: "changed",
      message: `host key of 127.0.0.1:2222 CHANGED: /x/known_hosts line 3 has ${fingerprint(K("a").blob)}, the host offered ${fingerprint(K("b").blob)}; refusing (if the host was reinstalled, remove the line with ssh-keygen -R '[127.0.0.1]:2222' -f /x/known_hosts)`,
    });
  });

  it("says changed when the host only has keys of other types, naming both types", () => {
    const text = `box ${K("e").type} ${K("e").b64}\n`;
    const r = checkHostKey(text, "box", 22, K("a").type, K("a").blob, F);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.kind).toBe("changed");
      expect(r.message).toContain(`line 1 has ecdsa-sha2-nistp256 ${fingerprint(K("e").blob)}, the host offered ssh-ed25519 ${fingerprint(K("a").blob)}`);
      expect(r.message).toContain("ssh-keygen -R 'box' -f /x/known_hosts");
    }
    // another key of the right type anywhere for the host still matches
    expect(checkHostKey(text + `box ${K("a").type} ${K("a").b64}\n`, "box", 22, K("a").type, K("a").blob, F)).toEqual({ ok: true, line: 2 });
  });

  it("refuses an @revoked key even when a plain line lists it too", () => {
    const text = `box ${K("a").type} ${K("a").b64}\n@revoked * ${K("a").type} ${K("a").b64}\n`;
    const r = checkHostKey(text, "box", 22, K("a").type, K("a").blob, F);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.kind).toBe("changed");
      expect(r.message).toBe(`host key of box:22 is REVOKED: /x/known_hosts line 2 marks ssh-ed25519 ${fingerprint(K("a").blob)} @revoked; refusing (the host must be given a new key)`);
    }
    // a revoked line for another key does not block this one
    expect(checkHostKey(`@revoked * ${K("b").type} ${K("b").b64}\n` + `box ${K("a").type} ${K("a").b64}\n`, "box", 22, K("a").type, K("a").blob, F)).toEqual({
      ok: true,
      line: 2,
    });
  });

  it("ignores @cert-authority lines: a CA key is not the host's key", () => {
    const text = `@cert-authority * ${K("a").type} ${K("a").b64}\n`;
    const r = checkHostKey(text, "box", 22, K("a").type, K("a").blob, F);
    expect(r.ok === false && r.kind).toBe("unknown");
  });

  it("says unknown for an empty file and for garbage lines, never accepts", () => {
    for (const text of ["", "garbage\n", `box ${K("a").type} !!notbase64!!\n`]) {
      const r = checkHostKey(text, "box", 22, K("a").type, K("a").blob, F);
      expect(r.ok === false && r.kind).toBe("unknown");
      if (!r.ok) expect(r.message).toContain("ssh-keyscan box >> /x/known_hosts");
    }
  });
});

describe("fingerprint", () => {
  it("equals ssh-keygen -lf", () => {
    for (const n of ["a", "b", "e"]) {
      const out = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", `${K(n).file}.pub`], { encoding: "utf8" });
      expect(fingerprint(K(n).blob)).toBe(out.split(" ")[1]);
    }
  });

  it("reads the key type from the blob", () => {
    expect(keyTypeOfBlob(K("a").blob)).toBe("ssh-ed25519");
    expect(keyTypeOfBlob(K("e").blob)).toBe("ecdsa-sha2-nistp256");
    expect(keyTypeOfBlob(Buffer.from([0, 0, 0]))).toBeUndefined();
  });
});
