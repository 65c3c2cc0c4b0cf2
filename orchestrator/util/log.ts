// Progress: on a terminal, a live table of jobs (state, elapsed, ETA from earlier runs);
// elsewhere (CI, pipes) one timestamped line per event.

const t0 = Date.now();
let quiet = false;
export const setQuiet = (q: boolean): void => {
  quiet = q;
};
export const elapsed = (): string => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`;

interface JobLine {
  stage: string;
  detail: string;
  started: number;
  finished?: number;
}

const jobs = new Map<string, JobLine>();
let history: Record<string, number> = {};
let timer: NodeJS.Timeout | undefined;
let drawn = 0;
const live = (): boolean => !!process.stderr.isTTY && !process.env.CI && !quiet;

const fmt = (s: number): string => (s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${s.toFixed(0)}s`);

function draw(): void {
  const now = Date.now();
  const rows = [...jobs].map(([id, j]) => {
    const secs = ((j.finished ?? now) - j.started) / 1000;
    const prior = history[id];
    const eta = j.finished || prior === undefined ? "" : `eta ${fmt(Math.max(0, prior - secs))}`;
    return `${id.padEnd(36)} ${j.stage.padEnd(8)} ${fmt(secs).padStart(6)} ${eta.padEnd(10)} ${j.detail}`.slice(0, (process.stderr.columns || 120) - 1);
  });
  const header = `cowlab ${elapsed().trim()}  ${[...jobs.values()].filter((j) => j.finished).length}/${jobs.size} jobs done`;
  process.stderr.write(`${drawn ? `\x1b[${drawn}A` : ""}\x1b[J${[header, ...rows].join("\n")}\n`);
  drawn = rows.length + 1;
}

/** Start the view; `lastWork` is how long each job worked last time (seconds), for ETAs. */
export function startProgress(jobIds: string[], lastWork: Record<string, number>): void {
  history = lastWork;
  for (const id of jobIds) jobs.set(id, { stage: "queued", detail: "", started: Date.now() });
  if (live()) timer = setInterval(draw, 500);
}

export function stopProgress(): void {
  if (timer) {
    clearInterval(timer);
    draw();
  }
}

export function progress(job: string, stage: string, detail = ""): void {
  const j = jobs.get(job) ?? { stage, detail, started: Date.now() };
  if (j.stage === "queued") j.started = Date.now();
  j.stage = stage;
  j.detail = detail;
  if (stage === "done") j.finished = Date.now();
  jobs.set(job, j);
  if (quiet || live()) return;
  process.stderr.write(`[${elapsed()}] ${job.padEnd(22)} ${stage.padEnd(8)} ${detail}\n`);
}
