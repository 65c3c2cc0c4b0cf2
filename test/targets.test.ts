// Targets as data (guests/targets/NAME.yaml) and what a target can serve: the shipped files
// load, every hand-editing mistake is one line "FILE:LINE: FIELD: what is wrong", credentials
// resolve to a key file or the agent (never an inline key), and the manifest's capability
// rules skip exactly the cases a target without hugetlb, swap or NUMA cannot serve.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listTargets, loadTarget, resolveCredentials, type SshTarget, type Target } from "../orchestrator/config/targets.ts";
import { loadManifest, type CapabilityRule } from "../orchestrator/config/testcases.ts";
import { capabilitiesFromSetup, checkCapabilityRules, planForCapabilities, unservable, type Capabilities } from "../orchestrator/guest/capabilities.ts";
import { shown } from "../orchestrator/config/yaml.ts";
import { globRe } from "../orchestrator/util/glob.ts";
import { repoPath } from "../orchestrator/util/paths.ts";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "cowlab-targets-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
const savedDir = process.env.COWLAB_TARGETS_DIR;
afterEach(() => {
  if (savedDir === undefined) delete process.env.COWLAB_TARGETS_DIR;
  else process.env.COWLAB_TARGETS_DIR = savedDir;
});

let serial = 0;
/** A targets folder holding NAME.yaml with `text`; COWLAB_TARGETS_DIR points at it. */
async function targetFile(text: string, name = "board"): Promise<string> {
  const dir = join(root, `dir${serial++}`);
  await mkdir(dir);
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, text);
  process.env.COWLAB_TARGETS_DIR = dir;
  return file;
}

/** The message loadTarget throws for a file with this text. */
async function loadError(text: string): Promise<{ file: string; message: string }> {
  const file = await targetFile(text);
  const e = await loadTarget("board").then(
    () => undefined,
    (x: Error) => x,
  );
  expect(e, "loadTarget should have failed").toBeInstanceOf(Error);
  return { file, message: e!.message };
}

const SSH_OK = ["kind: ssh", "arch: arm64", "address: 192.0.2.10", "credentials:", "  key_file: ~/.ssh/cowlab_ed25519"];
const PEM = "-----BEGIN OPENSSH PRIVATE KEY-----";

describe("the shipped targets", () => {
  it("load, with the defaults filled in", async () => {
    delete process.env.COWLAB_TARGETS_DIR;
    const all = await listTargets();
    expect(all.map((t) => t.name)).toEqual(["example-board", "rootfs-x86_64"]);
    const rootfs = await loadTarget("rootfs-x86_64");
    expect(rootfs).toMatchObject({ kind: "qemu-rootfs", arch: "x86_64", setup: { thp: "always", hugepages: 16, zram: "256M" }, file: repoPath("guests", "targets", "rootfs-x86_64.yaml") });
    const board = (await loadTarget("example-board")) as SshTarget;
    expect(board).toMatchObject({ kind: "ssh", address: "192.0.2.10", port: 22, user: "root", credentials: { key_file: "~/.ssh/cowlab_ed25519" }, known_hosts: "~/.ssh/known_hosts", tmp: "/tmp", connect_timeout_s: 20 });
    // a real machine is left as it is unless its file asks
    expect(board.setup).toEqual({ thp: "keep", hugepages: "keep", zram: "none" });
    expect(board.install).toEqual({ method: "kexec", boot_timeout_s: 300, image_path: "/boot/vmlinuz-cowlab" });
  });

  it("fills every default of a minimal ssh target", async () => {
    await targetFile(SSH_OK.join("\n"));
    const t = (await loadTarget("board")) as SshTarget;
    expect(t).toEqual({
      kind: "ssh",
      arch: "arm64",
      address: "192.0.2.10",
      port: 22,
      user: "root",
      credentials: { key_file: "~/.ssh/cowlab_ed25519" },
      known_hosts: "~/.ssh/known_hosts",
      tmp: "/tmp",
      connect_timeout_s: 20,
      setup: { thp: "keep", hugepages: "keep", zram: "none" },
      name: "board",
      file: join(process.env.COWLAB_TARGETS_DIR!, "board.yaml"),
    } satisfies Target);
  });

  it("an unknown name lists the known ones and names the folder", async () => {
    const file = await targetFile(SSH_OK.join("\n"), "lab-box");
    await writeFile(join(file, "..", "other.yaml"), "kind: qemu-rootfs\narch: arm64\n");
    await expect(loadTarget("nope")).rejects.toThrow(`${shown(join(file, ".."))}: no target 'nope' (no nope.yaml here; known: lab-box, other)`);
    await expect(loadTarget("../lab-box")).rejects.toThrow(/no target '\.\.\/lab-box'/);
  });
});

describe("bad target files: one line FILE:LINE: FIELD: what is wrong", () => {
  it.each([
    {
      what: "a missing address",
      text: ["# my board", "kind: ssh", "arch: arm64", "credentials:", "  agent: true"],
      error: (f: string) => `${f}:2: address: required (string)`,
    },
    {
      what: "both key_file and agent",
      text: ["kind: ssh", "arch: arm64", "address: board.example", "credentials:", "  key_file: ~/.ssh/id", "  agent: true"],
      error: (f: string) => `${f}:6: credentials.agent: only one of key_file, key_file_env, agent may be given (key_file is given too)`,
    },
    {
      what: "no credential at all",
      text: ["kind: ssh", "arch: arm64", "address: board.example", "credentials: {}"],
      error: (f: string) => `${f}:4: credentials: give one of key_file (a path), key_file_env (a variable holding the path) or agent: true`,
    },
    {
      what: "an inline private key as key_file",
      text: ["kind: ssh", "arch: arm64", "address: 192.0.2.10", "credentials:", "  key_file: |", `    ${PEM}`, "    b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ", "    -----END OPENSSH PRIVATE KEY-----"],
      error: (f: string) =>
        `${f}:5: credentials.key_file: looks like an inline private key: a target file names where the key is, never the key (credentials: key_file: PATH, key_file_env: VAR or agent: true)`,
    },
    {
      what: "an inline private key in a field of its own",
      text: [...SSH_OK, `private_key: "${PEM}\\nAAAA"`],
      error: (f: string) =>
        `${f}:6: private_key: looks like an inline private key: a target file names where the key is, never the key (credentials: key_file: PATH, key_file_env: VAR or agent: true)`,
    },
    {
      what: "a password",
      text: [...SSH_OK.slice(0, 3), "credentials:", "  password: hunter2"],
      error: (f: string) => `${f}:5: credentials.password: unknown field: a target file holds no secrets (credentials: key_file: PATH, key_file_env: VAR or agent: true)`,
    },
    {
      what: "an unknown field",
      text: [...SSH_OK, "hostname: board"],
      error: (f: string) => `${f}:6: hostname: unknown field`,
    },
    {
      what: "an unknown setup field",
      text: [...SSH_OK, "setup:", "  thp: never", "  swappiness: 10"],
      error: (f: string) => `${f}:8: setup.swappiness: unknown field`,
    },
    {
      what: "credentials on a qemu-rootfs target (the lab makes its keys)",
      text: ["kind: qemu-rootfs", "arch: x86_64", "credentials:", "  agent: true"],
      error: (f: string) => `${f}:4: credentials: unknown field`,
    },
    {
      what: "a port out of range",
      text: [...SSH_OK, "port: 70000"],
      error: (f: string) => `${f}:6: port: must be a TCP port number (1-65535)`,
    },
    {
      what: "a port that is not a number",
      text: [...SSH_OK, "port: ssh"],
      error: (f: string) => `${f}:6: port: must be a TCP port number (1-65535)`,
    },
    {
      what: "an unknown kind",
      text: ["kind: serial", "arch: arm64"],
      error: (f: string) => `${f}:1: kind: must be qemu-rootfs or ssh`,
    },
    {
      what: "a user in the address",
      text: ["kind: ssh", "arch: arm64", "address: root@192.0.2.10", "credentials: { agent: true }"],
      error: (f: string) => `${f}:3: address: 'root@192.0.2.10' is not a host: give the user as user:`,
    },
    {
      what: "an address that is neither a host name nor an IP",
      text: ["kind: ssh", "arch: arm64", "address: 192.0.2.300", "credentials: { agent: true }"],
      error: (f: string) => `${f}:3: address: '192.0.2.300' is not an IPv4 address`,
    },
    {
      what: "a relative key file",
      text: ["kind: ssh", "arch: arm64", "address: board", "credentials:", "  key_file: id_ed25519"],
      error: (f: string) => `${f}:5: credentials.key_file: must be an absolute path or start with ~/`,
    },
    {
      what: "a key file path as key_file_env",
      text: ["kind: ssh", "arch: arm64", "address: board", "credentials:", "  key_file_env: ~/.ssh/id"],
      error: (f: string) => `${f}:5: credentials.key_file_env: must be the name of an environment variable (that holds the key file's path), e.g. COWLAB_SSH_KEY`,
    },
    {
      what: "agent: false",
      text: ["kind: ssh", "arch: arm64", "address: board", "credentials:", "  agent: false"],
      error: (f: string) => `${f}:5: credentials.agent: must be true (the key is in the SSH agent, SSH_AUTH_SOCK)`,
    },
    {
      what: "a bad setup value",
      text: ["kind: qemu-rootfs", "arch: x86_64", "setup:", "  hugepages: lots"],
      error: (f: string) => `${f}:4: setup.hugepages: must be a number of pages (0 or more) or keep`,
    },
    {
      what: "a bad zram size",
      text: ["kind: qemu-rootfs", "arch: x86_64", "setup:", "  zram: 256MB"],
      error: (f: string) => `${f}:4: setup.zram: must be a size like 256M (K, M or G) or none`,
    },
    {
      what: "an install without a method",
      text: [...SSH_OK, "install:", "  boot_timeout_s: 60"],
      error: (f: string) => `${f}:7: install.method: must be kexec or reboot`,
    },
    {
      what: "an unknown arch",
      text: ["kind: qemu-rootfs", "arch: riscv64"],
      error: (f: string) => `${f}:2: arch: must be x86_64 or arm64`,
    },
  ])("$what", async ({ text, error }) => {
    const { file, message } = await loadError(text.join("\n") + "\n");
    expect(message).toBe(error(shown(file)));
    expect(message).not.toContain("\n");
  });

  it("invalid YAML is named by its line too", async () => {
    const { file, message } = await loadError("kind: ssh\narch: [arm64\n");
    expect(message).toMatch(new RegExp(`^${shown(file)}:\\d+: invalid YAML: `));
  });
});

describe("resolveCredentials", () => {
  let home: string;
  let key: string;
  beforeAll(async () => {
    home = join(root, "home");
    await mkdir(join(home, ".ssh"), { recursive: true });
    key = join(home, ".ssh", "cowlab_ed25519");
    await writeFile(key, "not really a key\n", { mode: 0o600 });
  });

  const ssh = async (credentials: string[]): Promise<SshTarget> => {
    await targetFile(["kind: ssh", "arch: x86_64", "address: board", "credentials:", ...credentials.map((l) => `  ${l}`)].join("\n"));
    return (await loadTarget("board")) as SshTarget;
  };

  it("expands ~/ in key_file against HOME", async () => {
    const t = await ssh(["key_file: ~/.ssh/cowlab_ed25519"]);
    expect(resolveCredentials(t, { HOME: home })).toEqual({ ok: true, value: { keyFile: key } });
  });

  it("an absolute key_file stays as it is", async () => {
    const t = await ssh([`key_file: ${key}`]);
    expect(resolveCredentials(t, { HOME: "/nonexistent" })).toEqual({ ok: true, value: { keyFile: key } });
  });

  it("a key_file that does not exist names the target file, line and path", async () => {
    const t = await ssh(["key_file: ~/.ssh/missing"]);
    expect(resolveCredentials(t, { HOME: home })).toEqual({ ok: false, error: `${shown(t.file)}:5: credentials.key_file: ${join(home, ".ssh", "missing")} does not exist` });
  });

  it("a key_file that is a folder is refused", async () => {
    const t = await ssh(["key_file: ~/.ssh"]);
    expect(resolveCredentials(t, { HOME: home })).toEqual({ ok: false, error: `${shown(t.file)}:5: credentials.key_file: ${join(home, ".ssh")} is not a file` });
  });

  it("key_file_env: the variable's value is the key file's path (~ expanded)", async () => {
    const t = await ssh(["key_file_env: COWLAB_TEST_KEY"]);
    expect(resolveCredentials(t, { HOME: home, COWLAB_TEST_KEY: key })).toEqual({ ok: true, value: { keyFile: key } });
    expect(resolveCredentials(t, { HOME: home, COWLAB_TEST_KEY: "~/.ssh/cowlab_ed25519" })).toEqual({ ok: true, value: { keyFile: key } });
  });

  it("key_file_env unset, or naming a missing file, or holding a key: one line naming the target file", async () => {
    const t = await ssh(["key_file_env: COWLAB_TEST_KEY"]);
    expect(resolveCredentials(t, { HOME: home })).toEqual({
      ok: false,
      error: `${shown(t.file)}:5: credentials.key_file_env: environment variable COWLAB_TEST_KEY is not set (it should hold the path of the private key file)`,
    });
    expect(resolveCredentials(t, { HOME: home, COWLAB_TEST_KEY: "" })).toMatchObject({ ok: false, error: expect.stringContaining("COWLAB_TEST_KEY is not set") });
    expect(resolveCredentials(t, { HOME: home, COWLAB_TEST_KEY: "/nope/key" })).toEqual({ ok: false, error: `${shown(t.file)}:5: credentials.key_file_env: /nope/key does not exist (from COWLAB_TEST_KEY)` });
    const inline = resolveCredentials(t, { HOME: home, COWLAB_TEST_KEY: `${PEM}\nAAAA\n` });
    expect(inline).toEqual({ ok: false, error: `${shown(t.file)}:5: credentials.key_file_env: COWLAB_TEST_KEY holds a key, not the path of a key file` });
    expect(JSON.stringify(inline)).not.toContain("AAAA");
  });

  it("agent: needs SSH_AUTH_SOCK", async () => {
    const t = await ssh(["agent: true"]);
    expect(resolveCredentials(t, { SSH_AUTH_SOCK: "/run/agent.sock" })).toEqual({ ok: true, value: { agent: true } });
    expect(resolveCredentials(t, {})).toEqual({ ok: false, error: `${shown(t.file)}:5: credentials.agent: SSH_AUTH_SOCK is not set (start ssh-agent and ssh-add the key, or give key_file)` });
  });
});

describe("capabilitiesFromSetup", () => {
  it("reads the guest runner's setup facts", () => {
    const setup = { thp: "[always] madvise never", swap_kb: "262140", hugepages: "16", numa_nodes: "2", cpus: "2", uname: "6.12.117", console_loglevel: "5", gup_test: "yes" };
    expect(capabilitiesFromSetup(setup)).toEqual({ numa_nodes: 2, swap_kb: 262140, hugepages: 16, thp: "always", gup_test: true, uname: "6.12.117" } satisfies Capabilities);
  });

  it("takes the bracketed THP mode, a bare one, or unavailable", () => {
    expect(capabilitiesFromSetup({ thp: "always madvise [never]" }).thp).toBe("never");
    expect(capabilitiesFromSetup({ thp: "always [madvise] never" }).thp).toBe("madvise");
    expect(capabilitiesFromSetup({ thp: "madvise" }).thp).toBe("madvise");
    expect(capabilitiesFromSetup({ thp: "unavailable" }).thp).toBe("unavailable");
  });

  it("a missing or unreadable fact is the capability absent", () => {
    expect(capabilitiesFromSetup({})).toEqual({ numa_nodes: 0, swap_kb: 0, hugepages: 0, thp: "unavailable", gup_test: false, uname: "unknown" });
    expect(capabilitiesFromSetup({ swap_kb: "", hugepages: "x", numa_nodes: "-1", gup_test: "no" })).toMatchObject({ swap_kb: 0, hugepages: 0, numa_nodes: 0, gup_test: false });
  });
});

/**
 * The real case names, read from the programs' case tables (testcases/*.c) the way
 * pin_cases_main() (testcases/lib/pin.h) names them: <scenario>-<memtype> for every memory
 * type of the scenario's set, in enum mm_type order. No compiler needed.
 */
async function casesFromSources(ids: string[]): Promise<Record<string, string[]>> {
  const mm = await readFile(repoPath("testcases", "lib", "mm.h"), "utf8");
  const names = Object.fromEntries([...mm.matchAll(/\[(MT_\w+)\] = "([^"]+)"/g)].map((m) => [m[1]!, m[2]!]));
  const order = [.../enum mm_type \{([^}]*)\}/.exec(mm)![1]!.matchAll(/^\s*(MT_\w+)/gm)].map((m) => m[1]!).filter((t) => t !== "MT_NR");
  const table: Record<string, string[]> = {};
  for (const id of ids) {
    const src = await readFile(repoPath("testcases", `${id}.c`), "utf8");
    const macros = Object.fromEntries([...src.matchAll(/^#define (\w+) \(([^\n]*)\)$/gm)].map((m) => [m[1]!, m[2]!]));
    const typesOf = (expr: string): string[] => {
      if (expr === "MM_ALL_TYPES") return order;
      if (macros[expr]) return typesOf(macros[expr]!);
      return [...expr.matchAll(/MM_TYPE\((MT_\w+)\)/g)].map((m) => m[1]!);
    };
    const body = /static const struct pin_case cases\[\] = \{([\s\S]*?)\n\};/.exec(src)![1]!;
    table[id] = [...body.matchAll(/\{\s*"([^"]+)",\s*(?:NULL|"[^"]*"),\s*([^,]+),/g)].flatMap((m) => {
      const types = new Set(typesOf(m[2]!.trim()));
      return order.filter((t) => types.has(t)).map((t) => `${m[1]}-${names[t]}`);
    });
  }
  return table;
}

describe("the manifest's capability rules against the real cases", () => {
  let table: Record<string, string[]>;
  let rules: CapabilityRule[];
  beforeAll(async () => {
    const m = await loadManifest();
    rules = m.capabilities;
    table = await casesFromSources(m.testcases.map((t) => t.id));
  });

  it("the case tables read from the sources hold every case the known issues name", async () => {
    const m = await loadManifest();
    expect(Object.values(table).every((cs) => cs.length > 0)).toBe(true);
    expect(table.migration).toEqual(["move-exclusive-base", "move-exclusive-thp", "reuse-after-move-base", "reuse-after-move-thp", "pin-after-move-base", "pin-after-move-thp", "move-pinned-base", "move-pinned-thp", "fork-while-migrating-base", "fork-while-migrating-thp"]);
    for (const k of m.known_issues.filter((k) => table[k.testcase])) {
      for (const c of k.cases.filter((c) => !c.includes("*"))) expect(table[k.testcase], `${k.testcase} ${c}`).toContain(c);
    }
  });

  it("every glob matches at least one real case", async () => {
    expect(rules.length).toBeGreaterThan(0);
    for (const r of rules) {
      const names = r.testcase ? table[r.testcase]! : Object.values(table).flat();
      expect(names, `testcase ${r.testcase}`).toBeDefined();
      for (const g of r.cases ?? []) expect(names.some((c) => globRe(g).test(c)), `${g} (needs ${r.needs})`).toBe(true);
    }
    await expect(checkCapabilityRules(rules, table)).resolves.toBeUndefined();
  });

  it("a glob that matches nothing is named by the manifest's line", async () => {
    const text = await readFile(repoPath("testcases", "manifest.yaml"), "utf8");
    const file = join(root, "manifest.yaml");
    await writeFile(file, text.replace('- cases: "*-hugetlb"', '- cases: "*-hugetlbfs"'));
    const m = await loadManifest(file);
    const line = text.split("\n").findIndex((l) => l.includes('- cases: "*-hugetlb"')) + 1;
    await expect(checkCapabilityRules(m.capabilities, table, file)).rejects.toThrow(`${shown(file)}:${line}: capabilities.0.cases.0: '*-hugetlbfs' matches no case of any testcase (cowlab run --list shows them)`);
  });

  it("a rule naming an unknown testcase, or naming nothing, is refused with its line", async () => {
    const text = await readFile(repoPath("testcases", "manifest.yaml"), "utf8");
    const file = join(root, "manifest-bad.yaml");
    await writeFile(file, text.replace("  - testcase: migration\n    needs: numa2", "  - testcase: migrate\n    needs: numa2"));
    const line = text.split("\n").findIndex((l) => l === "  - testcase: migration") + 1;
    await expect(loadManifest(file)).rejects.toThrow(`${shown(file)}:${line}: capabilities.4.testcase: unknown testcase 'migrate'`);
    await writeFile(file, text.replace("  - testcase: migration\n    needs: numa2", "  - needs: numa2"));
    await expect(loadManifest(file)).rejects.toThrow(`${shown(file)}:${line}: capabilities.4: give cases (case-name globs), testcase, or both`);
    await writeFile(file, text.replace("needs: numa2", "needs: numa4"));
    await expect(loadManifest(file)).rejects.toThrow(`${shown(file)}:${line + 1}: capabilities.4.needs: must be one of thp, swap, hugetlb, gup_test, numa2`);
  });

  it("a target with everything serves every case", () => {
    const all = capabilitiesFromSetup({ thp: "[always] madvise never", swap_kb: "262140", hugepages: "16", numa_nodes: "2", gup_test: "yes" });
    expect(planForCapabilities(table, all, rules)).toEqual({ run: table, skipped: [] });
  });

  it("without hugetlb, swap and NUMA: exactly the hugetlb, swap and migration cases are skipped, with reasons", () => {
    const caps = capabilitiesFromSetup({ thp: "[always] madvise never", swap_kb: "0", hugepages: "0", numa_nodes: "1", gup_test: "yes", uname: "6.12.117" });
    const plan = planForCapabilities(table, caps, rules);
    const expected: { testcase: string; case: string; reason: string }[] = [];
    const run: Record<string, string[]> = {};
    for (const [t, cs] of Object.entries(table)) {
      for (const c of cs) {
        const why = t === "migration" ? "fewer than 2 NUMA nodes (numa_nodes=1)" : c.endsWith("-hugetlb") ? "no hugetlb pages (hugepages=0)" : c.endsWith("-swap") ? "no swap (swap_kb=0)" : undefined;
        if (why) expected.push({ testcase: t, case: c, reason: `target cannot serve it: ${why}` });
        else (run[t] ??= []).push(c);
      }
    }
    expect(plan.skipped).toEqual(expected);
    expect(plan.run).toEqual(run);
    expect(plan.run.migration).toBeUndefined(); // a testcase left with no case is left out
    expect(plan.skipped.some((s) => s.case === "vmsplice-child-thp-swap")).toBe(true);
    expect(plan.run["gup-after-fork"]).toContain("ro-pin-shared-thp");
    expect(plan.skipped.length + Object.values(plan.run).flat().length).toBe(Object.values(table).flat().length);
  });

  it("THP off and no gup_test: every reason a case lacks, in rule order", () => {
    const caps = capabilitiesFromSetup({ thp: "always madvise [never]", swap_kb: "1024", hugepages: "0", numa_nodes: "2", gup_test: "no" });
    expect(unservable("gup-after-fork", "ro-pin-shared-thp-swap", caps, rules)).toBe("target cannot serve it: THP off (thp=never); no gup_test (gup_test=no: CONFIG_GUP_TEST and debugfs)");
    expect(unservable("swap", "swapin-ro-pin-swap", caps, rules)).toBe("target cannot serve it: no gup_test (gup_test=no: CONFIG_GUP_TEST and debugfs)");
    expect(unservable("gup-before-fork", "iouring-fork-parent-write-hugetlb", caps, rules)).toBe("target cannot serve it: no hugetlb pages (hugepages=0)");
    expect(unservable("gup-before-fork", "iouring-fork-parent-write-base", caps, rules)).toBeUndefined();
    expect(unservable("migration", "move-exclusive-base", caps, rules)).toBeUndefined();
    expect(unservable("migration", "move-exclusive-thp", caps, rules)).toBe("target cannot serve it: THP off (thp=never)");
  });
});
