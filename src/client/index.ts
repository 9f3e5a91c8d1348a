import { InvalidArgumentError } from '../errors.js';
import { BuiltinAdapter } from './builtin/client.js';
import { NativeZookeeperAdapter } from './native.js';
import { NodeZookeeperClientAdapter } from './node-zookeeper-client.js';
import type { BackendName, ClientOptions, ZkClient } from './types.js';

export const backendNames: readonly BackendName[] = ['node-zookeeper-client', 'zookeeper', 'builtin'];

/**
 * The backend of a session that names none: zk-leader's own client, which does everything the
 * other two do and more (TLS, SASL, removeWatches); bench/RESULTS.md compares the three.
 */
export const defaultBackend: BackendName = 'builtin';

export function validateBackend(backend: unknown): BackendName {
  if (!backendNames.includes(backend as BackendName)) {
    throw new InvalidArgumentError(`backend must be one of ${backendNames.map((name) => `'${name}'`).join(', ')}: got ${JSON.stringify(backend)}`);
  }
  return backend as BackendName;
}

/** Creates a client of the chosen backend; the native one is loaded only when chosen. */
export function createClient(backend: BackendName, options: ClientOptions): ZkClient {
  switch (validateBackend(backend)) {
    case 'zookeeper':
      return new NativeZookeeperAdapter(options);
    case 'builtin':
      return new BuiltinAdapter(options);
    default:
      return new NodeZookeeperClientAdapter(options);
  }
}

export type * from './types.js';
export { Permission, openAcl } from './types.js';
