/** The size of a listing's page: the requested one truncated to a whole number within 1..max, `fallback` when none was asked for. */
export function pageLimit(requested: number | undefined, fallback: number, max: number): number {
  return Math.min(Math.max(Math.trunc(requested ?? fallback), 1), max);
}
