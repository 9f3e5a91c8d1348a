import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExampleProcess } from '../../examples/support/processes.js';
import { LeaderElection } from '../../src/election.js';
import { adminSession, removeTree, uniquePath, zkConnect } from '../support/zookeeper.js';

// The package as a user gets it: packed, installed into a project of its own outside this
// tree (so nothing resolves to the source), then imported, required, run as a CLI, and one
// example copied out of examples/ run against the installed package.

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

/** Runs a command in `cwd`; resolves with its exit code and output, never throws for an exit code. */
async function inProject(cwd: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await run(command, args, { cwd, env: { ...process.env, ZK_CONNECT: '', ...env }, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('the packed package, installed into a project of its own', () => {
  let work = '';
  let project = '';
  let files: string[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'zk-leader-pack-'));
    // dist/ is built by `pretest`; packing again must not rebuild it under the other tests.
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: root });
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    files = info!.files.map((file) => file.path).sort();
    project = join(work, 'app');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    const installed = await inProject(project, 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, info!.filename)]);
    expect(installed.code, installed.stderr).toBe(0);
  }, 180_000);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('holds the compiled library, its types, README, LICENSE and CHANGELOG, and nothing else', () => {
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('dist/testing/index.js');
    expect(files).toContain('dist/cli/main.js');
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json']));
    const unexpected = files.filter((path) => !/^dist\/.*\.(js|d\.ts)$/.test(path) && !['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json'].includes(path));
    expect(unexpected).toEqual([]);
  });

  it('runs no script of ours on install (nothing to approve), and says where its home is', () => {
    const manifest = JSON.parse(readFileSync(join(project, 'node_modules', 'zk-leader', 'package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
      repository?: { url?: string };
      homepage?: string;
      bugs?: { url?: string };
    };
    const installTime = ['preinstall', 'install', 'postinstall', 'prepare'].filter((name) => manifest.scripts?.[name] !== undefined);
    expect(installTime, 'install-time scripts in the installed package.json').toEqual([]);
    expect(manifest.repository?.url).toMatch(/^git\+https:\/\/github\.com\//);
    expect(manifest.homepage).toMatch(/^https:\/\//);
    expect(manifest.bugs?.url).toMatch(/\/issues$/);
  });

  it('imports and requires the same library, and its testing entry', async () => {
    const imported = await inProject(project, process.execPath, [
      '--input-type=module',
      '-e',
      "import { LeaderElection, ZkLeaderError } from 'zk-leader'; import { expireSession } from 'zk-leader/testing'; console.log(typeof LeaderElection, typeof ZkLeaderError, typeof expireSession);",
    ]);
    expect(imported).toMatchObject({ code: 0, stdout: 'function function function\n' });
    // require(esm): the CommonJS caller gets the very module an import gets, not a copy.
    const required = await inProject(project, process.execPath, [
      '--input-type=commonjs',
      '-e',
      "const zk = require('zk-leader'); const testing = require('zk-leader/testing'); import('zk-leader').then((esm) => console.log(typeof zk.LeaderElection, typeof testing.expireSession, esm.LeaderElection === zk.LeaderElection));",
    ]);
    expect(required, required.stderr).toMatchObject({ code: 0, stdout: 'function function true\n' });
  });

  it('zk-leader/metrics says what to install without prom-client, and works with it', async () => {
    const script =
      "import { registerMetrics } from 'zk-leader/metrics'; const { Registry } = await import('prom-client').catch(() => ({ Registry: class { registerMetric() {} } })); try { registerMetrics({ registry: new Registry() }); console.log('registered'); } catch (error) { console.log(error.code, error.message); }";
    const without = await inProject(project, process.execPath, ['--input-type=module', '-e', script]);
    expect(without).toMatchObject({ code: 0, stdout: "BACKEND_NOT_INSTALLED zk-leader/metrics needs prom-client: run 'npm install prom-client'\n" });
    const installed = await inProject(project, 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', 'prom-client@15']);
    expect(installed.code, installed.stderr).toBe(0);
    const withIt = await inProject(project, process.execPath, ['--input-type=module', '-e', script]);
    expect(withIt).toMatchObject({ code: 0, stdout: 'registered\n' });
  });

  it('its types resolve under moduleResolution node16, nodenext and bundler', async () => {
    writeFileSync(
      join(project, 'esm.mts'),
      [
        "import { LeaderElection, ZkLeaderError, type ElectedEvent } from 'zk-leader';",
        "import { expireSession } from 'zk-leader/testing';",
        'export const shapes: [typeof LeaderElection, typeof ZkLeaderError, typeof expireSession] = [LeaderElection, ZkLeaderError, expireSession];',
        'export type Elected = ElectedEvent;',
      ].join('\n'),
    );
    writeFileSync(
      join(project, 'cjs.cts'),
      [
        "import zk = require('zk-leader');",
        "import testing = require('zk-leader/testing');",
        'export const shapes: [typeof zk.LeaderElection, typeof testing.expireSession] = [zk.LeaderElection, testing.expireSession];',
      ].join('\n'),
    );
    const tsc = join(root, 'node_modules', '.bin', 'tsc');
    const check = (module: string, resolution: string, file: string) =>
      inProject(project, tsc, [
        '--noEmit',
        '--strict',
        '--skipLibCheck',
        'false',
        '--target',
        'es2022',
        '--module',
        module,
        '--moduleResolution',
        resolution,
        '--typeRoots',
        join(root, 'node_modules', '@types'),
        '--types',
        'node',
        file,
      ]);
    // A CommonJS file gets the types where TypeScript models require(esm): nodenext (TS 5.8+) and bundler.
    const cases = [
      ['node16', 'node16', 'esm.mts'],
      ['nodenext', 'nodenext', 'esm.mts'],
      ['nodenext', 'nodenext', 'cjs.cts'],
      ['preserve', 'bundler', 'esm.mts'],
      ['preserve', 'bundler', 'cjs.cts'],
    ] as const;
    const results = await Promise.all(cases.map(([module, resolution, file]) => check(module, resolution, file)));
    expect(results.map((result, i) => `${cases[i]!.join(' ')}: ${result.code} ${result.stdout}${result.stderr}`.trim())).toEqual(
      cases.map((c) => `${c.join(' ')}: 0`),
    );
  });

  it('npx zk-leader --version and status work against a real ZooKeeper', async () => {
    const versioned = await inProject(project, 'npx', ['--no-install', 'zk-leader', '--version']);
    expect(versioned).toMatchObject({ code: 0, stdout: `${version}\n` });

    const path = uniquePath('packed-cli');
    const leader = new LeaderElection({ connect: zkConnect(), path, id: 'packed-leader' });
    try {
      await leader.start();
      await leader.waitForLeadership();
      const status = await inProject(project, 'npx', ['--no-install', 'zk-leader', 'status', path, '--json'], { ZK_CONNECT: zkConnect() });
      expect(status.code, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout).leader).toMatchObject({ id: 'packed-leader' });
    } finally {
      await leader.stop();
      const admin = await adminSession();
      await removeTree(admin, path);
      await admin.close();
    }
  });

  it('runs worker.ts copied out of examples/ against the installed package', async () => {
    cpSync(join(root, 'examples', 'worker.ts'), join(project, 'worker.ts'));
    cpSync(join(root, 'examples', 'support', 'cli.ts'), join(project, 'support', 'cli.ts'));
    const path = uniquePath('packed-example');
    // tsx only strips the types; 'zk-leader' resolves from the project's node_modules.
    const tsx = join(root, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');
    const child = spawn(process.execPath, ['--import', tsx, 'worker.ts', '--connect', zkConnect(), '--path', path, '--id', 'copied', '--json'], {
      cwd: project,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const worker = new ExampleProcess(child);
    try {
      const elected = await worker.waitForEvent('elected');
      expect(elected).toMatchObject({ id: 'copied', event: 'elected' });
      worker.signal('SIGTERM');
      expect(await worker.exited).toEqual({ code: 0, signal: null });
    } finally {
      worker.signal('SIGKILL');
      const admin = await adminSession();
      await removeTree(admin, path);
      await admin.close();
    }
  });
});
