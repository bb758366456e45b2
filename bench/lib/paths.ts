import { fileURLToPath } from 'node:url';

// Compiled, this file is dist/bench/lib/paths.js: the repository root is three levels up.
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A compiled entry point of the system (Procfile), e.g. `dist/src/main/entries/worker.js`. */
export const systemEntry = (relative: string): string => fileURLToPath(new URL(`../../../${relative}`, import.meta.url));

/** A compiled bench script, e.g. `intake/noop-web.js` → dist/bench/intake/noop-web.js. */
export const benchEntry = (relative: string): string => fileURLToPath(new URL(`../${relative}`, import.meta.url));

/** bench/results in the source tree (not dist): logs and the JSON of the last run. */
export const RESULTS_DIR = fileURLToPath(new URL('../../../bench/results/', import.meta.url));
