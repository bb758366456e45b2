/** Linear-interpolated quantile (q in 0..1) of unsorted numbers; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  const lowValue = sorted[low] ?? Number.NaN;
  const highValue = sorted[high] ?? Number.NaN;
  return lowValue + (highValue - lowValue) * (position - low);
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);

/** Repeated measurements of one figure: the median is reported, min/max show the noise. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** (max - min) / median, in percent: how far apart the repetitions were. */
  spreadPct: number;
  runs: number[];
}

export function summarize(runs: readonly number[]): Summary {
  const med = median(runs);
  const min = Math.min(...runs);
  const max = Math.max(...runs);
  return { median: med, min, max, spreadPct: med > 0 ? ((max - min) / med) * 100 : Number.NaN, runs: [...runs] };
}

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function latencies(values: readonly number[]): LatencySummary {
  return {
    count: values.length,
    p50: quantile(values, 0.5),
    p95: quantile(values, 0.95),
    p99: quantile(values, 0.99),
    max: values.length > 0 ? Math.max(...values) : Number.NaN,
  };
}

/**
 * Throughput of a run from the times its units finished: the units between the 10th and the
 * 90th percentile of completion, over the time between them. Start-up and the tail (the last
 * slots draining) are left out, so a short run still measures the steady state.
 */
export function steadyRate(finishTimesMs: readonly number[]): number {
  const sorted = [...finishTimesMs].sort((a, b) => a - b);
  const first = Math.floor(sorted.length * 0.1);
  const last = Math.ceil(sorted.length * 0.9) - 1;
  const start = sorted[first];
  const end = sorted[last];
  if (start === undefined || end === undefined || end <= start) return Number.NaN;
  return ((last - first) / (end - start)) * 1000;
}

export const round = (value: number, digits = 0): number => {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};

/**
 * `value` with `digits` decimals, or with as many more (up to six) as it takes for the text to
 * read as the verdict `meets` gives the value: 0.9492 against "≥ 0.95" reads "0.949", not the
 * "0.95" that would sit beside "NOT met"; past six decimals it is rounded away from the other
 * side. NaN reads "n/a".
 */
export function beside(value: number, meets: (shown: number) => boolean, digits = 2): string {
  if (Number.isNaN(value)) return 'n/a';
  if (!Number.isFinite(value)) return String(value);
  const met = meets(value);
  const most = Math.max(digits, 6);
  for (let shown = digits; shown <= most; shown++) {
    const text = value.toFixed(shown);
    if (meets(Number(text)) === met) return text;
  }
  const factor = 10 ** most;
  const away = [Math.floor(value * factor) / factor, Math.ceil(value * factor) / factor].find((shown) => meets(shown) === met);
  return (away ?? value).toFixed(most);
}
