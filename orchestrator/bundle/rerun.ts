// rerun.sh: the bundle's one command. Plain POSIX sh and awk, no Node and nothing from the
// cowlab checkout or cache: it boots the bundle's kernel with the job's initramfs and the
// case's selection laid over it, prints the console, and reads the case's verdict from it the
// way results/classify.ts does (its KTAP result line; a kernel report while it ran is a crash;
// a program that never finished is a timeout).
import { shellQuote } from "../qemu/command.ts";
import { INITRD_ARG, KERNEL_ARG } from "./qemu-argv.ts";

export interface RerunSpec {
  /** the case id as the CLI prints it */
  id: string;
  /** what the run said: verdict and the first line of its reason */
  recorded: { verdict: string; reason: string };
  /** the bundle's kernel image file */
  kernel: string;
  /** the case as rerun.sh's verdict line names it (TESTCASE/CASE) */
  label: string;
  /** the program in the guest whose output decides, and its case ("*": the program's exit status decides) */
  program: string;
  case: string;
  /** an exit status of the program that means "could not set up here" (the explorer's reproducers: 2) */
  skipRc?: number;
  /** --whole is offered: the job's own guest shows the case too (hand-written testcases, not the explorer's reproducer) */
  whole: boolean;
  argv: { accel: "kvm" | "tcg"; kvm?: string[]; tcg: string[] };
  timeoutS: number;
}

/** The initramfs rerun.sh boots by default: the job's with case.cpio laid over it. */
export const CASE_INITRD = ".case-initramfs.cpio";

/** Exit codes of rerun.sh (README and metadata.json say them too). */
export const RERUN_EXIT = { pass: 0, failedAgain: 1, notRun: 2 } as const;

const word = (w: string): string => (w === KERNEL_ARG ? `"$KERNEL"` : w === INITRD_ARG ? `"$INITRD"` : shellQuote([w]));
const command = (argv: string[]): string => `set -- ${argv.map(word).join(" ")}`;

/**
 * Kernel report headers (timestamped console lines), as qemu/console.ts reads them, in POSIX
 * ERE: a report while the case ran makes it a crash. A line the programs print is never one.
 */
export const REPORT_ERE = [
  "Kernel panic - not syncing",
  "[Kk]ernel BUG at",
  "Internal error: ",
  "Unable to handle kernel",
  "BUG: ",
  "WARNING: CPU: [0-9]+ PID: [0-9]+ at",
  "WARNING: .*CPU#[0-9]",
  "WARNING: at ",
  "WARNING: (possible|suspicious|inconsistent|bad unlock|held lock|lock held|nested lock|kernel stack)",
  "general protection fault",
  "Oops: ",
  "[a-z][a-z ]+: [0-9a-f][0-9a-f][0-9a-f][0-9a-f] \\[#[0-9]+\\]",
  "UBSAN: ",
  "INFO: task .* blocked for more than",
  "rcu: INFO: rcu_.*detected stall", // "rcu_sched detected stalls" and "rcu_sched self-detected stall"
  "page dumped because: ",
].join("|");

/**
 * The verdict reader: awk over console.log, with t (program), c (case or "*"), who (the case
 * as the message names it), skiprc, qemu (QEMU's exit status). Prints one line and exits 0
 * pass, 1 failed again, 2 not run.
 */
export const VERDICT_AWK = String.raw`
function clean(s) { sub(/^\[ *[0-9]+\.[0-9]+\] */, "", s); return s }
{ sub(/\r$/, "") }
$1 == "#" && $2 == "cowlab-begin" && $3 == t { began = 1; inb = 1; next }
$1 == "#" && $2 == "cowlab-end" && $3 == t { inb = 0; ended = 1; rc = $4; sub(/^rc=/, "", rc); next }
!inb { next }
/^\[ *[0-9]+\.[0-9]+\]/ {
  if ($0 ~ /${REPORT_ERE}/) { if (report == "") report = $0; if (anyreport == "") anyreport = $0 }
  next
}
{
  l = $0; sub(/^[ \t]+/, "", l)
  if (l != "") last = l
  if (l ~ /^# (not )?ok [0-9]+ /) sub(/^# /, "", l)
  if (l ~ /^#/) { if (l !~ /^# duration_ms/) { diag = l; sub(/^# */, "", diag) }; next }
  if (l !~ /^(not )?ok [0-9]+ /) next
  pass = (l !~ /^not /); sub(/^(not )?ok [0-9]+ (- )?/, "", l)
  name = l; directive = ""
  if ((i = index(l, "#")) > 0) { name = substr(l, 1, i - 1); directive = substr(l, i + 1) }
  sub(/[ \t]+$/, "", name); sub(/^[ \t]+/, "", directive)
  if (c != "*" && name == c && !found) { found = 1; fpass = pass; fdir = directive; fdiag = diag; freport = report }
  report = ""; diag = ""
}
END {
  if (!began) { print "rerun: " who ": not run: the guest never started " t " (QEMU exit " qemu ")"; exit 2 }
  if (c != "*" && found) {
    if (freport != "") { print "rerun: " who ": crash: " clean(freport); exit 1 }
    if (fdir ~ /^SKIP/) { print "rerun: " who ": skipped: " fdir; exit 2 }
    if (fdir ~ /^ERROR/) { print "rerun: " who ": error: " fdir; exit 2 }
    if (fpass) { print "rerun: " who ": pass"; exit 0 }
    print "rerun: " who ": fail: " (fdiag != "" ? fdiag : "not ok (no diagnostic)"); exit 1
  }
  r = (c == "*") ? anyreport : report
  if (r != "") { print "rerun: " who ": crash: " clean(r); exit 1 }
  if (!ended) { print "rerun: " who ": timeout: the guest stopped while " t " ran (QEMU exit " qemu ")"; exit 1 }
  if (rc == 137) { print "rerun: " who ": timeout: " t " ran out of its bound"; exit 1 }
  if (c != "*") { print "rerun: " who ": not run: " t " ended (exit " rc ") without reporting the case"; exit 2 }
  if (skiprc != "" && rc == skiprc) { print "rerun: " who ": skipped: cannot be set up in this guest (exit " rc ")"; exit 2 }
  if (rc == 0) { print "rerun: " who ": pass"; exit 0 }
  print "rerun: " who ": fail: " t " exited " rc (last != "" ? ": " last : ""); exit 1
}`;

const q = (s: string): string => shellQuote([s]);

export function rerunScript(s: RerunSpec): string {
  const qemu = s.argv.kvm
    ? [
        `ACCEL=\${ACCEL:-kvm}`,
        `if [ "$ACCEL" = kvm ] && [ ! -w /dev/kvm ]; then echo "rerun.sh: no usable /dev/kvm here: TCG instead (slower)" >&2; ACCEL=tcg; fi`,
        `if [ "$ACCEL" = kvm ]; then`,
        `  ${command(s.argv.kvm)}`,
        `else`,
        `  ${command(s.argv.tcg)}`,
        `fi`,
      ]
    : [command(s.argv.tcg)];
  const whole = s.whole
    ? `    --whole) WHOLE=1 ;;`
    : `    --whole) echo "rerun.sh: --whole is not offered: the job's guest ran the explorer, whose verdicts cowlab's model decides" >&2; exit 2 ;;`;
  return `#!/bin/sh
# cowlab replay bundle: ${s.id} (${s.recorded.verdict} in the run)
# Boots the kernel with the initramfs its guest booted, narrowed to this case, prints the console.
#   ./rerun.sh                 exit 0: the case passed, 1: it failed again (fail, crash or
#                              timeout), 2: the guest did not run it (or skipped it)
${s.whole ? "#   ./rerun.sh --whole         boot the job's initramfs as it was (every case its guest ran)\n" : ""}#   ./rerun.sh --kernel IMAGE  the same with another kernel image (your build with a fix)
#   ACCEL=tcg                  TCG where the run used KVM; TIMEOUT=SECONDS bounds QEMU (${s.timeoutS})
set -u
KERNEL=${q(s.kernel)}
WHOLE=
while [ $# -gt 0 ]; do
  case $1 in
${whole}
    --kernel)
      [ $# -ge 2 ] || { echo "rerun.sh: --kernel needs an image" >&2; exit 2; }
      case $2 in /*) KERNEL=$2 ;; *) KERNEL=$(pwd)/$2 ;; esac
      shift ;;
    -h | --help) sed -n '2,/^set -u$/{/^#/p;}' "$0"; exit 0 ;;
    *) echo "rerun.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
cd "$(dirname "$0")" || exit 2
[ -f "$KERNEL" ] || { echo "rerun.sh: no kernel image $KERNEL" >&2; exit 2; }
if [ -n "$WHOLE" ]; then
  INITRD=initramfs.cpio
else
  # The kernel unpacks both archives in order: case.cpio's files replace the job's.
  INITRD=${CASE_INITRD}
  cat initramfs.cpio case.cpio > "$INITRD" || exit 2
fi
${qemu.join("\n")}
echo "+ timeout \${TIMEOUT:-${s.timeoutS}} $*" >&2
{ timeout "\${TIMEOUT:-${s.timeoutS}}" "$@" < /dev/null 2>&1; echo $? > .qemu-exit; } | tee console.log
awk -v t=${q(s.program)} -v c=${q(s.case)} -v who=${q(s.label)} -v skiprc=${q(s.skipRc === undefined ? "" : String(s.skipRc))} -v qemu="$(cat .qemu-exit)" '${VERDICT_AWK.trim()}' console.log
verdict=$?
echo ${q(`rerun: the run said: ${s.recorded.verdict}${s.recorded.reason ? `: ${s.recorded.reason}` : ""}`)}
exit $verdict
`;
}
