// Reading a kernel console for the kernel's own reports of failure, in the manner of
// syzkaller's pkg/report/linux.go: a fixed set of oops headers, each marking a kernel fault
// (status `crash`) as opposed to a failure of the lab itself.

export interface KernelReport {
  title: string;
  /** index of the line that starts the report */
  line: number;
}

const TIMESTAMP = /^\[\s*\d+\.\d+\]\s?/;

/** Console line without its printk timestamp. */
export const stripTimestamp = (line: string): string => line.replace(TIMESTAMP, "");
export const isKernelLine = (line: string): boolean => TIMESTAMP.test(line);

/** A printk record starting inside a line the guest's programs were writing. */
const EMBEDDED = /^(.*?\S)(\[\s*\d+\.\d{6}\] .*)$/;

/**
 * The kernel and the guest's programs share one serial line, so a printk can land in the
 * middle of a program's line: "not ok 1 iouring[    1.182593] input: ...", then
 * "-fork-parent-write-base" on the next. Give the kernel record its own line and rejoin the
 * program's two halves on the next one; the line count (and so every line index) stays.
 */
export function untangleConsole(lines: string[]): string[] {
  const out = [...lines];
  for (let i = 0; i < out.length - 1; i++) {
    if (isKernelLine(out[i]!)) continue;
    const m = EMBEDDED.exec(out[i]!);
    if (!m) continue;
    out[i] = m[2]!;
    out[i + 1] = m[1]! + out[i + 1]!;
  }
  return out;
}

const OOPSES: { re: RegExp; title: (m: RegExpExecArray) => string }[] = [
  { re: /Kernel panic - not syncing: (.*)/, title: (m) => `Kernel panic: ${m[1]}` },
  { re: /(kernel BUG at \S+)/, title: (m) => m[1]! },
  { re: /(BUG: (?:unable to handle|KASAN|KFENCE|soft lockup|scheduling while atomic|sleeping function|Bad page|Bad rss)[^\n]*)/, title: (m) => m[1]! },
  { re: /(BUG: [^\n]*)/, title: (m) => m[1]! },
  // WARN() splats and lockdep/RCU debugging reports; plain pr_warn("WARNING: ...") lines
  // (e.g. the workqueue cpumask notice at boot) are not kernel faults.
  { re: /(WARNING: (?:CPU: \d+ PID: \d+ )?at [^\n]*)/, title: (m) => m[1]! },
  { re: /(WARNING: (?:possible|suspicious|inconsistent|bad unlock|held lock|lock held|nested lock|kernel stack)[^\n]*)/, title: (m) => m[1]! },
  { re: /(general protection fault[^\n]*)/, title: (m) => m[1]! },
  { re: /(Internal error: [^\n]*)/, title: (m) => m[1]! },
  { re: /(Unable to handle kernel [^\n]*)/, title: (m) => m[1]! },
  { re: /(Oops: [^\n]*)/, title: (m) => m[1]! },
  { re: /(UBSAN: [^\n]*)/, title: (m) => m[1]! },
  { re: /(INFO: task \S+ blocked for more than \d+ seconds)/, title: (m) => m[1]! },
  { re: /(watchdog: BUG: soft lockup[^\n]*)/, title: (m) => m[1]! },
  { re: /(rcu: INFO: rcu_\w+ (?:self-)?detected stalls?[^\n]*)/, title: (m) => m[1]! },
  { re: /(page dumped because: [^\n]*)/, title: (m) => m[1]! },
];

/**
 * A kernel line that says the kernel died or killed a task in kernel mode: after one, the
 * guest often hangs (a lock held by the dead task) until its timeout, so the lab stops it
 * once the report has had time to print. WARN splats and stall reports do not stop it.
 */
const FATAL = /Kernel panic - not syncing|kernel BUG at|Oops: |Internal error: |general protection fault|BUG: unable to handle/;
export const isFatalLine = (line: string): boolean => isKernelLine(line) && FATAL.test(line);

/** Only kernel-printed lines are searched: a reproducer printing "BUG:" is not an oops. */
export function findKernelReports(lines: string[]): KernelReport[] {
  const reports: KernelReport[] = [];
  let inReport = -1;
  lines.forEach((raw, i) => {
    if (!isKernelLine(raw)) return;
    const line = stripTimestamp(raw);
    for (const o of OOPSES) {
      const m = o.re.exec(line);
      if (m) {
        // One report per oops: the lines right after a header (Call Trace, registers...) that
        // match another pattern belong to the same report.
        if (inReport >= 0 && i - inReport < 60) return;
        inReport = i;
        reports.push({ title: o.title(m).trim(), line: i });
        return;
      }
    }
  });
  return reports;
}

export const consoleTail = (lines: string[], n = 30): string => lines.slice(-n).map(stripTimestamp).join("\n");
export const excerpt = (lines: string[], from: number, n = 40): string => lines.slice(from, from + n).map(stripTimestamp).join("\n");
