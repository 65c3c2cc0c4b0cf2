// Charts as inline SVG drawn at render time: no chart library, nothing fetched, and the page
// still shows them from file:// or a CI artifact. Each bar carries a <title> (the browser's
// tooltip) with its exact value.
import { esc } from "./render-util.ts";

export interface Segment {
  value: number;
  /** CSS class giving the fill (the page's stylesheet colours it) */
  cls: string;
  title: string;
}
export interface BarRow {
  label: string;
  segments: Segment[];
  /** text at the bar's end (default: the total with the unit) */
  note?: string;
}

const LABEL_W = 210;
const ROW_H = 18;
const fmt = (v: number): string => (v >= 100 ? String(Math.round(v)) : String(Math.round(v * 10) / 10));

/**
 * Horizontal bars, one row each, segments stacked left to right, all on one scale. A row
 * whose segments sum to 0 shows its note only.
 */
export function hbars(rows: BarRow[], unit: string, opts: { width?: number; cls?: string } = {}): string {
  const width = opts.width ?? 900;
  const barW = width - LABEL_W - 140;
  const max = Math.max(1e-9, ...rows.map((r) => r.segments.reduce((s, x) => s + x.value, 0)));
  const h = rows.length * ROW_H + 6;
  const body = rows.map((r, i) => {
    const y = i * ROW_H + 3;
    let x = LABEL_W;
    const segs = r.segments.map((s) => {
      const w = (s.value / max) * barW;
      const rect = `<rect class="${esc(s.cls)}" x="${x.toFixed(1)}" y="${y + 2}" width="${Math.max(w, s.value > 0 ? 1 : 0).toFixed(1)}" height="${ROW_H - 5}"><title>${esc(s.title)}</title></rect>`;
      x += w;
      return rect;
    });
    const total = r.segments.reduce((s, v) => s + v.value, 0);
    return `<text class="lbl" x="${LABEL_W - 6}" y="${y + ROW_H - 5}" text-anchor="end">${esc(r.label)}</text>${segs.join("")}<text class="val" x="${(x + 4).toFixed(1)}" y="${y + ROW_H - 5}">${esc(r.note ?? `${fmt(total)} ${unit}`)}</text>`;
  });
  return `<svg class="chart ${opts.cls ?? ""}" width="${width}" height="${h}" viewBox="0 0 ${width} ${h}" role="img">${body.join("")}</svg>`;
}

export interface Point {
  value: number | null;
  title: string;
  current?: boolean;
}

/** Small vertical bars over time (oldest left): one per run, the current one marked. */
export function sparkbars(points: Point[], opts: { width?: number; height?: number } = {}): string {
  const height = opts.height ?? 28;
  const bw = 9;
  const width = opts.width ?? Math.max(points.length * (bw + 2), 20);
  const max = Math.max(1e-9, ...points.map((p) => p.value ?? 0));
  const bars = points.map((p, i) => {
    const v = p.value ?? 0;
    const bh = p.value === null ? 2 : Math.max(1, (v / max) * (height - 2));
    return `<rect class="${p.value === null ? "sp-none" : p.current ? "sp-cur" : "sp"}" x="${i * (bw + 2)}" y="${(height - bh).toFixed(1)}" width="${bw}" height="${bh.toFixed(1)}"><title>${esc(p.title)}</title></rect>`;
  });
  return `<svg class="spark" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">${bars.join("")}</svg>`;
}

/** One bar split by share (verdict composition of a run). */
export function shareBar(segments: Segment[], width = 220, height = 12): string {
  const total = segments.reduce((s, x) => s + x.value, 0) || 1;
  let x = 0;
  const rects = segments.map((s) => {
    const w = (s.value / total) * width;
    const r = `<rect class="${esc(s.cls)}" x="${x.toFixed(1)}" y="0" width="${w.toFixed(1)}" height="${height}"><title>${esc(s.title)}</title></rect>`;
    x += w;
    return r;
  });
  return `<svg class="share" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">${rects.join("")}</svg>`;
}
