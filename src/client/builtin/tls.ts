import { connect as tlsConnect, createSecureContext, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { TlsOption } from '../types.js';

/**
 * TLS for the builtin client: which `node:tls` options a connection uses, what a failed
 * handshake means in words an operator can act on, and whether a port that dropped a
 * plaintext handshake speaks TLS (a secureClientPort says nothing to a plaintext client: it
 * just closes the connection).
 */

/** The `node:tls` options for one server: the caller's, with our host and port. */
export function tlsOptionsFor(option: TlsOption, host: string, port: number): ConnectionOptions {
  // Hostname verification stays Node's (checkServerIdentity against servername, else host)
  // unless the caller replaced checkServerIdentity or turned rejectUnauthorized off itself.
  return { ...(option === true ? {} : option), host, port };
}

/**
 * Checks that the certificates and key load (PEM text, a matching key, the passphrase),
 * so that a wrong one is an INVALID_ARGUMENT at construction rather than a failure at every dial.
 * @returns why not, or null when they load.
 */
export function tlsOptionProblem(option: unknown): string | null {
  if (option === true) return null;
  if (option === null || typeof option !== 'object' || Array.isArray(option)) {
    return `tls must be true or node:tls options such as { ca, cert, key }: got ${JSON.stringify(option)}`;
  }
  const options = option as ConnectionOptions;
  if (options.pfx === undefined && (options.cert === undefined) !== (options.key === undefined)) {
    return 'tls.cert and tls.key go together: pass both (the client certificate and its private key) or neither';
  }
  try {
    createSecureContext(options);
  } catch (error) {
    const message = (error as Error).message;
    return `tls: the certificates or key do not load (${message}): pass PEM text (e.g. fs.readFileSync(path, 'utf8')), a key that matches tls.cert, and tls.passphrase for an encrypted key`;
  }
  return null;
}

/** Verification errors of the server's chain: it was not signed by a CA we trust. */
const untrustedChain = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);

/** Whether `error`, met on a TLS connection before the session handshake was answered, is TLS's doing. */
export function isTlsError(error: NodeJS.ErrnoException): boolean {
  const code = error.code ?? '';
  return untrustedChain.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code.startsWith('CERT_') || code.startsWith('ERR_OSSL_');
}

/**
 * One line on why TLS to `host:port` failed and what to change. `error` is the socket's
 * error, or undefined when the server closed the connection during the TLS handshake.
 */
export function describeTlsFailure(error: NodeJS.ErrnoException | undefined, host: string, port: number, option: TlsOption): string {
  const server = `${host}:${port}`;
  const options = option === true ? {} : option;
  const code = error?.code;
  const withCode = (why: string, fix: string) => `TLS to ${server} failed: ${why}${code ? ` (${code})` : ''}; ${fix}`;
  if (code && untrustedChain.has(code)) {
    return withCode(
      `the server's certificate is not signed by a CA in tls.ca${options.ca === undefined ? " (none given: Node's default CAs were used)" : ''}`,
      'pass the CA that signed it as tls.ca',
    );
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return withCode(
      `the server's certificate is ${code === 'CERT_HAS_EXPIRED' ? 'expired' : 'not valid yet'}`,
      "renew the server's certificate (or check this machine's clock)",
    );
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return withCode(
      `the server's certificate is not made for ${options.servername ?? host}`,
      'connect by a name in its subject alternative names, or set tls.servername to one',
    );
  }
  if (code && /ALERT_(BAD_CERTIFICATE|CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|CERTIFICATE_UNKNOWN|UNKNOWN_CA)/.test(code)) {
    if (options.cert === undefined && options.pfx === undefined) {
      return withCode('the server requires a client certificate (ssl.clientAuth=need) and none was given', 'pass tls.cert and tls.key');
    }
    return withCode(
      'the server refused the client certificate in tls.cert (not signed by a CA in its ssl.trustStore)',
      'use a client certificate signed by a CA the server trusts',
    );
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || code === 'ERR_SSL_HTTP_REQUEST') {
    return withCode('the server did not answer in TLS', `check that ${port} is the server's secureClientPort`);
  }
  if (error === undefined || code === 'ECONNRESET' || code === 'EPIPE') {
    // A plaintext client port reads the TLS hello as a frame length over its limit and closes.
    return `TLS to ${server} failed: the server closed the connection during the TLS handshake; check that ${port} is the server's secureClientPort (its plaintext clientPort closes on a TLS hello)`;
  }
  return withCode(`the TLS handshake failed: ${error.message.split('\n')[0]}`, "check the tls options against the server's ssl.* settings");
}

/** What to say when a plaintext handshake went to a port that speaks TLS. */
export function plaintextOnTlsPort(host: string, port: number): string {
  return `TLS to ${host}:${port} failed: ${host}:${port} speaks TLS (a secureClientPort) and this client connected without it; pass tls (e.g. { ca, cert, key }), or connect to the server's plaintext clientPort`;
}

/**
 * Whether `host:port` answers a TLS hello as a TLS server: it completes a handshake, or refuses
 * it with a TLS alert (a missing client certificate). A plaintext ZooKeeper resets instead.
 * Nothing is verified and nothing is sent after the hello: it only tells the two kinds of port
 * apart. `cancel` ends the probe early (its socket destroyed); it then resolves false.
 */
export function speaksTls(host: string, port: number, timeoutMs: number): { result: Promise<boolean>; cancel: () => void } {
  let socket: TLSSocket | undefined;
  let settle: (value: boolean) => void = () => {};
  const result = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => settle(false), timeoutMs);
    settle = (value) => {
      clearTimeout(timer);
      socket?.destroy();
      settle = () => {};
      resolve(value);
    };
    socket = tlsConnect({ host, port, rejectUnauthorized: false, ...(isIp(host) ? {} : { servername: host }) });
    socket.once('secureConnect', () => settle(true));
    socket.on('error', (error: NodeJS.ErrnoException) => settle((error.code ?? '').startsWith('ERR_SSL_')));
    socket.once('close', () => settle(false));
  });
  return { result, cancel: () => settle(false) };
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
