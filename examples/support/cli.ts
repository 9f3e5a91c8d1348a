import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { BackendName } from 'zk-leader';

type Options = NonNullable<ParseArgsConfig['options']>;

const backendNames: BackendName[] = ['node-zookeeper-client', 'zookeeper', 'builtin'];

/**
 * Parses an example's flags (plus --connect, defaulting to ZK_CONNECT, and --backend); prints
 * usage and exits 2 on a bad flag instead of a stack trace.
 */
export function parseExampleArgs<T extends Options>(usage: string, options: T, args = process.argv.slice(2)) {
  const parsed = orUsage(
    () =>
      parseArgs({
        args,
        options: { connect: { type: 'string' }, backend: { type: 'string', default: 'builtin' }, help: { type: 'boolean' }, ...options },
        allowPositionals: true,
        strict: true,
      }),
    usage,
  );
  const values = parsed.values as Record<string, unknown>;
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const connect = (values.connect as string | undefined) ?? process.env.ZK_CONNECT;
  if (!connect) fail('no ZooKeeper given: pass --connect host:port or set ZK_CONNECT', usage);
  const backend = values.backend as BackendName;
  if (!backendNames.includes(backend)) fail(`--backend takes ${backendNames.join(' or ')}: got '${backend}'`, usage);
  return { values, positionals: parsed.positionals, connect, backend };
}

/** Runs `build` (parsing flags, checking options); bad input exits 2 with its message and the usage. */
export function orUsage<T>(build: () => T, usage: string): T {
  try {
    return build();
  } catch (error) {
    fail((error as Error).message, usage);
  }
}

export function fail(message: string, usage?: string): never {
  console.error(`error: ${message}`);
  if (usage) console.error(usage);
  process.exit(2);
}

/** A positive whole number of milliseconds from a flag, or the default. */
export function milliseconds(value: unknown, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0)
    fail(`${flag} takes a whole number of milliseconds: got '${typeof value === 'string' ? value : JSON.stringify(value)}'`);
  return number;
}
