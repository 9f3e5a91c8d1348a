// How the CLI and the dashboard page write the same values, so the same value reads the
// same in both. The page's script imports this file too (src/dashboard/browser/tsconfig.json
// compiles it for the browser): it must stay free of imports and of Node.

/**
 * How long ago, or how long: "3s", "5m 10s", "2h 3m", "4d 1h" (two units, the larger first,
 * each rounded down). Whole seconds: the ages shown are the local clock against ZooKeeper's
 * (a node's ctime, a record's time), whose skew is often larger than a tenth of a second,
 * and the page redraws once a second. Days start at 24 hours. A negative span is 0s.
 */
export function age(ms: number): string {
  const seconds = Math.floor(Math.max(0, ms) / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

const mebibyte = 1024 * 1024;

/** A size: whole KiB below 1 MiB ("512 KiB"), else MiB with one decimal ("12.4 MiB"). */
export function bytes(count: number): string {
  return count < mebibyte ? `${Math.round(count / 1024)} KiB` : `${(count / mebibyte).toFixed(1)} MiB`;
}

/**
 * The most characters of a value `compact` shows. A table cell is a summary in the terminal
 * and on the page alike, and the whole value is one step away in both (`--json`, the page's
 * hover text); 40 keeps a CLI table row within a wide terminal.
 */
export const compactLength = 40;

/** A value as one short line for a table cell: text as is, anything else as JSON; nothing for null. */
export function compact(value: unknown): string {
  const text = plainText(value);
  return text.length > compactLength ? `${text.slice(0, compactLength - 1)}…` : text;
}

/** A value as one line, not shortened: text as is, anything else as JSON; nothing for null. */
export function plainText(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}
