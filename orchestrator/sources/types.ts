/** An unpacked kernel tree in the cache, ready for out-of-tree (O=) builds. */
export interface SourceTree {
  /** the tree's root (has the top-level Makefile) */
  dir: string;
  /** content key: changes whenever the tree's contents could */
  key: string;
  /** `make kernelversion` of the tree, e.g. 6.12.117 */
  version: string;
  /** human label: package and version, path, or repo@rev */
  label: string;
  /**
   * A tree made from another by changing some of its files (a patch series applied, a
   * bisection position): builds of it start from the base's objects (build/workspace.ts).
   */
  derived?: { base: SourceTree; changed: string[] };
}
