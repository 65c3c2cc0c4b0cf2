// SFTP upload of one local file over a live connection: the mode set exactly, a full remote
// disk told apart from other write errors (by asking `df`), and no partial file left behind.
import { stat } from "node:fs/promises";
import { posix } from "node:path";
import type { SFTPWrapper } from "ssh2";
import { type Result, err, ok } from "../util/result.ts";
import type { Connection } from "./connection.ts";
import { execCommand } from "./exec.ts";
import { type SysError, codeOrMessage, fail, oneLine } from "./failure.ts";
import type { SshFailure } from "./types.ts";

/** `df` saying less than this is available in the target directory means "the disk is full". */
const NO_SPACE_KIB = 64;

const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Upload `local` to `remote` (mode e.g. 0o755); never throws, never outlives the connection. */
export async function uploadFile(conn: Connection, local: string, remote: string, mode?: number): Promise<Result<void, SshFailure>> {
  const what = `upload of ${local} to ${remote}`;
  if (!conn.alive) return err(fail("lost", conn.lostMessage(what, conn.closedReason, "reconnect and upload again")));
  let size: number;
  try {
    const st = await stat(local);
    if (!st.isFile()) return err(fail("remote", `cannot upload ${local} to ${conn.hp}:${remote}: the local path is not a regular file`));
    size = st.size;
  } catch (e) {
    return err(fail("remote", `cannot upload ${local} to ${conn.hp}:${remote}: the local file cannot be read (${codeOrMessage(e)})`));
  }

  const s = await openSftp(conn);
  if (!s.ok) {
    return err(s.error.kind === "lost" ? fail("lost", conn.lostMessage(what, s.error.detail ?? "connection closed", "reconnect and upload again")) : s.error);
  }
  const sftp = s.value;
  try {
    const put = await conn.guard<SysError | undefined>(
      (cb) => sftp.fastPut(local, remote, { fileSize: size, ...(mode === undefined ? {} : { mode }) }, (e) => cb(e ?? undefined)),
    );
    if (!put.ok) return err(fail("lost", conn.lostMessage(what, put.error, `${remote} may be left partial there; reconnect and upload again`)));
    if (put.value !== undefined) return err(await uploadFailure(conn, sftp, remote, size, put.value));
    if (mode !== undefined) {
      // open(2) on the server applies its umask to the mode given at open; set it exactly
      const ch = await conn.guard<SysError | undefined>((cb) => sftp.chmod(remote, mode, (e) => cb(e ?? undefined)));
      if (!ch.ok) return err(fail("lost", conn.lostMessage(what, ch.error, "reconnect and upload again")));
      if (ch.value !== undefined)
        return err(fail("remote", `uploaded ${remote} to ${conn.hp} but cannot chmod it to ${mode.toString(8)}: ${oneLine(ch.value.message)}`, ch.value.message));
    }
    return ok(undefined);
  } finally {
    try {
      sftp.end();
    } catch {
      /* connection gone */
    }
  }
}

/** Open the SFTP subsystem; a dropped connection is kind "lost" with the reason as detail. */
async function openSftp(conn: Connection): Promise<Result<SFTPWrapper, SshFailure>> {
  const opened = await conn.call<{ e: Error | undefined; sftp: SFTPWrapper }>(
    (cb) => conn.client.sftp((e, sftp) => cb({ e: e ?? undefined, sftp })),
    // opened after the connection was declared lost: nobody will use it
    (late) => late.sftp?.end(),
  );
  if (!opened.ok) return err(fail("lost", "", opened.error));
  const { e, sftp } = opened.value;
  if (e !== undefined) {
    if (!conn.alive) return err(conn.lostFailure());
    return err(fail("remote", `cannot start SFTP on ${conn.hp}: ${oneLine(e.message)}; check "Subsystem sftp" in the server's sshd_config`, e.message));
  }
  return ok(sftp);
}

/** A failed SFTP write: say "no space" only when df says so, and never leave the partial file. */
async function uploadFailure(conn: Connection, sftp: SFTPWrapper, remote: string, size: number, e: SysError): Promise<SshFailure> {
  const sftpMsg = oneLine(e.message);
  const dir = posix.dirname(remote);
  let availKiB: number | undefined;
  // Probe before removing the partial file: the partial file is what filled the disk.
  const df = await execCommand(conn, `df -P -k -- ${shQuote(dir)}`, { timeoutS: 15 });
  if (df.ok && df.value.code === 0) {
    const row = df.value.stdout.trim().split("\n").at(-1)?.trim().split(/\s+/);
    const avail = Number(row?.[3]);
    if (Number.isFinite(avail)) availKiB = avail;
  }
  const rm = await conn.guard<SysError | undefined>((cb) => sftp.unlink(remote, (u) => cb(u ?? undefined)));
  const partialNote = !rm.ok
    ? `the partial file ${remote} could NOT be removed (${rm.error})`
    : rm.value === undefined
      ? "the partial file was removed"
      : rm.value.code === 2 /* SSH_FX_NO_SUCH_FILE */
        ? "no partial file is left"
        : `the partial file ${remote} could NOT be removed (${oneLine(rm.value.message)})`;
  if (!conn.alive) {
    return fail("lost", conn.lostMessage(`upload of ${remote}`, conn.closeReason ?? "connection closed", `${remote} may be left partial there; reconnect and upload again`), sftpMsg);
  }
  if (availKiB !== undefined && availKiB < NO_SPACE_KIB) {
    return fail(
      "no-space",
      `no space left on ${conn.hp} for ${remote} (${size} bytes; df: ${availKiB} KiB available in ${dir}); ${partialNote}; free space there or upload elsewhere`,
      `SFTP: ${sftpMsg}`,
    );
  }
  const code = typeof e.code === "number" ? ` (SFTP status ${e.code})` : "";
  return fail(
    "remote",
    `upload of ${remote} to ${conn.hp} failed: ${sftpMsg}${code}${availKiB !== undefined ? `, ${availKiB} KiB free in ${dir}` : ""}; ${partialNote}; check the remote path and permissions`,
    sftpMsg,
  );
}
