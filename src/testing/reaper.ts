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
