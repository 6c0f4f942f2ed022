/** A small SVG of latency distributions (cumulative share of changes by freshness). */
export function latencyChart(series: { name: string; values: number[]; color: string }[], floorMs: number): string {
  const width = 720;
  const height = 360;
  const pad = { left: 64, right: 16, top: 24, bottom: 48 };
  const all = series.flatMap((s) => s.values);
  const maxMs = Math.max(floorMs * 2, ...all, 1);
  const logX = (ms: number) => pad.left + (Math.log10(Math.max(ms, 1)) / Math.log10(maxMs)) * (width - pad.left - pad.right);
  const y = (share: number) => height - pad.bottom - share * (height - pad.top - pad.bottom);
  const lines = series
    .filter((s) => s.values.length > 0)
    .map((s) => {
      const sorted = [...s.values].sort((a, b) => a - b);
      const points = sorted.map((v, i) => `${logX(v).toFixed(1)},${y((i + 1) / sorted.length).toFixed(1)}`).join(' ');
      return `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${points}"/>`;
    });
  const ticks = [1, 10, 100, 1000, 10_000, 100_000].filter((t) => t <= maxMs);
  const legend = series.map((s, i) => `<text x="${pad.left + 8}" y="${pad.top + 16 + i * 16}" fill="${s.color}" font-size="12">${s.name} (n=${s.values.length})</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${width / 2}" y="16" text-anchor="middle" font-size="13">Freshness: share of changes visible as tasks within t (log scale)</text>
${ticks.map((t) => `<line x1="${logX(t)}" x2="${logX(t)}" y1="${pad.top}" y2="${height - pad.bottom}" stroke="#ddd"/><text x="${logX(t)}" y="${height - pad.bottom + 16}" text-anchor="middle" font-size="11">${t >= 1000 ? `${t / 1000} s` : `${t} ms`}</text>`).join('\n')}
<line x1="${logX(floorMs)}" x2="${logX(floorMs)}" y1="${pad.top}" y2="${height - pad.bottom}" stroke="#999" stroke-dasharray="4 3"/><text x="${logX(floorMs) + 4}" y="${height - pad.bottom - 6}" font-size="11" fill="#666">floor</text>
${[0, 0.5, 1].map((s) => `<text x="${pad.left - 8}" y="${y(s) + 4}" text-anchor="end" font-size="11">${s * 100}%</text>`).join('\n')}
${lines.join('\n')}
${legend.join('\n')}
</svg>
`;
}
