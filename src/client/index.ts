import { InvalidArgumentError } from '../errors.js';
import { NativeZookeeperAdapter } from './native.js';
import { NodeZookeeperClientAdapter } from './node-zookeeper-client.js';
import type { BackendName, ClientOptions, ZkClient } from './types.js';

export const backendNames: readonly BackendName[] = ['node-zookeeper-client', 'zookeeper'];

/** Creates a client of the chosen backend; the native one is loaded only when chosen. */
export function createClient(backend: BackendName, options: ClientOptions): ZkClient {
  switch (backend) {
    case 'node-zookeeper-client':
      return new NodeZookeeperClientAdapter(options);
    case 'zookeeper':
      return new NativeZookeeperAdapter(options);
    default:
      throw new InvalidArgumentError(
        `backend must be one of ${backendNames.map((name) => `'${name}'`).join(', ')}: got '${String(backend)}'`,
      );
  }
}

export type * from './types.js';
export { Permission, openAcl } from './types.js';
