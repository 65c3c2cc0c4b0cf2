// Typed results for the seams between "what to run" and "how it runs": a failed build or
// a dead QEMU is data the report shows, not an exception that ends the run.
export type Ok<T> = { ok: true; value: T };
export type Err<E> = { ok: false; error: E };
export type Result<T, E = LabError> = Ok<T> | Err<E>;

export type LabErrorKind =
  | "input" // a file the user gave is wrong
  | "source" // fetching or unpacking a kernel source failed
  | "build" // make failed or dropped options
  | "guest" // assembling the guest (reproducers, initramfs) failed
  | "qemu" // QEMU could not run or died
  | "internal";

export interface LabError {
  kind: LabErrorKind;
  message: string;
  /** Longer text for the report: a log tail, the rejected hunk, ... */
  detail?: string;
}

export const ok = <T>(value: T): Ok<T> => ({ ok: true, value });
export const err = <E = LabError>(error: E): Err<E> => ({ ok: false, error });
export const labError = (kind: LabErrorKind, message: string, detail?: string): Err<LabError> =>
  err({ kind, message, ...(detail === undefined ? {} : { detail }) });

/** Error raised for bad user input; the CLI prints it as one line and exits 2. */
export class InputError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

/** A lab step the whole command depends on failed (not one job's): the CLI prints it and exits 2. */
export class LabFailure extends Error {}
