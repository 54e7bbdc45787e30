// Line plots as inline SVG strings (for the self-contained HTML report): axes, 1-2-5 ticks or
// log-scale decade ticks, a legend, one path per series with gaps at non-finite values and
// min/max decimation of long series, and an optional shaded band (a spread) under a series.
// No interaction, no scripts, no external resources.

export interface PlotSeries {
  name: string;
  /** Stroke colour; default PALETTE[index]. Pass it to keep one colour per run across plots. */
  color?: string;
  /** (x, y) pairs; sorted by x here. Non-finite y breaks the line. */
  points: ReadonlyArray<readonly [number, number]>;
  /** (x, low, high): a shaded band in the series' colour, e.g. the spread over seeds. */
  band?: ReadonlyArray<readonly [number, number, number]>;
}

export interface PlotOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Logarithmic y axis; values <= 0 are dropped. 'auto': log when all y > 0 and max/min >= 10. Default false. */
  logY?: boolean | 'auto';
  /** Default 560 × 300: two plots side by side fit a 1200-px window. */
  width?: number;
  height?: number;
  /** Longer series keep the min and max of each of maxPoints/2 buckets. Default 1000 (≈ pixel columns). */
  maxPoints?: number;
}

/** Okabe–Ito palette: distinguishable under the common colour-vision deficiencies. */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#999999'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Ticks at multiples of 1, 2 or 5 × 10^k within [lo, hi]: the step giving the count nearest `count`. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = mag;
  for (const m of [2, 5, 10]) if (Math.abs((hi - lo) / (m * mag) - count) < Math.abs((hi - lo) / step - count)) step = m * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  return ticks;
}

/** Log-axis ticks within [lo, hi] (lo > 0): decades, then 2 and 5, then every integer multiple, until at least 3 fit. */
export function logTicks(lo: number, hi: number): number[] {
  const d0 = Math.floor(Math.log10(lo));
  const d1 = Math.ceil(Math.log10(hi));
  for (const mults of [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    const ticks: number[] = [];
    for (let d = d0; d <= d1; d++) for (const m of mults) {
      const v = Number((m * 10 ** d).toPrecision(12));
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push(v);
    }
    if (ticks.length >= 3 || mults.length === 9) return ticks;
  }
  return [];
}

/** Short tick label: 12000 -> "12k", 0.05 -> "0.05", 2.5e-5 -> "2.5e-5". */
export function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  if (a < 1e-3) return v.toExponential(1).replace('.0e', 'e');
  return String(Number(v.toPrecision(4)));
}

/** Keeps the min and max y of each bucket of consecutive points, in x order. */
function decimate(pts: [number, number][], maxPoints: number): [number, number][] {
  if (pts.length <= maxPoints) return pts;
  const buckets = Math.max(1, Math.floor(maxPoints / 2));
  const out: [number, number][] = [];
  for (let b = 0; b < buckets; b++) {
    const s = Math.floor((b * pts.length) / buckets);
    const e = Math.floor(((b + 1) * pts.length) / buckets);
    let lo = s;
    let hi = s;
    let gap = -1;
    for (let i = s; i < e; i++) {
      if (!Number.isFinite(pts[i][1])) { gap = i; continue; }
      if (!Number.isFinite(pts[lo][1]) || pts[i][1] < pts[lo][1]) lo = i;
      if (!Number.isFinite(pts[hi][1]) || pts[i][1] > pts[hi][1]) hi = i;
    }
    const keep = [...new Set([lo, hi, ...(gap >= 0 ? [gap] : [])])].sort((a, b2) => a - b2);
    for (const i of keep) out.push(pts[i]);
  }
  return out;
}

const f1 = (v: number): string => String(Math.round(v * 10) / 10);

/** An <svg> element (no xmlns: it is meant to be inlined in HTML) plotting every series. */
export function linePlot(series: ReadonlyArray<PlotSeries>, opts: PlotOptions = {}): string {
  const W = opts.width ?? 560;
  const H = opts.height ?? 300;
  const maxPoints = opts.maxPoints ?? 1000;
  const legendW = series.length > 0 ? 150 : 0;
  const m = { l: 62, r: 12 + legendW, t: opts.title ? 28 : 12, b: 44 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;

  const all = series.map((s) => [...s.points].map((p) => [p[0], p[1]] as [number, number]).filter((p) => Number.isFinite(p[0])).sort((a, b) => a[0] - b[0]));
  const bands = series.map((s) => [...(s.band ?? [])].filter((b) => b.every(Number.isFinite)).sort((a, b) => a[0] - b[0]));
  const ys = [...all.flat().map((p) => p[1]), ...bands.flat().flatMap((b) => [b[1], b[2]])].filter(Number.isFinite);
  const posMin = Math.min(...ys.filter((y) => y > 0));
  const logY = opts.logY === 'auto' ? ys.length > 0 && ys.every((y) => y > 0) && Math.max(...ys) / posMin >= 10 : opts.logY === true;
  const useY = (y: number): boolean => Number.isFinite(y) && (!logY || y > 0);
  const fin = [...all.flat(), ...bands.flat().flatMap((b) => [[b[0], b[1]], [b[0], b[2]]] as [number, number][])].filter((p) => useY(p[1]));

  const out: string[] = [];
  out.push(`<svg class="plot" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeXml(opts.title ?? 'plot')}">`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`);
  if (opts.title) out.push(`<text x="${m.l + pw / 2}" y="18" text-anchor="middle" class="title">${escapeXml(opts.title)}</text>`);
  if (fin.length === 0) {
    out.push(`<text x="${m.l + pw / 2}" y="${m.t + ph / 2}" text-anchor="middle" class="nodata">no data</text></svg>`);
    return out.join('');
  }

  let x0 = Math.min(...fin.map((p) => p[0]));
  let x1 = Math.max(...fin.map((p) => p[0]));
  if (x1 === x0) { x0 -= 1; x1 += 1; }
  const fy = fin.map((p) => p[1]);
  let y0 = Math.min(...fy);
  let y1 = Math.max(...fy);
  if (logY) {
    const pad = (Math.log10(y1) - Math.log10(y0)) * 0.05 || 0.05;
    y0 = 10 ** (Math.log10(y0) - pad);
    y1 = 10 ** (Math.log10(y1) + pad);
  } else {
    const pad = (y1 - y0) * 0.05 || Math.abs(y0) * 0.05 || 1;
    y0 -= pad;
    y1 += pad;
  }
  const sx = (x: number): number => m.l + ((x - x0) / (x1 - x0)) * pw;
  const sy = logY
    ? (y: number): number => m.t + ph - ((Math.log10(y) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0))) * ph
    : (y: number): number => m.t + ph - ((y - y0) / (y1 - y0)) * ph;

  // grid, ticks, axes
  const yt = logY ? logTicks(y0, y1) : niceTicks(y0, y1, 5);
  const xt = niceTicks(x0, x1, Math.max(2, Math.min(8, Math.floor(pw / 70)))).filter((v) => v >= x0 && v <= x1); // ~70 px per label
  for (const v of yt) {
    const y = f1(sy(v));
    out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y}" y2="${y}" class="grid"/>`);
    out.push(`<text x="${m.l - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" class="tick">${formatTick(v)}</text>`);
  }
  for (const v of xt) {
    const x = f1(sx(v));
    out.push(`<line x1="${x}" x2="${x}" y1="${m.t + ph}" y2="${m.t + ph + 4}" class="axis"/>`);
    out.push(`<text x="${x}" y="${m.t + ph + 16}" text-anchor="middle" class="tick">${formatTick(v)}</text>`);
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" class="frame"/>`);
  if (opts.xLabel) out.push(`<text x="${m.l + pw / 2}" y="${H - 8}" text-anchor="middle" class="label">${escapeXml(opts.xLabel)}</text>`);
  const yLabel = (opts.yLabel ?? '') + (logY ? ' (log)' : '');
  if (yLabel.trim()) out.push(`<text transform="translate(14 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle" class="label">${escapeXml(yLabel.trim())}</text>`);

  // bands under the lines
  bands.forEach((b, i) => {
    const pts = b.filter((p) => useY(p[1]) && useY(p[2]));
    if (pts.length < 2) return;
    const color = series[i].color ?? PALETTE[i % PALETTE.length];
    const upper = pts.map((p) => `${f1(sx(p[0]))},${f1(sy(p[2]))}`);
    const lower = pts.map((p) => `${f1(sx(p[0]))},${f1(sy(p[1]))}`).reverse();
    out.push(`<polygon class="band" points="${[...upper, ...lower].join(' ')}" fill="${color}" fill-opacity="0.18" stroke="none"/>`);
  });
  // series
  all.forEach((pts, i) => {
    const color = series[i].color ?? PALETTE[i % PALETTE.length];
    const d: string[] = [];
    let pen = false;
    let drawn = 0;
    let lone: [number, number] | undefined;
    for (const [x, y] of decimate(pts, maxPoints)) {
      if (!useY(y)) { pen = false; continue; }
      d.push(`${pen ? 'L' : 'M'}${f1(sx(x))} ${f1(sy(y))}`);
      pen = true;
      drawn++;
      lone = [x, y];
    }
    if (drawn > 1) out.push(`<path class="series" d="${d.join('')}" stroke="${color}" fill="none" stroke-width="1.6" stroke-linejoin="round"/>`);
    else if (drawn === 1 && lone) out.push(`<circle class="series" cx="${f1(sx(lone[0]))}" cy="${f1(sy(lone[1]))}" r="3" fill="${color}"/>`);
    const ly = m.t + 8 + i * 18;
    const lx = m.l + pw + 12;
    const name = series[i].name.length > 20 ? `${series[i].name.slice(0, 19)}…` : series[i].name;
    out.push(`<line x1="${lx}" x2="${lx + 18}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="3"/>`);
    out.push(`<text x="${lx + 24}" y="${ly}" dominant-baseline="middle" class="legend">${escapeXml(name)}${drawn === 0 ? ' (no data)' : ''}</text>`);
  });
  out.push('</svg>');
  return out.join('');
}
