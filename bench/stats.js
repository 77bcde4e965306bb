// @ts-check
/** Medians, ranges and the markdown the benchmark prints. */

/**
 * @param {number[]} values
 * @returns {number}
 */
export function median(values) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? /** @type {number} */ (sorted[mid]) : (/** @type {number} */ (sorted[mid - 1]) + /** @type {number} */ (sorted[mid])) / 2;
}

/**
 * `median [min–max]` of per-round values.
 *
 * @param {number[]} values
 * @param {number} digits decimals shown
 * @returns {string}
 */
export function medianRange(values, digits = 0) {
  if (values.length === 0) return 'n/a';
  const f = (/** @type {number} */ v) => v.toFixed(digits);
  return `${f(median(values))} [${f(Math.min(...values))}–${f(Math.max(...values))}]`;
}

/**
 * A markdown table.
 *
 * @param {string[]} header
 * @param {string[][]} rows
 * @returns {string}
 */
export function table(header, rows) {
  const line = (/** @type {string[]} */ cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * Bytes as MB with one decimal.
 *
 * @param {number} bytes
 * @returns {string}
 */
export function mb(bytes) {
  return (bytes / 1024 / 1024).toFixed(1);
}
