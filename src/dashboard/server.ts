import { timingSafeEqual, createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { ZkLeaderError } from '../errors.js';
import { refusalToServe } from './address.js';
import type { Session } from '../session.js';
import { pageHtml, pageCss } from './page.js';
import { ClusterView } from './view.js';
import { EnsembleMonitor } from './ensemble.js';
import { parseConnectString } from '../connect-string.js';
import { validateMs } from '../options.js';

export interface DashboardOptions {
  session: Session;
  root: string;
  groups?: readonly string[];
  /** Default 7070; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. Any other address needs `basicAuth`. */
  host?: string;
  /** `user:password` every request must present (HTTP basic authentication). */
  basicAuth?: string;
  /**
   * How often each server of the session's connect string is asked `srvr`, `mntr` and `cons`
   * (default 1000 ms; 0 asks nothing: no ensemble panel, and how terms ended is `unknown`).
   */
  ensemblePollMs?: number;
  /** Terms kept per election (default 50). */
  historyLength?: number;
  /** Reports a read that failed (the dashboard carries on). */
  onError?: (error: unknown) => void;
}

/** A running dashboard. */
export interface Dashboard {
  /** Where to point a browser, e.g. http://127.0.0.1:7070/ */
  readonly url: string;
  /** The picture the pages get. */
  readonly view: ClusterView;
  /** Stops serving and watching (the session is the caller's). */
  close(): Promise<void>;
}

// Everything on the page comes from here; data read from ZooKeeper is untrusted and is only
// ever set as text by the page's script, and the policy forbids inline script besides.
const securityHeaders = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/**
 * The page's scripts, compiled by `npm run build` (src/dashboard/browser, its own tsconfig),
 * by the path the page asks for: its own, and the formatting it shares with the CLI (app.js
 * imports '../../format.js', which a browser resolves to /format.js).
 */
function browserScripts(): Map<string, string> {
  const scripts = new Map<string, string>();
  for (const [path, built] of [
    ['/app.js', 'dashboard/browser/app.js'],
    ['/format.js', 'format.js'],
  ] as const) {
    // dist/dashboard/server.js and src/dashboard/server.ts are both two levels below the package root.
    const file = [`../${built}`, `../../dist/${built}`].map((candidate) => fileURLToPath(new URL(candidate, import.meta.url))).find((each) => existsSync(each));
    if (!file) throw new ZkLeaderError('INVALID_STATE', "the dashboard's page script is missing: run 'npm run build' first");
    scripts.set(path, readFileSync(file, 'utf8'));
  }
  return scripts;
}

/** Same length, same bytes, in time that does not depend on where they differ. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Serves the live cluster page: one ClusterView on the given session feeds every open page
 * through Server-Sent Events. Read-only (GET and HEAD only).
 * @throws USAGE for a non-loopback host without `basicAuth`, or a port in use; INVALID_ARGUMENT
 *   for an `ensemblePollMs` that is not a number of milliseconds >= 0.
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 7070;
  const refusal = refusalToServe(host, Boolean(options.basicAuth));
  if (refusal) throw new ZkLeaderError('USAGE', refusal);
  const pollMs = validateMs(options.ensemblePollMs, 'ensemblePollMs', 1000, 'zero');
  const scripts = browserScripts();
  const ensemble = pollMs > 0 ? new EnsembleMonitor({ servers: parseConnectString(options.session.connectString).servers, pollMs }) : null;
  const view = new ClusterView({
    session: options.session,
    ...(ensemble ? { ensemble } : {}),
    ...(options.historyLength !== undefined ? { historyLength: options.historyLength } : {}),
    root: options.root,
    ...(options.groups ? { groups: options.groups } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });
  const streams = new Set<ServerResponse>();
  let pushTimer: NodeJS.Timeout | null = null;
  // A burst of watch events makes one push: pages get the latest picture, not every step.
  const push = () => {
    pushTimer ??= setTimeout(() => {
      pushTimer = null;
      const message = `data: ${JSON.stringify(view.snapshot())}\n\n`;
      for (const stream of streams) stream.write(message);
    }, 20);
  };
  view.on('change', push);
  ensemble?.on('change', push);
  const keepAlive = setInterval(() => {
    for (const stream of streams) stream.write(': keep-alive\n\n');
  }, 15_000);
  keepAlive.unref();

  const expectedAuth = options.basicAuth ? `Basic ${Buffer.from(options.basicAuth).toString('base64')}` : null;
  const handle = (request: IncomingMessage, response: ServerResponse) => {
    if (expectedAuth && !sameSecret(request.headers.authorization ?? '', expectedAuth)) {
      response.writeHead(401, { 'WWW-Authenticate': 'Basic realm="zk-leader dashboard", charset="UTF-8"', ...securityHeaders });
      response.end('authentication required\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD', ...securityHeaders });
      response.end('the dashboard is read-only\n');
      return;
    }
    const path = new URL(request.url ?? '/', 'http://dashboard').pathname;
    const send = (type: string, body: string) => {
      response.writeHead(200, { 'Content-Type': type, ...securityHeaders });
      response.end(request.method === 'HEAD' ? undefined : body);
    };
    switch (path) {
      case '/':
        return send('text/html; charset=utf-8', pageHtml);
      case '/app.js':
      case '/format.js':
        return send('text/javascript; charset=utf-8', scripts.get(path)!);
      case '/style.css':
        return send('text/css; charset=utf-8', pageCss);
      case '/state.json':
        return send('application/json; charset=utf-8', JSON.stringify(view.snapshot()));
      case '/events':
        response.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive', ...securityHeaders });
        response.write(`retry: 1000\ndata: ${JSON.stringify(view.snapshot())}\n\n`);
        streams.add(response);
        request.on('close', () => streams.delete(response));
        return;
      default:
        response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', ...securityHeaders });
        response.end('not found\n');
    }
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new ZkLeaderError('USAGE', `port ${port} on ${host} is in use: pick another with --port`)
          : new ZkLeaderError('USAGE', `cannot serve on ${host}:${port}: ${error.message}`),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  // Port 0 asks for any free port: the one we got.
  const listening = typeof address === 'object' && address ? address.port : port;
  const shownHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  void view.start().catch((error: unknown) => options.onError?.(error));
  ensemble?.start();
  return {
    url: `http://${shownHost}:${listening}/`,
    view,
    async close() {
      clearInterval(keepAlive);
      ensemble?.close();
      if (pushTimer) clearTimeout(pushTimer);
      for (const stream of streams) stream.end();
      streams.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await view.close();
    },
  };
}
