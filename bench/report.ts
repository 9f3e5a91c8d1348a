import { fixed, summarize } from './stats.js';

export interface Series {
  name: string;
  latencies: number[];
}

const escapeXml = (text: string) => text.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!);

/**
 * A strip chart of failover latencies on a log axis: one row per series, a dot per round,
 * a bar at the median.
 */
export function failoverChart(series: Series[]): string {
  const width = 760;
  const rowHeight = 46;
  const left = 190;
  const right = 30;
  const top = 40;
  const height = top + series.length * rowHeight + 50;
  const all = series.flatMap((entry) => entry.latencies).filter((value) => value > 0);
  const low = 10 ** Math.floor(Math.log10(Math.min(...all)));
  const high = 10 ** Math.ceil(Math.log10(Math.max(...all)));
  const x = (ms: number) => left + ((Math.log10(Math.max(ms, low)) - Math.log10(low)) / (Math.log10(high) - Math.log10(low))) * (width - left - right);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="20" font-size="14" font-weight="bold">Graceful failover latency (ms, log scale): dots are rounds, bars are medians</text>`,
  ];
  for (let decade = low; decade <= high; decade *= 10) {
    for (const step of [1, 2, 5]) {
      const value = decade * step;
      if (value > high) break;
      const position = x(value);
      parts.push(`<line x1="${position}" y1="${top - 5}" x2="${position}" y2="${height - 40}" stroke="${step === 1 ? '#bbb' : '#eee'}"/>`);
      parts.push(`<text x="${position}" y="${height - 25}" text-anchor="middle" fill="#555">${value}</text>`);
    }
  }
  series.forEach((entry, row) => {
    const middle = top + row * rowHeight + rowHeight / 2;
    const summary = summarize(entry.latencies);
    const color = entry.name.startsWith('zk-leader') ? '#1f77b4' : '#d62728';
    parts.push(`<text x="${left - 10}" y="${middle + 4}" text-anchor="end">${escapeXml(entry.name)}</text>`);
    entry.latencies.forEach((value, index) => {
      const jitter = ((index * 7919) % 17) - 8;
      parts.push(`<circle cx="${x(value).toFixed(1)}" cy="${(middle + jitter).toFixed(1)}" r="2.5" fill="${color}" fill-opacity="0.45"/>`);
    });
    parts.push(`<line x1="${x(summary.median)}" y1="${middle - 14}" x2="${x(summary.median)}" y2="${middle + 14}" stroke="black" stroke-width="2.5"/>`);
    parts.push(`<text x="${x(summary.median) + 6}" y="${middle - 8}" fill="black">${fixed(summary.median)}</text>`);
  });
  parts.push(
    `<text x="${(left + width - right) / 2}" y="${height - 8}" text-anchor="middle" fill="#555">milliseconds from the leader's release to the next participant's elected</text>`,
  );
  parts.push('</svg>');
  return parts.join('\n');
}
