// A small seeded PRNG so random scenarios replay exactly from their seed on any machine
// (Math.random has no seed). mulberry32: 32-bit state, good enough to pick ops, not crypto.
export type Rng = () => number;

/** Uniform float in [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform integer in [0, n). */
export const pick = (rng: Rng, n: number): number => Math.floor(rng() * n);

/** Derive the i-th scenario seed from a run seed (splitmix32 finaliser): independent streams. */
export function deriveSeed(seed: number, i: number): number {
  let z = (seed + Math.imul(i + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
