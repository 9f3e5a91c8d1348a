import { existsSync } from 'node:fs';
import { freePort } from './ports.js';
import { isServing, serverVersion } from './four-letter.js';
import type { StartZooKeeperOptions, ZooKeeperHandle, ZooKeeperServer } from './types.js';

type Testcontainers = typeof import('testcontainers');
type StartedContainer = Awaited<ReturnType<InstanceType<Testcontainers['GenericContainer']>['start']>>;

const image = 'zookeeper:3.8';

/** Whether a Docker engine answers, without waiting long when there is plainly none. */
export async function dockerIsReachable(env = process.env): Promise<boolean> {
  if (!env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const client = await Promise.race([getContainerRuntimeClient(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 5000))]);
    return Boolean(client);
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntilServing(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await isServing('127.0.0.1', port)) return;
    await sleep(200);
  }
  throw new Error(`ZooKeeper container on port ${port} did not serve within ${timeoutMs} ms`);
}

/** Starts the official `zookeeper` image with testcontainers: one server, or three on one network. */
export async function startDockerZooKeeper(options: StartZooKeeperOptions): Promise<ZooKeeperHandle> {
  const testcontainers: Testcontainers = await import('testcontainers');
  const { GenericContainer, Network, getContainerRuntimeClient } = testcontainers;
  const runtime = await getContainerRuntimeClient();
  const count = options.servers ?? 1;
  const tickTimeMs = options.tickTimeMs ?? 200;
  const startTimeoutMs = options.startTimeoutMs ?? 120_000;
  const network = count > 1 ? await new Network().start() : null;
  const names = Array.from({ length: count }, (_, index) => `zk${index + 1}`);
  const zooServers = names.map((name, index) => `server.${index + 1}=${name}:2888:3888;2181`).join(' ');

  const servers: ZooKeeperServer[] = [];
  const containers: StartedContainer[] = [];
  for (const [index, name] of names.entries()) {
    // A fixed host port keeps the connect string valid across restarts.
    const clientPort = await freePort();
    let builder = new GenericContainer(image).withExposedPorts({ container: 2181, host: clientPort }).withEnvironment({
      ZOO_TICK_TIME: String(tickTimeMs),
      ZOO_4LW_COMMANDS_WHITELIST: '*',
      ZOO_ADMINSERVER_ENABLED: 'false',
      ZOO_CFG_EXTRA: `minSessionTimeout=${2 * tickTimeMs} maxSessionTimeout=120000 forceSync=${options.forceSync === false ? 'no' : 'yes'}`,
      ...(network ? { ZOO_MY_ID: String(index + 1), ZOO_SERVERS: zooServers } : {}),
    });
    if (network) builder = builder.withNetwork(network).withNetworkAliases(name);
    const container = await builder.start();
    containers.push(container);
    let running = true;
    const byId = () => runtime.container.getById(container.getId());
    servers.push({
      id: index + 1,
      host: '127.0.0.1',
      clientPort,
      connectString: `127.0.0.1:${clientPort}`,
      get running() {
        return running;
      },
      async stop() {
        await byId().stop({ t: 10 });
        running = false;
      },
      async kill() {
        await byId().kill();
        running = false;
      },
      async pause() {
        await byId().pause();
      },
      async resume() {
        await byId().unpause();
      },
      async restart() {
        await container.restart();
        running = true;
        await waitUntilServing(clientPort, startTimeoutMs);
      },
    });
  }
  await Promise.all(servers.map((server) => waitUntilServing(server.clientPort, startTimeoutMs)));
  const version = (await serverVersion('127.0.0.1', servers[0]!.clientPort)) ?? 'unknown';
  const connectString = servers.map((server) => server.connectString).join(',');
  async function close(): Promise<void> {
    await Promise.all(containers.map((container) => container.stop({ timeout: 0 })));
    await network?.stop();
  }
  return {
    kind: 'docker',
    version,
    connectString,
    minSessionTimeoutMs: 2 * tickTimeMs,
    servers,
    describe: () => `ZooKeeper ${version}, ${count === 1 ? 'standalone' : `${count}-server ensemble`}, Docker image ${image} at ${connectString}`,
    close,
    [Symbol.asyncDispose]: close,
  };
}
