// The two things a bundle does with the guest's initramfs, in the newc format the kernel
// reads: find one file in it (the runner's env), and write a small archive that the kernel
// unpacks after it. Linux unpacks concatenated cpio archives in order and a later file
// replaces an earlier one of the same name (init/initramfs.c), so `cat job.cpio case.cpio`
// is the job's guest with only the bundle's own files changed, byte for byte otherwise.

export interface CpioFile {
  /** path inside the archive, without a leading "./" or "/" */
  name: string;
  /** permission bits (0o755...); every entry is a regular file */
  mode: number;
  data: Buffer;
}

const MAGIC = "070701";
const HEADER = 110;
const S_IFREG = 0o100000;
const pad4 = (n: number): number => (4 - (n % 4)) % 4;
const clean = (name: string): string => name.replace(/^(\.\/|\/)+/, "");

/** The regular files of a newc archive (what a single archive holds; a trailer ends it). */
export function readNewc(buf: Buffer): CpioFile[] {
  const out: CpioFile[] = [];
  let at = 0;
  while (at + HEADER <= buf.length) {
    if (buf.toString("latin1", at, at + 6) !== MAGIC) {
      // zero padding between concatenated archives, as the kernel skips it
      if (buf[at] === 0) {
        at += 4;
        continue;
      }
      throw new Error(`not a newc cpio archive (bad magic at byte ${at})`);
    }
    const field = (i: number): number => parseInt(buf.toString("latin1", at + 6 + i * 8, at + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const nameAt = at + HEADER;
    const name = buf.toString("utf8", nameAt, nameAt + nameSize - 1);
    const dataAt = nameAt + nameSize + pad4(HEADER + nameSize);
    if (dataAt + size > buf.length) throw new Error(`cpio entry '${name}' runs past the end of the archive`);
    if (name === "TRAILER!!!") break;
    if ((mode & 0o170000) === S_IFREG) out.push({ name: clean(name), mode: mode & 0o7777, data: buf.subarray(dataAt, dataAt + size) });
    at = dataAt + size + pad4(size);
  }
  return out;
}

const hex = (n: number): string => n.toString(16).toUpperCase().padStart(8, "0");

function entry(ino: number, name: string, mode: number, data: Buffer): Buffer {
  const nameBuf = Buffer.from(`${name}\0`, "utf8");
  // ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check:
  // owner root and mtime 0, so equal files give equal bytes on any host
  const fields = [ino, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBuf.length, 0];
  const header = Buffer.from(MAGIC + fields.map(hex).join(""), "latin1");
  return Buffer.concat([header, nameBuf, Buffer.alloc(pad4(HEADER + nameBuf.length)), data, Buffer.alloc(pad4(data.length))]);
}

/** A newc archive of regular files (their folders must exist in the archive it is laid over), sorted by name. */
export function writeNewc(files: CpioFile[]): Buffer {
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const parts = sorted.map((f, i) => entry(i + 1, clean(f.name), S_IFREG | (f.mode & 0o7777), f.data));
  parts.push(entry(0, "TRAILER!!!", 0, Buffer.alloc(0)));
  const body = Buffer.concat(parts);
  // GNU cpio pads to 512-byte blocks; the kernel skips the zeros between archives.
  return Buffer.concat([body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
}
