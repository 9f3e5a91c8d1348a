/**
 * `npm run zookeeper:image`: readies the image the Docker provider starts. `ZK_IMAGE` (default
 * the official `zookeeper:3.8`) is used as it is when the engine has it, pulled when a registry
 * answers; when the official image cannot be pulled, the Debian-based one of
 * `docker/zookeeper/` is built instead from Debian's packages (debootstrap, `docker import`,
 * `docker build`), and kept: it is built again only when its inputs change.
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { debianImage, inputsLabel, officialImage } from '../src/testing/docker.js';

const context = join(dirname(fileURLToPath(import.meta.url)), '..', 'docker', 'zookeeper');
const say = (words: string) => console.log(`zookeeper:image: ${words}`);
const fail = (words: string): never => {
  console.error(`zookeeper:image: ${words}`);
  process.exit(1);
};

/** The root file system: Debian's ZooKeeper 3.8 jars and a headless JRE (not the `zookeeper` package, which pulls a desktop JRE). */
const suite = 'bookworm';
const mirror = process.env.DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const packages = ['libzookeeper-java', 'libslf4j-java', 'default-jre-headless'];
const rootfsImage = `zk-leader/zookeeper-rootfs:${suite}`;
/** Removed from the tree before the import: the downloaded .debs, package lists and docs are half of it, and nothing the server reads. */
const pruned = ['var/cache/apt/archives', 'var/lib/apt/lists', 'usr/share/doc', 'usr/share/man'];
/** Change this when buildRootfs() makes the tree differently, so that images built before are rebuilt. */
const rootfsRecipe = 'minbase, pruned, top folder 0755';

function run(command: string, args: string[], options: SpawnSyncOptions = {}): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  const output = `${String(result.stdout ?? '')}${String(result.stderr ?? '')}`.trim();
  return { ok: result.status === 0, output: result.error ? result.error.message : output };
}

function docker(args: string[], options: SpawnSyncOptions = {}): { ok: boolean; output: string } {
  // BuildKit's client plugin (buildx) is not part of Debian's docker.io; the classic builder is.
  return run('docker', args, { ...options, env: { ...process.env, DOCKER_BUILDKIT: '0', ...options.env } });
}

/** The value of our inputs label on `image`, '' when the image has none, null when the engine does not have it. */
function labelOf(image: string): string | null {
  const inspected = docker(['image', 'inspect', '--format', `{{ index .Config.Labels "${inputsLabel}" }}`, image]);
  if (!inspected.ok) return null;
  return inspected.output === '<no value>' ? '' : inspected.output;
}

const hash = (...parts: string[]) => createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16);

function buildRootfs(rootfsInputs: string): void {
  if (spawnSync('debootstrap', ['--version']).error) {
    const root = process.getuid?.() === 0;
    if (!root || spawnSync('apt-get', ['--version']).error)
      fail('debootstrap is missing: install it (`apt-get install debootstrap`) and run this again, as root');
    say('installing debootstrap (Debian package) to build the image');
    const installed = run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'debootstrap'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (!installed.ok) fail(`apt-get install debootstrap failed:\n${installed.output}`);
  }
  const folder = mkdtempSync(join(tmpdir(), 'zk-leader-rootfs-'));
  try {
    say(`debootstrap ${suite} with ${packages.join(', ')} (about a minute and a half)`);
    const started = Date.now();
    const bootstrapped = run('debootstrap', ['--variant=minbase', `--include=${packages.join(',')}`, suite, folder, mirror], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    if (!bootstrapped.ok) fail(`debootstrap failed:\n${bootstrapped.output}`);
    for (const leftover of pruned) rmSync(join(folder, leftover), { recursive: true, force: true });
    // The tree's top is the image's `/`: mkdtemp made it 0700, which would lock out the zookeeper user.
    chmodSync(folder, 0o755);
    say(`root file system ready in ${Math.round((Date.now() - started) / 1000)} s; importing it as ${rootfsImage}`);
    const tar = spawnSync('tar', ['-C', folder, '-c', '.'], { maxBuffer: 4 * 1024 ** 3 });
    if (tar.status !== 0) fail(`tar of the root file system failed: ${tar.stderr.toString()}`);
    const imported = docker(['import', '--change', `LABEL ${inputsLabel}=${rootfsInputs}`, '-', rootfsImage], { input: tar.stdout });
    if (!imported.ok) fail(`docker import failed:\n${imported.output}`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

function buildDebianImage(): void {
  const rootfsInputs = hash(suite, mirror, ...packages, ...pruned, rootfsRecipe);
  const imageInputs = hash(rootfsInputs, readFileSync(join(context, 'Dockerfile'), 'utf8'), readFileSync(join(context, 'docker-entrypoint.sh'), 'utf8'));
  if (labelOf(debianImage) === imageInputs) {
    say(`${debianImage} is up to date (inputs ${imageInputs})`);
    return;
  }
  if (labelOf(rootfsImage) !== rootfsInputs) buildRootfs(rootfsInputs);
  say(`building ${debianImage} from docker/zookeeper/Dockerfile`);
  const built = docker(['build', '--build-arg', `BASE=${rootfsImage}`, '--label', `${inputsLabel}=${imageInputs}`, '--tag', debianImage, context]);
  if (!built.ok) fail(`docker build failed:\n${built.output}`);
  // The builds this one replaced, untagged now: 370 MB each on a vfs engine.
  docker(['image', 'prune', '--force', '--filter', `label=${inputsLabel}`]);
  say(`built ${debianImage}; the Docker provider uses it while ${officialImage} is not on this engine`);
}

const wanted = process.env.ZK_IMAGE || officialImage;
if (run('docker', ['version', '--format', '{{.Server.Version}}']).ok === false)
  fail('no Docker engine answers: start one (on CI machines `bash .ci/docker-engine.sh` installs and starts it)');
if (labelOf(wanted) !== null) {
  say(`${wanted} is on this engine`);
} else {
  const pulled = docker(['pull', wanted], { timeout: 300_000 });
  if (pulled.ok) say(`pulled ${wanted}`);
  else if (wanted !== officialImage) fail(`could not pull ZK_IMAGE=${wanted}: ${pulled.output.split('\n').pop()}`);
  else {
    say(`could not pull ${wanted} (${pulled.output.split('\n').pop()}); using the Debian-based image instead`);
    buildDebianImage();
  }
}
