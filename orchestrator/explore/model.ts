// The oracle: what Linux promises a program, as a state machine over a scenario. For every
// step it predicts the observation the guest interpreter will report (README.md, "Observation
// format") and names the invariant that prediction rests on. It models promises, not pages:
// there is no PageAnonExclusive here, only "whose writes each mapping and the pin must show".
import type { Grammar, Mechanism, Proc } from "./grammar.ts";
import { CAVEATS, type Caveat, type InvariantId } from "./invariants.ts";
import { type Scenario, ScenarioError, printOp } from "./scenario.ts";
import { checkWellFormed } from "./wellformed.ts";

/** A data version: the memory type's initial content, zeroes, or the write of step k. */
export type Version = "init" | "zero" | `w${number}`;
/** What a read reports; `mixed` is never predicted (a torn or partly COWed region). */
export type ReadOutcome = Version | "fault" | "mixed";
export type WriteOutcome = "ok" | "fault";
/** Any other op: it returned (with any return value), or it hit its time bound. */
export type OpOutcome = "done" | "timeout";
export type Outcome = ReadOutcome | WriteOutcome | OpOutcome;

export interface Prediction {
  step: number;
  token: string;
  kind: "read" | "write" | "op";
  /** outcomes Linux promises (any one of them) */
  accept: Outcome[];
  /** outcomes that break the ideal but that Linux documents it does not promise ("any": every outcome) */
  tolerated?: Outcome[] | "any";
  invariant: InvariantId;
  caveats: Caveat[];
  /** one line: why this is the prediction */
  why: string;
}

/** A write's author (a process or the pin) and the process whose mapping it went into. */
export interface Writer {
  by: Proc | "pin";
  owner: Proc;
}

export interface Model {
  predictions: Prediction[];
  /** who wrote each version, and into whose mapping: the judge tells a leak from a lost write */
  writers: Map<Version, Writer>;
}

interface ProcM {
  alive: boolean;
  mapped: boolean;
  writable: boolean;
  view: Version;
  /** the region is anonymous memory in this process (false: page cache or zeropage, until a write) */
  anon: boolean;
  /** the child got an empty region through MADV_WIPEONFORK and has not written since */
  wiped: boolean;
  /** the child has no mapping because of MADV_DONTFORK (not munmap) */
  dontforked: boolean;
  /** its current view came from a write through its own R/W pin */
  viewFromPin: boolean;
}

interface PinM {
  mech: string;
  spec: Mechanism;
  owner: Proc;
  /** what a long-term pin holds; for R/O references the versions it may show */
  view: Version;
  history: Set<Version>;
  /** a long-term pin follows the owner's mapping until unpin or until the owner unmaps */
  coherent: boolean;
  snapshot: Version;
  anonAtPin: boolean;
}

const proc = (over: Partial<ProcM> = {}): ProcM => ({
  alive: false, mapped: false, writable: true, view: "init", anon: true, wiped: false, dontforked: false, viewFromPin: false, ...over,
});

/** Predict every observation of a well-formed scenario (throws ScenarioError otherwise). */
export function predict(sc: Scenario, g: Grammar): Model {
  checkWellFormed(sc, g);
  const t = g.memory[sc.memory.type];
  if (!t) throw new ScenarioError(`memory '${sc.memory.type}': unknown memory type`);
  const initial: Version = t.initial === "zero" ? "zero" : "init";
  const hugetlb = sc.memory.type === "hugetlb";
  const procs: Record<Proc, ProcM> = {
    parent: proc({ alive: true, mapped: true, view: initial, anon: t.anon }),
    child: proc(),
    child2: proc(),
  };
  let pin: PinM | null = null;
  let dontfork = false;
  let wipeonfork = false;
  const writers = new Map<Version, Writer>();
  const out: Prediction[] = [];

  sc.ops.forEach((op, i) => {
    const step = i + 1;
    const token = printOp(op);
    const at: Proc = op.at ?? "parent";
    const push = (p: Omit<Prediction, "step" | "token" | "caveats"> & { caveats?: Caveat[] }): void => {
      out.push({ step, token, caveats: [], ...p });
    };
    /** An op whose only promise is that it returns within its bound. */
    const returns = (why: string): void => push({ kind: "op", accept: ["done"], invariant: "bounded", why });
    const faultInvariant = (p: ProcM): InvariantId => (p.dontforked ? "dontfork" : "unmapped-faults");
    // Which invariant a process's read rests on: the most specific promise in play.
    const readInvariant = (name: Proc, p: ProcM): InvariantId => {
      if (p.wiped) return "wipeonfork";
      if (p.viewFromPin) return "pin-coherence";
      const others = [...writers.entries()].some(([v, w]) => v !== p.view && w.owner !== name);
      return others ? "fork-isolation" : "content-preserved";
    };

    switch (op.name) {
      case "read": {
        if (op.arg === "pin") {
          if (!pin) break; // unreachable: well-formed
          if (pin.spec.at_access) {
            const o = procs[pin.owner];
            if (!o.mapped) push({ kind: "read", accept: ["fault"], invariant: faultInvariant(o), why: `O_DIRECT on ${pin.owner}'s region, which it no longer maps` });
            else push({ kind: "read", accept: [o.view], invariant: "content-preserved", why: `O_DIRECT reads ${pin.owner}'s mapping as it is now` });
          } else if (pin.spec.longterm) {
            const caveats: Caveat[] = [];
            const accept: Version[] = [pin.view];
            if (!pin.spec.access.includes("write") && !pin.anonAtPin && pin.snapshot !== pin.view) {
              accept.push(pin.snapshot);
              caveats.push(CAVEATS["non-anon-ro-pin"]);
            }
            const why = pin.coherent ? `a long-term pin shows ${pin.owner}'s mapping: ${pin.view}` : `${pin.owner} unmapped the region: the pin keeps ${pin.view}`;
            push({ kind: "read", accept, invariant: pin.coherent ? "pin-coherence" : "content-preserved", caveats, why });
          } else {
            const accept = [...pin.history];
            const caveats: Caveat[] = accept.length > 1 ? [CAVEATS["ro-ref-not-longterm"]] : [];
            const p: Omit<Prediction, "step" | "token" | "caveats"> & { caveats?: Caveat[] } = {
              kind: "read", accept, invariant: "ro-ref-isolation", caveats, why: `a R/O reference shows ${pin.snapshot} (taken at pin) or ${pin.owner}'s own later writes`,
            };
            if (hugetlb) {
              p.tolerated = "any";
              caveats.push(CAVEATS["hugetlb-ro-ref"]);
            }
            push(p);
          }
          break;
        }
        const name = (op.arg ?? "parent") as Proc;
        const p = procs[name];
        if (!p.mapped) push({ kind: "read", accept: ["fault"], invariant: faultInvariant(p), why: `${name} has no mapping` });
        else push({ kind: "read", accept: [p.view], invariant: readInvariant(name, p), why: `${name}'s mapping shows ${p.view}` });
        break;
      }
      case "write": {
        const v: Version = `w${step}`;
        if (op.arg === "pin") {
          if (!pin) break;
          const o = procs[pin.owner];
          if (pin.spec.at_access && !o.mapped) {
            push({ kind: "write", accept: ["fault"], invariant: faultInvariant(o), why: `O_DIRECT into ${pin.owner}'s region, which it no longer maps` });
            break;
          }
          if (pin.spec.at_access && !o.writable) {
            push({ kind: "write", accept: ["fault"], invariant: "write-protection", why: `O_DIRECT read into a PROT_READ mapping fails (GUP with FOLL_WRITE)` });
            break;
          }
          push({ kind: "write", accept: ["ok"], invariant: pin.spec.at_access ? "write-protection" : "pin-coherence", why: "the pin writes into the pinned pages" });
          writers.set(v, { by: "pin", owner: pin.owner });
          pin.view = v;
          if (pin.coherent || pin.spec.at_access) {
            o.view = v;
            o.anon = true;
            o.wiped = false;
            o.viewFromPin = true;
          }
          break;
        }
        const name = (op.arg ?? "parent") as Proc;
        const p = procs[name];
        if (!p.mapped) {
          push({ kind: "write", accept: ["fault"], invariant: faultInvariant(p), why: `${name} has no mapping` });
          break;
        }
        if (!p.writable) {
          push({ kind: "write", accept: ["fault"], invariant: "write-protection", why: `${name} maps the region without PROT_WRITE` });
          break;
        }
        push({ kind: "write", accept: ["ok"], invariant: "write-protection", why: `${name} maps the region PROT_WRITE` });
        writers.set(v, { by: name, owner: name });
        Object.assign(p, { view: v, anon: true, wiped: false, viewFromPin: false });
        if (pin && pin.owner === name && p.mapped) {
          if (pin.spec.longterm) pin.view = v;
          else if (!pin.spec.at_access) pin.history.add(v);
        }
        break;
      }
      case "fork":
      case "fork2": {
        const c = op.name === "fork" ? "child" : "child2";
        const par = procs.parent;
        procs[c] = wipeonfork && par.mapped && !dontfork
          ? proc({ alive: true, mapped: true, writable: par.writable, view: "zero", anon: true, wiped: true })
          : proc({ alive: true, mapped: par.mapped && !dontfork, writable: par.writable, view: par.view, anon: par.anon, dontforked: par.mapped && dontfork });
        returns("fork returns");
        break;
      }
      case "pin": {
        const spec = g.mechanisms[op.arg ?? ""];
        if (!spec) break;
        const o = procs[at];
        // A FOLL_WRITE pin (io_uring) write-faults the page in: a private file page or the
        // zeropage is replaced by an anonymous copy first.
        if (spec.access.includes("write") && !spec.at_access) o.anon = true;
        pin = { mech: op.arg ?? "", spec, owner: at, view: o.view, history: new Set([o.view]), coherent: true, snapshot: o.view, anonAtPin: o.anon };
        returns("the pin is taken");
        break;
      }
      case "unpin":
        pin = null;
        returns("the pin is dropped");
        break;
      case "mprotect":
        procs[at].writable = op.arg === "rw";
        returns("mprotect returns");
        break;
      case "munmap":
        procs[at].mapped = false;
        if (pin && pin.owner === at) pin.coherent = false;
        returns("munmap returns");
        break;
      case "exit":
        Object.assign(procs[(op.arg ?? "child") as Proc], { alive: false, mapped: false });
        returns("the child exits");
        break;
      case "dontfork":
        dontfork = true;
        returns("madvise returns");
        break;
      case "dofork":
        dontfork = false;
        returns("madvise returns");
        break;
      case "wipeonfork":
        // mm/madvise.c refuses MADV_WIPEONFORK (EINVAL) on a VMA with a file behind it
        // (memfd, shmem, hugetlbfs): the flag only exists for private anonymous memory.
        if (!t.file_backed) wipeonfork = true;
        returns(t.file_backed ? "madvise refuses it (EINVAL) on a file-backed mapping" : "madvise returns");
        break;
      // The data does not change: later reads rest on content-preserved (or a stronger promise).
      case "pageout":
      case "migrate":
      case "split":
      case "collapse":
      case "mremap":
      case "ksm":
      case "softdirty":
        returns(`${op.name} may fail (pinned pages stay put), but returns and keeps the content`);
        break;
    }
  });
  return { predictions: out, writers };
}
