// Reading a kernel console for the kernel's own reports of failure, in the manner of
// syzkaller's pkg/report/linux.go: a fixed set of oops headers, each marking a kernel fault
// (status `crash`) as opposed to a failure of the lab itself.
//
// Titles are normalized so that the same crash gets the same title on every run: what varies
// from one run to the next (CPU numbers, PIDs, `[comm:pid]`, addresses, `+0x1a/0x30` offsets,
// oops error codes and ESRs, `[#1]` counters, "stuck for 22s") is dropped, what names the
// fault is kept (the header's words, file:line where the kernel prints it, a panic's message).
// Where the report names the function that faulted (x86 `RIP: 0010:func+0x../0x..`, arm64
// `pc : func+0x..`, else the first frame of the Call Trace that is not generic reporting
// machinery) the title ends in ` in func`, as syzkaller's do. Unlike syzkaller's, a WARNING
// keeps the file:line its header prints: "WARNING at mm/gup.c:123 in follow_page_pte".
// `kernel BUG at mm/gup.c:123!` stays as printed (file:line names it); a panic is
// `Kernel panic: <message>` with only addresses and offsets taken out. The lab's kernels are
// built without CONFIG_KALLSYMS, so their RIP/pc lines are raw addresses and their titles
// have no ` in func`; kernels from a git tree with KALLSYMS get one.

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

/** A symbol as %pS prints it, e.g. `follow_page_pte+0x1a/0x30` or `do_wp_page.cold+0x5/0x9`. */
const SYM = String.raw`([A-Za-z_][\w.]*)\+0x[0-9a-f]+\/0x[0-9a-f]+`;
/** A value that can only be an address or a hashed pointer: 12 to 16 hex digits. */
const ADDRESS = /\b(?:0x)?[0-9a-f]{12,16}\b/gi;

/** A function name as a title says it: without the compiler's clone suffixes (.isra.0, .cold...). */
const funcName = (f: string): string => f.replace(/\.(?:isra|constprop|part|cold|llvm)(?:\.\d+)*/g, "");

interface Header {
  re: RegExp;
  /** the title before generic clean-up, and the function if the header itself names it */
  title: (m: RegExpExecArray) => string | { title: string; func?: string };
  /** look for the faulting function in the report's RIP/pc line or Call Trace */
  locate?: boolean;
}

// Order matters: a line is read by the first header that matches it.
const HEADERS: Header[] = [
  { re: /Kernel panic - not syncing: (.*)/, title: (m) => `Kernel panic: ${m[1]}` },
  { re: /(kernel BUG at \S+)/, title: (m) => m[1]! },
  // BUG() on a kernel without CONFIG_DEBUG_BUGVERBOSE: "Kernel BUG at <address> [verbose debug info unavailable]"
  { re: /Kernel BUG at /, title: () => "Kernel BUG", locate: true },
  // arm64 die(): "Internal error: Oops - BUG: 00000000f2000800 [#1] SMP" (the ESR dropped);
  // before the BUG: headers, which would otherwise read its "BUG: ..." part.
  { re: /Internal error: (.*?): [0-9a-f]+ \[#\d+\]/, title: (m) => `Internal error: ${m[1]}`, locate: true },
  { re: /(Internal error: [^\n]*)/, title: (m) => m[1]!, locate: true },
  // arm64 "Unable to handle kernel paging request at virtual address ffff..."
  { re: /(Unable to handle kernel .*?)(?: at virtual address|$)/, title: (m) => m[1]!, locate: true },
  { re: /BUG: (KASAN|KFENCE|KMSAN): ([\w-]+(?: [\w-]+)*) in (0x[0-9a-f]+|[A-Za-z_][\w.]*)/, title: (m) => ({ title: `BUG: ${m[1]}: ${m[2]}`, func: /^0x/.test(m[3] ?? "") ? undefined : m[3] }), locate: false },
  { re: /BUG: unable to handle page fault for address/, title: () => "BUG: unable to handle page fault", locate: true },
  { re: /BUG: unable to handle kernel (paging request|NULL pointer dereference)/, title: (m) => `BUG: unable to handle kernel ${m[1]}`, locate: true },
  { re: /BUG: kernel NULL pointer dereference/, title: () => "BUG: kernel NULL pointer dereference", locate: true },
  { re: /BUG: soft lockup/, title: () => "BUG: soft lockup", locate: true },
  { re: /BUG: scheduling while atomic/, title: () => "BUG: scheduling while atomic" },
  { re: /(BUG: sleeping function called from invalid context at \S+)/, title: (m) => m[1]! },
  { re: /BUG: (Bad page state|Bad page map|Bad rss-counter state)/, title: (m) => `BUG: ${m[1]}` },
  { re: /^(?:[\w-]+: )?(BUG: .*)/, title: (m) => m[1]! },
  // WARN() splats, as 5.10 to 6.12 print them ("WARNING: CPU: 0 PID: 42 at mm/gup.c:123 func+0x1/0x2")
  // and as 7.x does ("WARNING: mm/gup.c:123 at func+0x1/0x2, CPU#0: comm/42"), with or without
  // the file:line (CONFIG_DEBUG_BUGVERBOSE). Plain pr_warn("WARNING: ...") lines (e.g. the
  // workqueue cpumask notice at boot) are not kernel faults.
  { re: /WARNING: CPU: \d+ PID: \d+ at (?:(\S+:\d+) )?(\S+)/, title: (m) => warning(m[1], m[2]), locate: true },
  { re: /WARNING: (?:(\S+:\d+) )?at (\S+?),? CPU#\d+/, title: (m) => warning(m[1], m[2]), locate: true },
  { re: /WARNING: at (?:(\S+:\d+) )?(\S+)/, title: (m) => warning(m[1], m[2]), locate: true },
  { re: /(WARNING: (?:possible|suspicious|inconsistent|bad unlock|held lock|lock held|nested lock|kernel stack)[^\n]*)/, title: (m) => m[1]! },
  // x86 "general protection fault, probably for non-canonical address 0x...: 0000 [#1] SMP",
  // from 6.x prefixed "Oops: ".
  { re: /general protection fault/, title: () => "general protection fault", locate: true },
  // x86 die(): "Oops: invalid opcode: 0000 [#1] SMP" (6.x), "invalid opcode: 0000 [#1] SMP"
  // (5.10), "Oops: 0002 [#1] SMP" (after a page fault header).
  { re: /^(?:Oops: )?([a-z][a-z ]+): [0-9a-f]{4} \[#\d+\]/, title: (m) => `Oops: ${m[1]}`, locate: true },
  { re: /^Oops: /, title: () => "Oops", locate: true },
  { re: /(UBSAN: [^\n]*)/, title: (m) => m[1]! },
  { re: /INFO: task \S+ blocked for more than (\d+) seconds/, title: (m) => `INFO: task blocked for more than ${m[1]} seconds` },
  { re: /(rcu: INFO: rcu_\w+ (?:self-)?detected stalls?[^{(\n]*)/, title: (m) => m[1]! },
  { re: /(page dumped because: [^\n]*)/, title: (m) => m[1]!, locate: true },
];

function warning(at: string | undefined, where: string | undefined): { title: string; func?: string } {
  const sym = where && new RegExp(`^${SYM}`).exec(where);
  return { title: at ? `WARNING at ${at}` : "WARNING", func: sym ? sym[1] : undefined };
}

/** What varies between two runs of the same crash, taken out of any title. */
function scrub(title: string): string {
  return title
    .replace(new RegExp(SYM, "g"), "$1")
    .replace(/\s*\[#\d+\]/g, "")
    .replace(/\s*\[[^\]\s]*:\d+\]/g, "") // [comm:pid]
    .replace(/\s*\bstuck for \d+s!?/g, "")
    .replace(/\bCPU(?:: |#)\d+,?\s*/g, "")
    .replace(/\b(?:PID|pid|Pid): \d+,?\s*/g, "")
    .replace(ADDRESS, "")
    .replace(/\s+/g, " ")
    .replace(/[\s:,-]+$/, "")
    .trim();
}

function matchHeader(line: string): { title: string; func?: string; locate: boolean } | undefined {
  const text = stripTimestamp(line).trim();
  for (const h of HEADERS) {
    const m = h.re.exec(text);
    if (!m) continue;
    const t = h.title(m);
    const { title, func } = typeof t === "string" ? { title: t, func: undefined } : t;
    return { title: scrub(title), func: func && funcName(func), locate: h.locate ?? false };
  }
  return undefined;
}

/**
 * The stable title of one report header line (printk timestamp or not), without what the
 * lines after it say: `normalizeTitle("WARNING: CPU: 1 PID: 139 at mm/gup.c:123
 * follow_page_pte+0x1a/0x30")` is "WARNING at mm/gup.c:123 in follow_page_pte". A line that
 * is no known header is only scrubbed of what varies.
 */
export function normalizeTitle(line: string): string {
  const h = matchHeader(line);
  if (!h) return scrub(stripTimestamp(line));
  return h.func ? `${h.title} in ${h.func}` : h.title;
}

// Frames that are the kernel reporting a fault, not the fault (after syzkaller's skip list).
const GENERIC_FRAME =
  /^(?:dump_stack\w*|show_stack|show_regs|__show_regs|panic|__warn\w*|warn_slowpath\w*|report_bug|handle_bug|fixup_bug|do_error_trap|do_trap|exc_\w+|asm_exc_\w+|invalid_op|die|die_kernel_fault|__die\w*|oops_\w+|bug_handler|do_bug|_?printk|vprintk\w*|dump_page|__dump_page|bad_page|print_\w+|__?kasan_\w+|lockdep_\w+|lock_acquire|lock_release|_raw_\w+|__?might_\w+|do_kernel_fault|__do_kernel_fault|do_mem_abort|do_translation_fault|do_page_fault|el[01]h?_\w+|arm64_\w+|brk_handler|call_break_hook|do_debug_exception|page_fault_oops|kernelmode_fixup_or_oops|no_context|handle_page_fault|__?bad_area_nosemaphore)$/;
const FRAME = new RegExp(String.raw`^\s*(?:\[<[0-9a-f]+>\]\s*)?${SYM}`);

/** The function the report says faulted: the RIP/pc line, else the first non-generic frame. */
function faultingFunction(lines: string[], from: number, to: number): string | undefined {
  let inTrace = false;
  let traced: string | undefined;
  for (let i = from + 1; i < to; i++) {
    if (!isKernelLine(lines[i]!)) continue;
    const l = stripTimestamp(lines[i]!);
    if (/---\[ end trace/.test(l)) break;
    const ip = new RegExp(String.raw`^(?:RIP: [0-9a-f]{4}:|pc : )(?:\[<[0-9a-f]+>\]\s*)*${SYM}`).exec(l);
    if (ip) return ip[1];
    if (/^(?:RIP|pc) ?: /.test(l)) continue; // a raw address: the trace may still name it
    if (/^Call [Tt]race:/.test(l)) {
      inTrace = true;
      continue;
    }
    if (inTrace && !traced && !/\s\?\s/.test(` ${l}`)) {
      const f = FRAME.exec(l);
      if (f && !GENERIC_FRAME.test(funcName(f[1]!))) traced = f[1];
    }
  }
  return traced;
}

/**
 * A kernel line that says the kernel died or killed a task in kernel mode: after one, the
 * guest often hangs (a lock held by the dead task) until its timeout, so the lab stops it
 * once the report has had time to print. WARN splats and stall reports do not stop it.
 */
const FATAL = /Kernel panic - not syncing|kernel BUG at|Kernel BUG at|Oops: |Internal error: |general protection fault|BUG: unable to handle|BUG: kernel NULL pointer dereference|^[a-z][a-z ]+: [0-9a-f]{4} \[#\d+\]/;
export const isFatalLine = (line: string): boolean => isKernelLine(line) && FATAL.test(stripTimestamp(line));

/** Only kernel-printed lines are searched: a reproducer printing "BUG:" is not an oops. */
export function findKernelReports(lines: string[]): KernelReport[] {
  const found: { line: number; title: string; func?: string; locate: boolean }[] = [];
  let inReport = -1;
  lines.forEach((raw, i) => {
    if (!isKernelLine(raw)) return;
    const h = matchHeader(raw);
    if (!h) return;
    // One report per oops: the lines right after a header (Call Trace, registers...) that
    // match another pattern belong to the same report.
    if (inReport >= 0 && i - inReport < 60) return;
    inReport = i;
    found.push({ line: i, ...h });
  });
  return found.map((r, k) => {
    const end = Math.min(found[k + 1]?.line ?? lines.length, r.line + 60);
    const func = r.func ?? (r.locate ? faultingFunction(lines, r.line, end) : undefined);
    return { title: func ? `${r.title} in ${funcName(func)}` : r.title, line: r.line };
  });
}

export const consoleTail = (lines: string[], n = 30): string => lines.slice(-n).map(stripTimestamp).join("\n");
export const excerpt = (lines: string[], from: number, n = 40): string => lines.slice(from, from + n).map(stripTimestamp).join("\n");
