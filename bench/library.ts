/**
 * The library as the benchmarks run it: the compiled package in dist/ (`npm run build`, which
 * every bench script runs first), as its users run it, with the types of src/.
 *
 * Not src/ through tsx: tsx transforms with esbuild's keepNames, which gives every function
 * made at run time a `name` property of its own (a dictionary of properties per closure). That
 * is no cost of the package, yet it was most of what the heap figure measured: 21.5 KiB per
 * idle election from src/ through tsx against 12.6 KiB from dist/ (2,000 elections on one
 * builtin session, 300 ms after the last `elected`).
 */
import type * as Package from '../src/index.js';
import type * as Clients from '../src/client/index.js';
import type * as ClientTypes from '../src/client/types.js';

const compiled = (await import(new URL('../dist/index.js', import.meta.url).href)) as typeof Package;
const clients = (await import(new URL('../dist/client/index.js', import.meta.url).href)) as typeof Clients;
const clientTypes = (await import(new URL('../dist/client/types.js', import.meta.url).href)) as typeof ClientTypes;

export const { LeaderElection, Session } = compiled;
export type LeaderElection = Package.LeaderElection;
export type Session = Package.Session;
export const { createClient } = clients;
export const { openAcl } = clientTypes;
