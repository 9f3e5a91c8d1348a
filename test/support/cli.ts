import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The built CLI (`npm run build` makes it). */
export const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/**
 * Runs `zk-leader <args>` and resolves with its exit code and output. Asynchronous on purpose:
 * a test that waited for the CLI with spawnSync blocked its own event loop for as long as the
 * CLI ran, so the sessions of the test's own participants sent no pings, and on a busy
 * machine a 2 s session expired under the test (a failure of the test, not the library).
 * ZK_CONNECT is cleared so that only `--connect` says where to go.
 */
export async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args], { env: { ...process.env, ZK_CONNECT: '' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
