import { existsSync } from 'node:fs';
import { InvalidArgumentError } from '../errors.js';
import { freePort } from './ports.js';
import { isServing, serverVersion } from './four-letter.js';
import { reapContainersWithParent } from './reaper.js';
import type { StartZooKeeperOptions, ZooKeeperHandle, ZooKeeperServer } from './types.js';

type Testcontainers = typeof import('testcontainers');
type StartedContainer = Awaited<ReturnType<InstanceType<Testcontainers['GenericContainer']>['start']>>;
type RuntimeClient = Awaited<ReturnType<Testcontainers['getContainerRuntimeClient']>>;
type WaitStrategy = import('testcontainers').WaitStrategy;

/** The official image, used when `ZK_IMAGE` does not name another. */
export const officialImage = 'zookeeper:3.8';
/**
 * The image `npm run zookeeper:image` builds from Debian's packages where no registry answers;
 * used when the engine has it and not the official one.
 */
export const debianImage = 'zk-leader/zookeeper:3.8-debian';
/** Image label holding the hash of what an image was built from; `zookeeper:image` rebuilds when it differs. */
export const inputsLabel = 'org.zk-leader.inputs';
/** Container label naming the process (pid and a random part) whose handle started the container. */
export const ownerLabel = 'org.zk-leader.owner';

/** Whether the Docker provider can start a server here, and if not, why not. */
export type DockerProbe =
  | { usable: true; image: string; engine: string }
  | {
      usable: false;
      /** Whether an engine seemed to be there (a socket or `DOCKER_HOST`): then the reason is worth saying. */
      present: boolean;
      /** What is wrong, e.g. "the Docker engine does not answer (...)". */
      reason: string;
      /** What to do about it. */
      remedy: string;
    };

const probes = new Map<string, Promise<DockerProbe>>();

/**
 * Whether the Docker provider can start ZooKeeper here: an engine answers, testcontainers loads
 * on this Node, and the image is on the engine or can be pulled. Probed once per process.
 */
export function probeDocker(env = process.env): Promise<DockerProbe> {
  const key = `${env.DOCKER_HOST ?? ''}|${env.ZK_IMAGE ?? ''}`;
  let probe = probes.get(key);
  if (!probe) {
    probe = probeOnce(env);
    probes.set(key, probe);
  }
  return probe;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const firstLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();
const startEngine = 'start a Docker engine (`bash .ci/docker-engine.sh` installs and starts one on Debian)';

/** Ryuk (testcontainers' own reaper) is an image to pull, which fails where no registry answers; this provider reaps its own containers instead. */
function loadTestcontainers(): Promise<Testcontainers> {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  return import('testcontainers');
}

async function probeOnce(env: NodeJS.ProcessEnv): Promise<DockerProbe> {
  if (!env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) {
    return { usable: false, present: false, reason: 'no Docker engine (no DOCKER_HOST, no /var/run/docker.sock)', remedy: startEngine };
  }
  // testcontainers would quietly try the default socket instead: the engine asked for is not there.
  if (env.DOCKER_HOST?.startsWith('unix://') && !existsSync(env.DOCKER_HOST.slice('unix://'.length))) {
    return {
      usable: false,
      present: true,
      reason: `DOCKER_HOST=${env.DOCKER_HOST} names no socket`,
      remedy: `point DOCKER_HOST at the engine's socket, or ${startEngine}`,
    };
  }
  let testcontainers: Testcontainers;
  try {
    testcontainers = await loadTestcontainers();
  } catch (error) {
    return {
      usable: false,
      present: true,
      reason: `testcontainers does not load on Node ${process.version} (${firstLine(error)})`,
      remedy: 'install the devDependencies (`npm install`) on a Node the package supports (^20.19.0 || >=22.12.0)',
    };
  }
  let client: RuntimeClient;
  try {
    client = await withTimeout(testcontainers.getContainerRuntimeClient(), 5000, 'the Docker engine');
  } catch (error) {
    return { usable: false, present: true, reason: `the Docker engine does not answer (${firstLine(error)})`, remedy: startEngine };
  }
  const engine = `Docker ${client.info.containerRuntime.serverVersion}`;
  // ZK_IMAGE alone when given; else the official image, and the Debian-based one in its place.
  const candidates = env.ZK_IMAGE ? [env.ZK_IMAGE] : [officialImage, debianImage];
  for (const image of candidates) {
    if (await client.image.exists(testcontainers.ImageName.fromString(image))) return { usable: true, image, engine };
  }
  const wanted = candidates[0]!;
  try {
    await client.image.pull(testcontainers.ImageName.fromString(wanted));
    return { usable: true, image: wanted, engine };
  } catch (error) {
    const missing = env.ZK_IMAGE ? `ZK_IMAGE=${wanted} is not` : 'no ZooKeeper image is';
    return {
      usable: false,
      present: true,
      reason: `${missing} on ${engine}, and ${wanted} cannot be pulled (${firstLine(error)})`,
      remedy: env.ZK_IMAGE ? `load ${wanted} into the engine, or unset ZK_IMAGE` : '`npm run zookeeper:image` readies it',
    };
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

/**
 * Readiness is ZooKeeper answering `ruok` from this host (waitUntilServing), not testcontainers'
 * default of probing every port from inside the container, which costs an `exec` per check.
 */
function startedWaitStrategy(): WaitStrategy {
  let timeoutMs = 60_000;
  let set = false;
  const strategy: WaitStrategy = {
    waitUntilReady: () => Promise.resolve(),
    withStartupTimeout(ms: number) {
      timeoutMs = ms;
      set = true;
      return strategy;
    },
    isStartupTimeoutSet: () => set,
    getStartupTimeout: () => timeoutMs,
  };
  return strategy;
}

/** Where testcontainers reaches the engine, as the reaper can (a unix socket or plain tcp), or undefined. */
function engineEndpoint(runtime: RuntimeClient): string | undefined {
  const modem = runtime.container.dockerode.modem as { socketPath?: string; host?: string; port?: number | string; protocol?: string };
  if (modem.socketPath) return `unix://${modem.socketPath}`;
  if (modem.protocol === 'http' && modem.host) return `tcp://${modem.host}:${modem.port ?? 2375}`;
  return undefined;
}

/**
 * A container whose port is published on 127.0.0.1 only, as the local provider listens: tests
 * talk to 127.0.0.1, and a test server with every four-letter word open is nobody else's.
 * testcontainers publishes on all addresses and has no option for it, hence the subclass.
 */
let LoopbackContainer: new (image: string, containerPort: number, hostPort: number) => InstanceType<Testcontainers['GenericContainer']>;

/**
 * Starts ZooKeeper containers with testcontainers: one server, or three on their own network.
 * The image is the probe's (`ZK_IMAGE`, the official image or the Debian-based one).
 */
export async function startDockerZooKeeper(options: StartZooKeeperOptions, image: string): Promise<ZooKeeperHandle> {
  const { GenericContainer, Network, getContainerRuntimeClient } = await loadTestcontainers();
  LoopbackContainer ??= class extends GenericContainer {
    constructor(image: string, containerPort: number, hostPort: number) {
      super(image);
      this.withExposedPorts({ container: containerPort, host: hostPort });
      // The only binding: withExposedPorts just wrote it, without an address.
      this.hostConfig.PortBindings = { [`${containerPort}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: String(hostPort) }] };
    }
  };
  if (options.tls || options.sasl) {
    throw new InvalidArgumentError('tls and sasl are served by ZooKeeper as local processes only for now: set ZK_PROVIDER=local');
  }
  const runtime = await getContainerRuntimeClient();
  const count = options.servers ?? 1;
  const tickTimeMs = options.tickTimeMs ?? 200;
  const startTimeoutMs = options.startTimeoutMs ?? 120_000;
  const owner = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const network = count > 1 ? await new Network().start() : null;
  // Started before any container, so that whatever way this process ends, nothing is left.
  const reaper = reapContainersWithParent(`${ownerLabel}=${owner}`, network?.getName(), engineEndpoint(runtime));
  const names = Array.from({ length: count }, (_, index) => `zk${index + 1}`);
  const zooServers = names.map((name, index) => `server.${index + 1}=${name}:2888:3888;2181`).join(' ');
  const containers: StartedContainer[] = [];
  let closed = false;

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    // Every container with our label, by id with force: stopped, killed, paused, and one whose
    // start failed (testcontainers leaves it created) go the same way.
    const ours = await runtime.container.dockerode.listContainers({ all: true, filters: { label: [`${ownerLabel}=${owner}`] } });
    await Promise.all(ours.map((container) => runtime.container.getById(container.Id).remove({ force: true, v: true })));
    await network?.stop();
    reaper.stop();
  }

  const environment = {
    ZOO_TICK_TIME: String(tickTimeMs),
    // As the local provider: ensembles in tests restart often, and every client comes from one address.
    ZOO_INIT_LIMIT: '50',
    ZOO_SYNC_LIMIT: '25',
    ZOO_MAX_CLIENT_CNXNS: '0',
    ZOO_4LW_COMMANDS_WHITELIST: '*',
    ZOO_ADMINSERVER_ENABLED: 'false',
    ZOO_CFG_EXTRA: [
      `minSessionTimeout=${2 * tickTimeMs}`,
      `maxSessionTimeout=${options.maxSessionTimeoutMs ?? 120_000}`,
      `forceSync=${options.forceSync === false ? 'no' : 'yes'}`,
      'quorumListenOnAllIPs=true',
    ].join(' '),
  };

  /** One server's container on a fixed host port (it keeps the connect string valid across restarts). */
  async function startServer(name: string, id: number): Promise<{ container: StartedContainer; clientPort: number; id: number }> {
    const containerName = `zk-leader-${owner}-${name}`;
    for (let attempt = 1; ; attempt++) {
      const clientPort = await freePort();
      let builder = new LoopbackContainer(image, 2181, clientPort)
        .withName(containerName)
        .withLabels({ [ownerLabel]: owner })
        .withWaitStrategy(startedWaitStrategy())
        .withEnvironment({ ...environment, ...(network ? { ZOO_MY_ID: String(id), ZOO_SERVERS: zooServers } : {}) });
      if (network) builder = builder.withNetwork(network).withNetworkAliases(name);
      try {
        const container = await builder.start();
        containers.push(container);
        return { container, clientPort, id };
      } catch (error) {
        // The free port was taken between freePort() and the engine's bind (other test
        // processes pick ports too): remove the container it created and try another port.
        await runtime.container
          .getById(containerName)
          .remove({ force: true, v: true })
          .catch(() => {});
        if (attempt >= 3 || !/address already in use|port is already allocated/.test(String(error))) throw error;
      }
    }
  }

  const servers: ZooKeeperServer[] = [];
  try {
    const started = await Promise.all(names.map((name, index) => startServer(name, index + 1)));
    for (const { container, clientPort, id } of started.sort((a, b) => a.id - b.id)) {
      servers.push(dockerServer(runtime, container, id, clientPort, startTimeoutMs));
    }
    await Promise.all(servers.map((server) => waitUntilServing(server.clientPort, startTimeoutMs)));
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
  const version = (await serverVersion('127.0.0.1', servers[0]!.clientPort)) ?? 'unknown';
  const connectString = servers.map((server) => server.connectString).join(',');
  return {
    kind: 'docker',
    version,
    connectString,
    minSessionTimeoutMs: 2 * tickTimeMs,
    servers,
    describe: () =>
      `ZooKeeper ${version}, ${count === 1 ? 'standalone' : `${count}-server ensemble`}${options.forceSync === false ? ' (forceSync=no)' : ''}, Docker image ${image} at ${connectString}`,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Container-level faults: `docker stop`, `kill`, `pause` (a silent server: its sockets stay open) and `restart`. */
function dockerServer(runtime: RuntimeClient, container: StartedContainer, id: number, clientPort: number, startTimeoutMs: number): ZooKeeperServer {
  let running = true;
  let paused = false;
  const byId = () => runtime.container.getById(container.getId());
  return {
    id,
    host: '127.0.0.1',
    clientPort,
    connectString: `127.0.0.1:${clientPort}`,
    get running() {
      return running;
    },
    async stop() {
      if (paused) await this.resume();
      await byId().stop({ t: 10 });
      running = false;
    },
    async kill() {
      // A paused container's processes cannot be signalled; docker refuses to kill it.
      if (paused) await this.resume();
      await byId().kill();
      running = false;
    },
    async pause() {
      await byId().pause();
      paused = true;
    },
    async resume() {
      await byId().unpause();
      paused = false;
    },
    async restart() {
      if (paused) await this.resume();
      await container.restart();
      running = true;
      await waitUntilServing(clientPort, startTimeoutMs);
    },
  };
}
