// What Linux promises a program about anonymous memory under COW and GUP, as named
// invariants (issue 9 part 4), and the places where Linux documents a weaker guarantee
// (caveats). A prediction names the invariant it rests on, so a mismatch says which promise
// broke; a caveat names its reference, so the model is never silently lenient.

export const INVARIANTS = {
  "fork-isolation": "private memory is isolated between parent and child after fork: no process sees another's later writes",
  "pin-coherence":
    "a long-term pin stays coherent with the pinning process's mapping until unpin (both directions for R/W pins), across mprotect, swap, migration, split, collapse and fork",
  "ro-ref-isolation": "a R/O GUP reference never sees another process's later writes",
  "write-protection": "a write to a mapping without PROT_WRITE faults, in every process (and one with PROT_WRITE succeeds)",
  "content-preserved": "content survives swap, migration, split, collapse, KSM and mremap: a mapping shows what was last written to it",
  dontfork: "MADV_DONTFORK holds in the child: it has no mapping, its accesses fault",
  wipeonfork: "MADV_WIPEONFORK holds in the child: it sees zeroes until it writes",
  "unmapped-faults": "after munmap a process's accesses fault (and O_DIRECT on it fails)",
  bounded: "every operation returns within its bound (a pin or fault that never completes is a failure)",
  "kernel-quiet": "the kernel reports nothing (no oops, BUG, WARN, lockdep splat)",
} as const;
export type InvariantId = keyof typeof INVARIANTS;
export const INVARIANT_IDS = Object.keys(INVARIANTS) as InvariantId[];

export interface Caveat {
  id: "ro-ref-not-longterm" | "hugetlb-ro-ref" | "non-anon-ro-pin";
  reason: string;
  ref: string;
}

export const CAVEATS: Record<Caveat["id"], Caveat> = {
  "ro-ref-not-longterm": {
    id: "ro-ref-not-longterm",
    reason:
      "a vmsplice() reference is FOLL_GET without FOLL_LONGTERM: it is not kept coherent with the mapping, so it may or may not see the pinning process's own later writes (it must never see another process's)",
    ref: "Documentation/core-api/pin_user_pages.rst (FOLL_LONGTERM); tools/testing/selftests/mm/cow.c do_test_vmsplice_in_parent()",
  },
  "hugetlb-ro-ref": {
    id: "hugetlb-ro-ref",
    reason:
      "R/O GUP references on hugetlb are not unshared: the other process's later write may leak into a vmsplice() pipe; upstream marks these tests as expected failures",
    ref: "tools/testing/selftests/mm/cow.c: vmsplice tests on hugetlb are KSFT_XFAIL ('harder to fix and nobody really cares'); testcases/NOTES.md, manifest known issue vmsplice-*-hugetlb",
  },
  "non-anon-ro-pin": {
    id: "non-anon-ro-pin",
    reason:
      "a R/O long-term pin of a page that is not yet anonymous (page cache of a private file mapping, the shared zeropage) may pin that page instead of unsharing it; the owner's later write then COWs away from the pin",
    ref: "mm/gup.c gup_must_unshare() unshares only anonymous pages; tools/testing/selftests/mm/cow.c non-anon tests ('R/O longterm GUP pin' on memfd/zeropage)",
  },
};
