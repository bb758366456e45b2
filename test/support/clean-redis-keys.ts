// A setup file of every project that talks to Redis: after each test file (after the file's
// own afterAll hooks, which stop its processes), the keys of the prefixes it used are deleted.
import { afterAll } from 'vitest';
import { deleteRegisteredKeys } from './redis-keys.js';

afterAll(() => deleteRegisteredKeys());
