// The sweep report's two plot shapes as inline SVG: an x-y plot with a log-x option, markers for
// measured points and dashed lines for fitted curves; and a heat map over two axes (T × α).
// Ticks, palette and escaping come from report/svg-plot.ts; no interaction, no scripts.
import { escapeXml, formatTick, logTicks, niceTicks, PALETTE } from '../report/svg-plot.js';

export interface XySeries {
  name: string;
  color?: string;
  points: ReadonlyArray<readonly [number, number]>;
  /** 'points': markers only (measurements); 'line': a dashed line (a fit); 'both': markers joined. */
  style: 'points' | 'line' | 'both';
}

export interface XyOptions { title: string; xLabel: string; yLabel: string; logX?: boolean; width?: number; height?: number }

const f1 = (v: number): string => String(Math.round(v * 10) / 10);

/** An <svg> plotting each series; x on a log scale with logX (x ≤ 0 dropped). */
export function xyPlot(series: ReadonlyArray<XySeries>, o: XyOptions): string {
  const W = o.width ?? 560, H = o.height ?? 320;
  const m = { l: 62, r: 170, t: 28, b: 44 };
  const pw = W - m.l - m.r, ph = H - m.t - m.b;
  const ok = (p: readonly [number, number]): boolean => Number.isFinite(p[0]) && Number.isFinite(p[1]) && (!o.logX || p[0] > 0);
  const pts = series.flatMap((s) => s.points.filter(ok));
  const out = [`<svg class="plot" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeXml(o.title)}"><rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${m.l + pw / 2}" y="18" text-anchor="middle" class="title">${escapeXml(o.title)}</text>`];
  if (pts.length === 0) return `${out.join('')}<text x="${m.l + pw / 2}" y="${m.t + ph / 2}" text-anchor="middle" class="nodata">no data</text></svg>`;
  const tx = (x: number): number => (o.logX ? Math.log10(x) : x);
  let x0 = Math.min(...pts.map((p) => tx(p[0]))), x1 = Math.max(...pts.map((p) => tx(p[0])));
  let y0 = Math.min(...pts.map((p) => p[1])), y1 = Math.max(...pts.map((p) => p[1]));
  const px = (x1 - x0) * 0.05 || 0.5, py = (y1 - y0) * 0.06 || Math.abs(y0) * 0.05 || 1;
  x0 -= px; x1 += px; y0 -= py; y1 += py;
  const sx = (x: number): number => m.l + ((tx(x) - x0) / (x1 - x0)) * pw;
  const sy = (y: number): number => m.t + ph - ((y - y0) / (y1 - y0)) * ph;
  for (const v of niceTicks(y0, y1, 5)) {
    out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${f1(sy(v))}" y2="${f1(sy(v))}" class="grid"/><text x="${m.l - 6}" y="${f1(sy(v))}" text-anchor="end" dominant-baseline="middle" class="tick">${formatTick(v)}</text>`);
  }
  const xt = o.logX ? logTicks(10 ** x0, 10 ** x1) : niceTicks(x0, x1, 6).filter((v) => v >= x0 && v <= x1);
  for (const v of xt) {
    out.push(`<line x1="${f1(sx(v))}" x2="${f1(sx(v))}" y1="${m.t + ph}" y2="${m.t + ph + 4}" class="axis"/><text x="${f1(sx(v))}" y="${m.t + ph + 16}" text-anchor="middle" class="tick">${formatTick(v)}</text>`);
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" class="frame"/>`,
    `<text x="${m.l + pw / 2}" y="${H - 8}" text-anchor="middle" class="label">${escapeXml(o.xLabel + (o.logX ? ' (log)' : ''))}</text>`,
    `<text transform="translate(14 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle" class="label">${escapeXml(o.yLabel)}</text>`);
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const sp = s.points.filter(ok).map((p) => [p[0], p[1]] as const).sort((a, b) => a[0] - b[0]);
    if (s.style !== 'points' && sp.length > 1) {
      out.push(`<path d="${sp.map((p, j) => `${j ? 'L' : 'M'}${f1(sx(p[0]))} ${f1(sy(p[1]))}`).join('')}" stroke="${color}" fill="none" stroke-width="1.6"${s.style === 'line' ? ' stroke-dasharray="5 3"' : ''}/>`);
    }
    if (s.style !== 'line') for (const p of sp) out.push(`<circle cx="${f1(sx(p[0]))}" cy="${f1(sy(p[1]))}" r="3.2" fill="${color}"/>`);
    const ly = m.t + 8 + i * 17, lx = m.l + pw + 10;
    out.push(s.style === 'points' ? `<circle cx="${lx + 9}" cy="${ly}" r="3.2" fill="${color}"/>` : `<line x1="${lx}" x2="${lx + 18}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2.5"${s.style === 'line' ? ' stroke-dasharray="5 3"' : ''}/>`);
    out.push(`<text x="${lx + 24}" y="${ly}" dominant-baseline="middle" class="legend">${escapeXml(s.name.length > 22 ? `${s.name.slice(0, 21)}…` : s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('');
}

/** A heat map: rows × columns of values (NaN = not run), darker = lower (better loss). */
export function heatMap(rowLabels: string[], colLabels: string[], values: number[][], o: { title: string; rowTitle: string; colTitle: string }): string {
  const cw = 70, ch = 30, l = 90, t = 46;
  const W = l + cw * colLabels.length + 20, H = t + ch * rowLabels.length + 40;
  const fin = values.flat().filter(Number.isFinite);
  const lo = Math.min(...fin), hi = Math.max(...fin);
  const out = [`<svg class="plot" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeXml(o.title)}"><rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="16" text-anchor="middle" class="title">${escapeXml(o.title)}</text>`,
    `<text x="${l + (cw * colLabels.length) / 2}" y="34" text-anchor="middle" class="label">${escapeXml(o.colTitle)}</text>`,
    `<text transform="translate(14 ${t + (ch * rowLabels.length) / 2}) rotate(-90)" text-anchor="middle" class="label">${escapeXml(o.rowTitle)}</text>`];
  colLabels.forEach((c, j) => out.push(`<text x="${l + cw * j + cw / 2}" y="${t + ch * rowLabels.length + 16}" text-anchor="middle" class="tick">${escapeXml(c)}</text>`));
  rowLabels.forEach((r, i) => {
    out.push(`<text x="${l - 6}" y="${t + ch * i + ch / 2}" text-anchor="end" dominant-baseline="middle" class="tick">${escapeXml(r)}</text>`);
    colLabels.forEach((_, j) => {
      const v = values[i][j];
      const s = Number.isFinite(v) ? (hi > lo ? (v - lo) / (hi - lo) : 0.5) : NaN; // 0 = best
      const fill = Number.isFinite(s) ? `hsl(210, 70%, ${Math.round(30 + 62 * s)}%)` : '#f3f3f3';
      out.push(`<rect x="${l + cw * j}" y="${t + ch * i}" width="${cw - 2}" height="${ch - 2}" fill="${fill}"/>`,
        `<text x="${l + cw * j + cw / 2 - 1}" y="${t + ch * i + ch / 2}" text-anchor="middle" dominant-baseline="middle" class="tick" style="fill:${Number.isFinite(s) && s < 0.45 ? '#fff' : '#222'}">${Number.isFinite(v) ? v.toFixed(3) : '—'}</text>`);
    });
  });
  out.push('</svg>');
  return out.join('');
}
