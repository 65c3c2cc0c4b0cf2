// The qemu-rootfs guest's disk: a Debian image (mmdebstrap minbase + openssh-server) as a raw
// ext4 file, with a host key and a client key the lab generated, and /sbin/cowlab-init (which
// ends as sshd). Built with zx because it is a sequence of shell commands, and cached by the
// content of its recipe (guests/rootfs/), so every run and every kernel shares one image.
import { access, appendFile, chmod, constants, mkdir, readFile, rm, symlink, writeFile, lstat } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { z } from "zod";
import { $, type ProcessPromise } from "zx";
import type { MachineProfile } from "../config/machines.ts";
import { loadYaml } from "../config/yaml.ts";
import { cachePath, repoPath } from "../util/paths.ts";
import { contentKey, sha256, sha256FileCached } from "../util/hash.ts";
import { ensureDir, exists, FillError, fillFailure, markUsed, readJson, tail, writeFileAtomic } from "../util/fsx.ts";
import { labError, ok, type LabError, type Result } from "../util/result.ts";

/** Bumped when the build below changes in a way that should make a new image (part of the key). */
export const ROOTFS_RECIPE_VERSION = "1";

/** The cached image and what it takes to log in to it. */
export interface RootfsImage {
  /** raw ext4 file in the cache: attach it read-only (QEMU snapshot=on), never write it */
  image: string;
  /** private key that root's authorized_keys accepts (mode 0600, as ssh requires) */
  clientKey: string;
  /** "ssh-ed25519 AAAA... cowlab-rootfs-host": the one host key the image's sshd uses */
  hostKeyPub: string;
  /** package name → version installed */
  packages: Record<string, string>;
  /** the recipe's content key (the entry's name in the cache) */
  key: string;
  /** true when the image came from the cache */
  cached: boolean;
  /** how long the image took to build when it was built */
  seconds: number;
}

/** guests/rootfs/packages.yaml */
export const RootfsPackages = z.strictObject({
  suite: z.string().regex(/^[a-z]+$/),
  mirror: z.string().url(),
  variant: z.enum(["minbase", "required", "important", "standard"]),
  packages: z.array(z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/, "a Debian package name")).min(1),
});
export type RootfsPackages = z.infer<typeof RootfsPackages>;

/** Everything the image is made of: the package list and the files the lab puts in it. */
export interface RootfsRecipe extends RootfsPackages {
  /** guests/rootfs/init.sh, installed as /sbin/cowlab-init */
  init: string;
  /** guests/rootfs/sshd_config, installed as /etc/ssh/sshd_config.d/cowlab.conf */
  sshdConfig: string;
}

export const rootfsDir = (...parts: string[]): string => repoPath("guests", "rootfs", ...parts);

export async function loadRootfsRecipe(): Promise<RootfsRecipe> {
  const pkgs = await loadYaml(rootfsDir("packages.yaml"), RootfsPackages);
  const [init, sshdConfig] = await Promise.all([readFile(rootfsDir("init.sh"), "utf8"), readFile(rootfsDir("sshd_config"), "utf8")]);
  return { ...pkgs, init, sshdConfig };
}

/**
 * The image's cache key: the recipe (packages, init, sshd drop-in, suite, variant), this
 * file's version constant and the Debian architecture. The package order does not matter;
 * the mirror does not either (one suite is the same packages from any mirror).
 */
export function rootfsKey(recipe: RootfsRecipe, debArch: string): string {
  return contentKey({
    version: ROOTFS_RECIPE_VERSION,
    arch: debArch,
    suite: recipe.suite,
    variant: recipe.variant,
    packages: [...new Set(recipe.packages)].sort(),
    init: sha256(recipe.init),
    sshd: sha256(recipe.sshdConfig),
  });
}

/** The fragments a qemu-rootfs kernel adds to its spec's: rootfs, then the machine's own. */
export const rootfsFragments = (machine: MachineProfile): string[] => ["rootfs", ...(machine.rootfs?.fragments ?? [])];

/** What the entry records beside the image (rootfs.json). */
interface RootfsMeta {
  key: string;
  suite: string;
  arch: string;
  packages: Record<string, string>;
  image_sha256: string;
  image_mib: number;
  seconds: number;
}

const IMAGE = "rootfs.img";
const CLIENT_KEY = "client_key";
const HOST_KEY_PUB = "ssh_host_ed25519_key.pub";
const META = "rootfs.json";

/** dpkg leaves these out of the image: documentation nobody reads in a test guest. */
const PATH_EXCLUDES = ["/usr/share/man/*", "/usr/share/info/*", "/usr/share/locale/*", "/usr/share/doc/*", "/usr/share/lintian/*"];
const PATH_INCLUDES = ["/usr/share/doc/*/copyright"];

/** The host tools the build runs, with the Debian package that provides each. */
const TOOLS: Record<string, string> = { mmdebstrap: "mmdebstrap", "mkfs.ext4": "e2fsprogs", "ssh-keygen": "openssh-client", "dpkg-query": "dpkg", du: "coreutils" };

async function onPath(name: string): Promise<boolean> {
  for (const d of (process.env.PATH ?? "").split(delimiter).filter(Boolean)) {
    try {
      await access(join(d, name), constants.X_OK);
      return true;
    } catch {
      /* next */
    }
  }
  return false;
}

let hostDebArch: Promise<string> | undefined;
const hostArch = (): Promise<string> =>
  (hostDebArch ??= $({ quiet: true, nothrow: true })`dpkg --print-architecture`.then((o) => o.stdout.trim() || "unknown"));

/** Why this host cannot build the image for `machine`, if it cannot. */
async function cannotBuild(machine: MachineProfile): Promise<string | undefined> {
  const host = await hostArch();
  if (machine.deb_arch !== host) {
    return (
      `qemu-rootfs on ${machine.arch} needs qemu-user-static and binfmt-support on this ${host} host ` +
      `(mmdebstrap runs the ${machine.deb_arch} packages' maintainer scripts through them); only ${host} images are built here`
    );
  }
  if (process.getuid?.() !== 0) return "qemu-rootfs: building the image needs root (mmdebstrap --mode=root, and the image's files owned by root)";
  const missing: string[] = [];
  for (const [t, pkg] of Object.entries(TOOLS)) if (!(await onPath(t))) missing.push(`${t} (apt-get install ${pkg})`);
  if (missing.length) return `qemu-rootfs: missing host tool${missing.length > 1 ? "s" : ""}: ${missing.join(", ")}`;
  return undefined;
}

/**
 * The qemu-rootfs image for `machine`, built once per recipe and reused from the cache after
 * that. Two callers at once (in this process or two) build it once; an entry left half-made
 * (a killed build) is never used: the entry is renamed into place only when complete, and is
 * trusted only while its image still hashes to what the build recorded.
 */
export async function ensureRootfsImage(machine: MachineProfile): Promise<Result<RootfsImage, LabError>> {
  const why = await cannotBuild(machine);
  if (why) return labError("guest", why);
  let recipe: RootfsRecipe;
  try {
    recipe = await loadRootfsRecipe();
  } catch (e) {
    return labError("input", (e as Error).message);
  }
  const key = rootfsKey(recipe, machine.deb_arch);
  const dir = cachePath("rootfs", `${machine.deb_arch}-${key}`);
  let built = false;
  try {
    await ensureDir(
      dir,
      () => entryValid(dir),
      async (tmp) => {
        built = true;
        await buildImage(recipe, key, machine.deb_arch, tmp);
      },
      { need: 1.5 * 2 ** 30 },
    );
  } catch (e) {
    return fillFailure("guest", e, "building the qemu-rootfs image failed: ");
  }
  const meta = await readJson<RootfsMeta>(join(dir, META));
  if (!meta) return labError("guest", `the qemu-rootfs image entry ${dir} has no ${META}`);
  await markUsed(dir);
  return ok({
    image: join(dir, IMAGE),
    clientKey: join(dir, CLIENT_KEY),
    hostKeyPub: (await readFile(join(dir, HOST_KEY_PUB), "utf8")).trim(),
    packages: meta.packages,
    key,
    cached: !built,
    seconds: meta.seconds,
  });
}

/** The entry as made: its record, its keys, and its image hashing to what was recorded. */
async function entryValid(dir: string): Promise<boolean> {
  const meta = await readJson<RootfsMeta>(join(dir, META));
  if (!meta?.image_sha256) return false;
  for (const f of [CLIENT_KEY, HOST_KEY_PUB]) if (!(await exists(join(dir, f)))) return false;
  try {
    // the digest is remembered in a sidecar keyed by size and mtime, so a hit costs no rehash
    return (await sha256FileCached(join(dir, IMAGE))) === meta.image_sha256;
  } catch {
    return false;
  }
}

/** Run one command of the build, its output appended to the entry's build.log; a failure throws. */
async function step(log: string, what: string, p: ProcessPromise): Promise<string> {
  const out = await p;
  await appendFile(log, `\n$ ${p.cmd}\n${out.stdall}`);
  if (out.exitCode !== 0) throw new FillError(`${what} failed (exit ${out.exitCode ?? out.signal})`, tail(out.stdall.trimEnd(), 40));
  return out.stdout;
}

async function buildImage(recipe: RootfsRecipe, key: string, debArch: string, out: string): Promise<void> {
  const started = performance.now();
  const log = join(out, "build.log");
  await writeFile(log, `qemu-rootfs ${key}: ${recipe.variant} ${recipe.suite} ${debArch} + ${recipe.packages.join(" ")}\n`);
  const sh = $({ quiet: true, nothrow: true, verbose: false });
  // The tree is built beside the entry's files and goes before the entry is complete. It is
  // removed with --one-file-system: should mmdebstrap ever leave /proc or /dev mounted in it,
  // the host's own would not be deleted through them.
  const tree = join(out, "tree");
  try {
    await step(
      log,
      "mmdebstrap",
      sh`mmdebstrap --mode=root --variant=${recipe.variant} --architectures=${debArch} --include=${recipe.packages.join(",")} ${PATH_EXCLUDES.map((p) => `--dpkgopt=path-exclude=${p}`)} ${PATH_INCLUDES.map((p) => `--dpkgopt=path-include=${p}`)} ${recipe.suite} ${tree} ${recipe.mirror}`,
    );

    // Keys: one ed25519 host key (the postinst's own go: the lab knows only this one), and the
    // client key root's authorized_keys accepts. Generated on the host, no passphrase.
    const ssh = join(tree, "etc", "ssh");
    await step(log, "removing the generated host keys", sh`rm -f ${join(ssh, "ssh_host_")}*`);
    await step(log, "ssh-keygen (host key)", sh`ssh-keygen -q -t ed25519 -N ${""} -C cowlab-rootfs-host -f ${join(ssh, "ssh_host_ed25519_key")}`);
    await step(log, "ssh-keygen (client key)", sh`ssh-keygen -q -t ed25519 -N ${""} -C cowlab-rootfs-client -f ${join(out, CLIENT_KEY)}`);
    await writeFile(join(ssh, "sshd_config.d", "cowlab.conf"), recipe.sshdConfig);
    const dotSsh = join(tree, "root", ".ssh");
    await mkdir(dotSsh, { recursive: true, mode: 0o700 });
    await chmod(dotSsh, 0o700);
    await writeFile(join(dotSsh, "authorized_keys"), await readFile(join(out, `${CLIENT_KEY}.pub`)), { mode: 0o600 });
    await writeFile(join(out, HOST_KEY_PUB), await readFile(join(ssh, "ssh_host_ed25519_key.pub")));

    // The init, and what it and the runner expect to find
    const init = join(tree, "usr", "sbin", "cowlab-init"); // /sbin is usr/sbin (merged /usr)
    await writeFile(init, recipe.init, { mode: 0o755 });
    await chmod(init, 0o755);
    const reboot = join(tree, "usr", "sbin", "reboot");
    const hasReboot = await lstat(reboot).then(() => true, () => false);
    if (!hasReboot) {
      // minbase has no init package and so no reboot(8): busybox's, whose -f calls reboot(2)
      if (!(await exists(join(tree, "usr", "bin", "busybox")))) throw new FillError("the image has no reboot(8): add busybox (or an init package) to guests/rootfs/packages.yaml");
      await symlink("/bin/busybox", reboot);
    }
    await writeFile(join(tree, "etc", "hostname"), "cowlab-rootfs\n");
    await writeFile(join(tree, "etc", "hosts"), "127.0.0.1\tlocalhost\n127.0.1.1\tcowlab-rootfs\n");
    await rm(join(tree, "etc", "resolv.conf"), { force: true });
    await writeFile(join(tree, "etc", "resolv.conf"), "nameserver 10.0.2.3\n"); // QEMU user-net's DNS

    const packages: Record<string, string> = {};
    const listed = await step(log, "dpkg-query", sh`dpkg-query -W -f=${"${Package}\t${Version}\n"} --admindir=${join(tree, "var", "lib", "dpkg")}`);
    for (const line of listed.split("\n")) {
      const [name, version] = line.split("\t");
      if (name && version) packages[name] = version;
    }
    for (const p of recipe.packages) if (!packages[p]) throw new FillError(`package ${p} is not installed in the image`, listed);

    // The ext4 image, made from the tree directly (no loop mount): the tree's size plus a
    // quarter and 256 MiB of room for the runner (the guest writes to a QEMU snapshot anyway).
    const bytes = Number((await step(log, "du", sh`du -sb ${tree}`)).split(/\s/)[0]);
    const mib = Math.ceil((bytes * 1.25) / 2 ** 20) + 256;
    const image = join(out, IMAGE);
    await step(log, "mkfs.ext4", sh`mkfs.ext4 -q -F -d ${tree} -L cowlab-root ${image} ${`${mib}M`}`);
    await step(log, "removing the tree", sh`rm -rf --one-file-system ${tree}`);

    const meta: RootfsMeta = {
      key,
      suite: recipe.suite,
      arch: debArch,
      packages,
      image_sha256: await sha256FileCached(image),
      image_mib: mib,
      seconds: Math.round((performance.now() - started) / 100) / 10,
    };
    await writeFileAtomic(join(out, META), JSON.stringify(meta, null, 2) + "\n");
  } finally {
    if (await exists(tree)) await sh`rm -rf --one-file-system ${tree}`;
  }
}
