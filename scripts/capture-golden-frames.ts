/**
 * Records the frames the real Java client and a real server exchange, for the builtin
 * client's codec tests (test/fixtures/golden/README.md says how and why).
 *
 *   npx tsx scripts/capture-golden-frames.ts [out-file]
 *
 * Starts a ZooKeeper from the jars this machine has (src/testing), compiles and runs
 * test/fixtures/golden/CaptureClient.java against /usr/share/java/zookeeper.jar through a
 * recording TCP proxy, and writes one line per frame: `<connection> <c2s|s2c> <hex>`, the
 * frame without its 4-byte length prefix.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { FrameDecoder } from '../src/client/builtin/framing.js';
import { startZooKeeper } from '../src/testing/index.js';

const out = process.argv[2] ?? 'test/fixtures/golden/java-client-3.8.frames';
const classpath = '/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar';
const classes = mkdtempSync(join(tmpdir(), 'zk-golden-'));
const compiled = spawnSync('javac', ['-d', classes, '-cp', classpath, 'test/fixtures/golden/CaptureClient.java'], { encoding: 'utf8' });
if (compiled.status !== 0) throw new Error(`javac failed: ${compiled.stderr}`);

const zookeeper = await startZooKeeper({ forceSync: false });
const [host, port] = zookeeper.connectString.split(',')[0]!.split(':') as [string, string];
const lines: string[] = [];
const open = new Set<Socket>();
let connections = 0;
const proxy = createServer((client) => {
  const id = connections++;
  const upstream = connect(Number(port), host);
  open.add(client);
  open.add(upstream);
  const record = (direction: 'c2s' | 's2c') => {
    // Frames far larger than any here are a bug in the capture, not something to record.
    const decoder = new FrameDecoder(1 << 20);
    return (chunk: Buffer) => {
      for (const payload of decoder.push(chunk)) lines.push(`${id} ${direction} ${payload.toString('hex')}`);
    };
  };
  const fromClient = record('c2s');
  const fromServer = record('s2c');
  client.on('data', (chunk) => {
    fromClient(chunk);
    upstream.write(chunk);
  });
  upstream.on('data', (chunk) => {
    fromServer(chunk);
    client.write(chunk);
  });
  const end = () => {
    client.destroy();
    upstream.destroy();
    open.delete(client);
    open.delete(upstream);
  };
  client.on('close', end);
  upstream.on('close', end);
  client.on('error', end);
  upstream.on('error', end);
});
await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const proxyPort = (proxy.address() as { port: number }).port;

const java = spawn('java', ['-cp', `${classes}:${classpath}`, 'CaptureClient', `127.0.0.1:${proxyPort}`], { stdio: ['pipe', 'pipe', 'inherit'] });
for await (const line of createInterface({ input: java.stdout })) {
  if (line === 'reset') {
    for (const socket of open) socket.destroy();
    java.stdin.write('ok\n');
  }
  if (line === 'done') break;
}
await new Promise((resolve) => java.once('exit', resolve));
proxy.close();
await zookeeper.close();
rmSync(classes, { recursive: true, force: true });
writeFileSync(out, `${lines.join('\n')}\n`);
console.log(`${lines.length} frames over ${connections} connections -> ${out}`);
