import { spawn } from 'node:child_process';

// Runs in a detached Node process: when the test process dies without cleaning up (SIGKILL,
// a crashed worker), the ZooKeeper server it started is killed and its data folder removed.
const reaperScript = `
const [parentPid, childPid, folder] = process.argv.slice(1).map((v, i) => (i < 2 ? Number(v) : v));
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const timer = setInterval(() => {
  if (!alive(childPid)) { clearInterval(timer); return; }
  if (alive(parentPid)) return;
  try { process.kill(childPid, 'SIGCONT'); process.kill(childPid, 'SIGKILL'); } catch {}
  if (folder) { try { require('node:fs').rmSync(folder, { recursive: true, force: true }); } catch {} }
  clearInterval(timer);
}, 500);
`;

/** Makes sure `childPid` does not outlive this process, whatever way this process ends. */
export function reapWithParent(childPid: number, folder?: string): void {
  const reaper = spawn(process.execPath, ['-e', reaperScript, String(process.pid), String(childPid), folder ?? ''], { detached: true, stdio: 'ignore' });
  reaper.unref();
}

// The same for containers: when the test process dies before close(), every container that
// carries the owner label, and the ensemble's network, are removed through the engine's API.
// Ryuk does this in testcontainers, but Ryuk is an image to pull, which fails without a registry.
const containerReaperScript = `
const http = require('node:http');
const [parentPid, label, network, endpoint] = process.argv.slice(1);
const target = endpoint.startsWith('unix://')
  ? { socketPath: endpoint.slice('unix://'.length) }
  : (() => { const url = new URL(endpoint.replace(/^tcp:/, 'http:')); return { host: url.hostname, port: url.port }; })();
const call = (method, path) => new Promise((resolve) => {
  const request = http.request({ ...target, method, path }, (response) => {
    let body = '';
    response.on('data', (chunk) => (body += chunk));
    response.on('end', () => resolve(body));
  });
  request.on('error', () => resolve(''));
  request.end();
});
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const timer = setInterval(async () => {
  if (alive(Number(parentPid))) return;
  clearInterval(timer);
  const filters = encodeURIComponent(JSON.stringify({ label: [label] }));
  let containers = [];
  try { containers = JSON.parse(await call('GET', '/containers/json?all=1&filters=' + filters)); } catch {}
  await Promise.all(containers.map((container) => call('DELETE', '/containers/' + container.Id + '?force=1&v=1')));
  if (network) await call('DELETE', '/networks/' + encodeURIComponent(network));
}, 500);
`;

let warnedNoReaper = false;

/** A running container reaper; `stop()` it once the containers are removed. */
export interface ContainerReaper {
  stop(): void;
}

/**
 * Makes sure the containers labelled `label` (`key=value`) and `network` do not outlive this
 * process. `endpoint` is the engine's address (`unix://<socket>` or plain `tcp://host:port`);
 * undefined (TLS, ssh) means nobody can reap, and then only `close()` removes them: said once.
 */
export function reapContainersWithParent(label: string, network: string | undefined, endpoint: string | undefined): ContainerReaper {
  if (!endpoint) {
    if (!warnedNoReaper)
      console.warn(
        '[zk-leader testing] the Docker engine is reached over TLS or ssh: containers are removed by close() only, not when this process dies first',
      );
    warnedNoReaper = true;
    return { stop: () => {} };
  }
  const reaper = spawn(process.execPath, ['-e', containerReaperScript, String(process.pid), label, network ?? '', endpoint], {
    detached: true,
    stdio: 'ignore',
  });
  reaper.unref();
  return {
    stop: () => {
      reaper.kill();
    },
  };
}
