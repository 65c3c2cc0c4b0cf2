// Progress lines: timestamped, one per event, fit for CI logs and terminals alike.
const t0 = Date.now();
let quiet = false;
export const setQuiet = (q: boolean): void => {
  quiet = q;
};
export const elapsed = (): string => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`;

export function progress(job: string, stage: string, detail = ""): void {
  if (quiet) return;
  process.stderr.write(`[${elapsed()}] ${job.padEnd(22)} ${stage.padEnd(8)} ${detail}\n`);
}
