import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isZooKeeperError } from '../../src/errors.js';
import { Session } from '../../src/session.js';
import { officialImage, ownerLabel, probeDocker } from '../../src/testing/docker.js';
import { isServing } from '../../src/testing/four-letter.js';
import { startZooKeeper, type ZooKeeperHandle, type ZooKeeperProvider } from '../../src/testing/index.js';
import { findZooKeeperInstallation } from '../../src/testing/jars.js';
import { nextEvent, until } from '../support/events.js';
import { underCi } from '../support/zookeeper.js';

// The container provider's own faults and clean-up, and the same faults on local processes, so
// that a test written against one provider means the same on the other.

describe('testcontainers', () => {
  it(`loads on this Node (${process.version})`, async () => {
    const testcontainers = await import('testcontainers');
    expect(typeof testcontainers.GenericContainer).toBe('function');
    expect(typeof testcontainers.getContainerRuntimeClient).toBe('function');
  });
});

const docker = await probeDocker();
// Where Docker should be (CI installs it; ZK_PROVIDER=docker asks for it), its tests run and
// fail without it rather than skip.
const dockerExpected = underCi || process.env.ZK_PROVIDER === 'docker';
const runOn: Record<Exclude<ZooKeeperProvider, 'external'>, boolean> = {
  docker: docker.usable || dockerExpected,
  local: findZooKeeperInstallation() !== null || underCi,
};
if (!runOn.docker && !docker.usable) console.warn(`[zk-leader tests] Docker-provider tests skipped: ${docker.reason}`);

function start(provider: 'docker' | 'local', servers: 1 | 3): Promise<ZooKeeperHandle> {
  const { ZK_CONNECT: _ignored, ...env } = process.env;
  return startZooKeeper({ servers, env: { ...env, ZK_PROVIDER: provider } });
}

/** The containers of this engine that a handle of process `pid` started, stopped ones included. */
async function containersOf(pid: number): Promise<string[]> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  const client = await getContainerRuntimeClient();
  // Not client.container.list(): it lists running containers only, and a killed one is exited.
  const all = await client.container.dockerode.listContainers({ all: true });
  return all.filter((container) => container.Labels[ownerLabel]?.startsWith(`${pid}-`)).map((container) => container.Id);
}

async function connectedSession(connect: string, sessionTimeoutMs = 4000): Promise<Session> {
  const session = new Session({ connect, sessionTimeoutMs });
  await session.ready();
  return session;
}

/**
 * Creates a node as a writer that rides out a lost connection would: a server killed in the
 * ensemble can drop the connection a create went out on (its server lost its leader), and such
 * a create may or may not have been committed, so once the session is back it looks first.
 */
async function createThroughFaults(session: Session, path: string, data: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      if (attempt > 0 && (await session.exists(path))) return;
      await session.create(path, Buffer.from(data), 'persistent');
      return;
    } catch (error) {
      if (!isZooKeeperError(error, 'CONNECTION_LOSS') || attempt >= 5) throw error;
      await until(() => session.state === 'connected', 'the session to reconnect');
    }
  }
}

describe.each(['docker', 'local'] as const)('one %s server', (provider) => {
  const test = runOn[provider] ? it : it.skip;
  let zookeeper: ZooKeeperHandle;
  beforeAll(async () => {
    if (runOn[provider]) zookeeper = await start(provider, 1);
  }, 180_000);
  afterAll(async () => {
    await zookeeper?.close();
  });

  test('is the provider asked for', () => {
    expect(zookeeper.kind).toBe(provider === 'docker' ? 'docker' : 'local-process');
    expect(zookeeper.servers).toHaveLength(1);
  });

  test('keeps its data across a stop and a restart', async () => {
    const server = zookeeper.servers[0]!;
    // Long enough that a restart on a busy machine (a JVM start) does not outlast the session.
    const session = await connectedSession(zookeeper.connectString, 20_000);
    const path = `/stop-restart-${provider}`;
    await session.create(path, Buffer.from('kept'), 'persistent');
    const suspended = nextEvent(session, 'suspended');
    await server.stop();
    expect(server.running).toBe(false);
    expect(await isServing('127.0.0.1', server.clientPort)).toBe(false);
    await suspended;
    const reconnected = nextEvent(session, 'reconnected', 100_000);
    await server.restart();
    expect(server.running).toBe(true);
    await reconnected;
    expect((await session.getData(path)).data.toString()).toBe('kept');
    await session.remove(path);
    await session.close();
  }, 120_000);

  test('comes back from a kill with its data', async () => {
    const server = zookeeper.servers[0]!;
    const session = await connectedSession(zookeeper.connectString);
    const path = `/kill-restart-${provider}`;
    await session.create(path, Buffer.from('kept'), 'persistent');
    await session.close();
    await server.kill();
    expect(server.running).toBe(false);
    expect(await isServing('127.0.0.1', server.clientPort)).toBe(false);
    await server.restart();
    const after = await connectedSession(zookeeper.connectString);
    expect((await after.getData(path)).data.toString()).toBe('kept');
    await after.remove(path);
    await after.close();
  });

  test('goes silent when paused: the session is suspended, then the same session is back on resume', async () => {
    const server = zookeeper.servers[0]!;
    const session = await connectedSession(zookeeper.connectString);
    const id = session.credentials()?.id;
    const suspended = nextEvent(session, 'suspended');
    await server.pause();
    // Paused is not stopped: the process and its sockets are there, nothing answers (the
    // session's own silence says so; a four-letter word to the port could reach another test
    // file's server that took the port while this one was down in a restart).
    expect(server.running).toBe(true);
    expect((await suspended).reason).toBe('silent');
    const reconnected = nextEvent(session, 'reconnected');
    await server.resume();
    await reconnected;
    expect(session.credentials()?.id).toEqual(id);
    await session.close();
  });
});

describe.each(['docker', 'local'] as const)('a three-server %s ensemble', (provider) => {
  const test = runOn[provider] ? it : it.skip;
  let zookeeper: ZooKeeperHandle;
  beforeAll(async () => {
    if (runOn[provider]) zookeeper = await start(provider, 3);
  }, 300_000);
  afterAll(async () => {
    await zookeeper?.close();
  });

  test('writes with one server paused, and the paused one catches up on resume', async () => {
    const [paused, ...others] = zookeeper.servers;
    const session = await connectedSession(others.map((server) => server.connectString).join(','));
    await paused!.pause();
    await session.create(`/while-paused-${provider}`, Buffer.from('1'), 'persistent');
    await paused!.resume();
    const reader = await connectedSession(paused!.connectString);
    await reader.scope!.sync(`/while-paused-${provider}`);
    expect((await reader.getData(`/while-paused-${provider}`)).data.toString()).toBe('1');
    await reader.close();
    await session.close();
  });

  test('writes with one server stopped and another killed in turn, each restarted with the data', async () => {
    const [first, second, third] = zookeeper.servers;
    const session = await connectedSession(third!.connectString);
    await first!.stop();
    await createThroughFaults(session, `/while-stopped-${provider}`, '2');
    await first!.restart();
    await second!.kill();
    await createThroughFaults(session, `/while-killed-${provider}`, '3');
    await second!.restart();
    for (const server of [first!, second!]) {
      const reader = await connectedSession(server.connectString);
      await reader.scope!.sync('/');
      expect((await reader.getData(`/while-stopped-${provider}`)).data.toString()).toBe('2');
      expect((await reader.getData(`/while-killed-${provider}`)).data.toString()).toBe('3');
      await reader.close();
    }
    await session.close();
  });
});

/** Runs `script` (ES module, TypeScript) in a child Node with `env` added; resolves with its output. */
function runScript(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('choosing a provider', () => {
  const test = runOn.local ? it : it.skip;

  test('says once why a Docker engine that is there does not serve, then uses local processes', async () => {
    const script = [
      "import { startZooKeeper } from './src/testing/index.ts';",
      'for (let i = 0; i < 2; i++) {',
      '  const zookeeper = await startZooKeeper();',
      '  console.log(zookeeper.kind);',
      '  await zookeeper.close();',
      '}',
    ].join('\n');
    // An engine address where nothing answers: "there", as far as the provider can tell.
    const { code, stdout, stderr } = await runScript(script, { DOCKER_HOST: 'unix:///nonexistent/docker.sock', ZK_PROVIDER: '', ZK_CONNECT: '' });
    expect(code, stderr).toBe(0);
    expect(stdout.trim().split('\n')).toEqual(['local-process', 'local-process']);
    const lines = stderr.split('\n').filter((line) => line.includes('not using Docker'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/DOCKER_HOST=unix:\/\/\/nonexistent\/docker.sock names no socket/);
  });

  it('refuses a provider it does not know, naming the ones it does', async () => {
    await expect(startZooKeeper({ env: { ZK_PROVIDER: 'kubernetes' } })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/docker, local or external/),
    });
  });

  it('ZK_PROVIDER=external without ZK_CONNECT says to set it', async () => {
    await expect(startZooKeeper({ env: { ZK_PROVIDER: 'external' } })).rejects.toMatchObject({
      code: 'ZOOKEEPER_NOT_FOUND',
      message: expect.stringMatching(/ZK_CONNECT/),
    });
  });
});

describe('the Docker provider without Ryuk', () => {
  const test = runOn.docker ? it : it.skip;

  test('starts the image ZK_IMAGE names, and refuses one the engine cannot get, saying what to do', async () => {
    const { ZK_CONNECT: _ignored, ...env } = process.env;
    // The image this engine has (the official or the Debian-based one), named explicitly.
    const image = docker.usable ? docker.image : officialImage;
    await using zookeeper = await startZooKeeper({ env: { ...env, ZK_PROVIDER: 'docker', ZK_IMAGE: image } });
    expect(zookeeper.describe()).toContain(`Docker image ${image}`);
    await expect(startZooKeeper({ env: { ...env, ZK_PROVIDER: 'docker', ZK_IMAGE: 'zk-leader/no-such-image:0' } })).rejects.toMatchObject({
      code: 'ZOOKEEPER_NOT_FOUND',
      message: expect.stringMatching(
        /ZK_IMAGE=zk-leader\/no-such-image:0 is not on Docker .* cannot be pulled .*: load zk-leader\/no-such-image:0 into the engine/,
      ),
    });
  }, 120_000);

  test('leaves no container after close()', async () => {
    const zookeeper = await start('docker', 3);
    expect(await containersOf(process.pid)).toHaveLength(3);
    await zookeeper.servers[0]!.pause();
    await zookeeper.servers[1]!.kill();
    await zookeeper.close();
    expect(await containersOf(process.pid)).toEqual([]);
  }, 300_000);

  test('leaves no container after the process that started it is killed', async () => {
    const script = [
      "import { startZooKeeper } from './src/testing/index.ts';",
      'const zookeeper = await startZooKeeper({ env: { ...process.env, ZK_PROVIDER: "docker" } });',
      'console.log(JSON.stringify({ port: zookeeper.servers[0].clientPort }));',
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`the child exited (${code}) before its ZooKeeper served`)));
    });
    const { port } = JSON.parse(line) as { port: number };
    expect(await isServing('127.0.0.1', port)).toBe(true);
    expect(await containersOf(child.pid!)).toHaveLength(1);
    child.kill('SIGKILL');
    await exited;
    await until(async () => (await containersOf(child.pid!)).length === 0, 'the killed process’s container to be removed', 30_000);
    expect(await isServing('127.0.0.1', port)).toBe(false);
  }, 180_000);
});
