import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The client side of SASL DIGEST-MD5 (RFC 2831), as ZooKeeper's server runs it: quality of
 * protection `auth` only (no integrity or privacy layer: TLS is the way to protect the wire),
 * no authorization id (the server then uses the user name, as it does for Java's and kazoo's
 * logins). Pure apart from the random client nonce, which a test can fix.
 *
 * The exchange: an empty first token, the server's challenge, our response, the server's
 * proof (`rspauth`) that it knows the password too. See design/zookeeper-protocol.md §13.
 */

/** A DIGEST-MD5 exchange that cannot go on: a malformed challenge, an offer we cannot take, a proof that does not match. */
export class DigestMd5Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DigestMd5Error';
  }
}

/** What a DIGEST-MD5 login needs to know besides the challenge. */
export interface DigestMd5Options {
  username: string;
  password: string;
  /**
   * The `digest-uri`, `<service>/<host>`. ZooKeeper's client and server both create their
   * SASL objects with service "zookeeper" and the fixed server name "zk-sasl-md5"
   * (ZooKeeperSaslClient, ServerCnxnFactory), and the JDK's server checks the uri against them.
   */
  digestUri: string;
  /** The client nonce; random by default. RFC 2831 asks for at least 64 bits of entropy. */
  cnonce?: string;
}

/** ZooKeeper's digest-uri: `Sasl.createSaslServer("DIGEST-MD5", "zookeeper", "zk-sasl-md5", ...)`. */
export const zooKeeperDigestUri = 'zookeeper/zk-sasl-md5';

/**
 * Parses a digest-challenge: `key=value` pairs separated by commas, values bare tokens or
 * quoted strings with backslash escapes (RFC 2831 §7.1). A key given twice keeps its first
 * value (only `realm` may repeat, and the first realm is the one we answer for).
 * @throws DigestMd5Error on an unterminated quoted string.
 */
export function parseDigestChallenge(text: string): Map<string, string> {
  const directives = new Map<string, string>();
  let index = 0;
  const skip = (pattern: RegExp) => {
    while (index < text.length && pattern.test(text[index]!)) index += 1;
  };
  while (index < text.length) {
    skip(/[\s,]/);
    if (index >= text.length) break;
    const keyStart = index;
    while (index < text.length && text[index] !== '=' && text[index] !== ',') index += 1;
    const key = text.slice(keyStart, index).trim().toLowerCase();
    let value = '';
    if (text[index] === '=') {
      index += 1;
      skip(/\s/);
      if (text[index] === '"') {
        index += 1;
        for (;;) {
          if (index >= text.length) throw new DigestMd5Error(`the server's challenge has an unterminated quoted value for ${key}`);
          const char = text[index]!;
          index += 1;
          if (char === '"') break;
          if (char === '\\' && index < text.length) {
            value += text[index];
            index += 1;
          } else value += char;
        }
      } else {
        const valueStart = index;
        while (index < text.length && text[index] !== ',') index += 1;
        value = text.slice(valueStart, index).trim();
      }
    }
    if (key !== '' && !directives.has(key)) directives.set(key, value);
  }
  return directives;
}

const md5 = (...parts: (string | Buffer)[]): Buffer => {
  const hash = createHash('md5');
  for (const part of parts) hash.update(part);
  return hash.digest();
};
const hex = (bytes: Buffer) => bytes.toString('hex');
const quoted = (value: string) => `"${value.replace(/(["\\])/g, '\\$1')}"`;

/**
 * RFC 2831 §2.1.2.1: with `charset=utf-8`, user name, realm and password are hashed as
 * ISO 8859-1 when every character fits in it, as UTF-8 otherwise; without it, as ISO 8859-1.
 */
function credentialBytes(value: string, utf8: boolean): Buffer {
  // eslint-disable-next-line no-control-regex -- the test is for characters beyond ISO 8859-1
  const latin1 = /^[\u0000-\u00ff]*$/.test(value);
  return Buffer.from(value, utf8 && !latin1 ? 'utf8' : 'latin1');
}

/** The values a digest-response is computed from. */
export interface DigestResponseInput {
  username: string;
  password: string;
  realm: string;
  nonce: string;
  cnonce: string;
  /** The request counter, 1 for the first (and, here, only) response. */
  nc: number;
  digestUri: string;
  /** Whether the challenge said `charset=utf-8`. */
  utf8: boolean;
}

/**
 * `response-value` of RFC 2831 §2.1.2.1 for qop `auth` and no authzid, and the `rspauth` the
 * server must send back (the same with A2 = ":" digest-uri).
 */
export function digestResponseValues(input: DigestResponseInput): { response: string; rspauth: string } {
  const nc = input.nc.toString(16).padStart(8, '0');
  const secret = md5(
    credentialBytes(input.username, input.utf8),
    ':',
    credentialBytes(input.realm, input.utf8),
    ':',
    credentialBytes(input.password, input.utf8),
  );
  // A1 starts with the raw 16-byte hash, not its hex: the "sess" of md5-sess.
  const ha1 = hex(md5(secret, `:${input.nonce}:${input.cnonce}`));
  const kd = (a2: string) => hex(md5(`${ha1}:${input.nonce}:${nc}:${input.cnonce}:auth:${hex(md5(a2))}`));
  return { response: kd(`AUTHENTICATE:${input.digestUri}`), rspauth: kd(`:${input.digestUri}`) };
}

/**
 * One DIGEST-MD5 login, used for one connection: `initial()` is the first token (empty),
 * `evaluate()` takes each server token and returns the next one to send, or null once the
 * server has proved itself and the login is complete.
 */
export class DigestMd5Client {
  private step: 'initial' | 'challenged' | 'complete' = 'initial';
  private expectedRspauth = '';

  constructor(private readonly options: DigestMd5Options) {}

  /** Whether the server's proof was checked: the login is done. */
  get complete(): boolean {
    return this.step === 'complete';
  }

  /** DIGEST-MD5 has no initial response: the first token is empty, and the server answers with its challenge. */
  initial(): Buffer {
    return Buffer.alloc(0);
  }

  /**
   * @returns the digest-response to the server's challenge, then null once its `rspauth` matched.
   * @throws DigestMd5Error when the challenge is not one we can answer, or the proof does not match.
   */
  evaluate(token: Buffer): Buffer | null {
    const directives = parseDigestChallenge(token.toString('utf8'));
    if (this.step === 'initial') {
      this.step = 'challenged';
      return Buffer.from(this.respond(directives), 'utf8');
    }
    if (this.step === 'challenged') {
      const rspauth = directives.get('rspauth');
      if (rspauth === undefined) throw new DigestMd5Error('the server answered our digest-response without rspauth');
      const expected = Buffer.from(this.expectedRspauth);
      const got = Buffer.from(rspauth.toLowerCase());
      if (expected.length !== got.length || !timingSafeEqual(expected, got)) {
        throw new DigestMd5Error("the server's rspauth does not match: it does not know this user's password (or something altered the exchange)");
      }
      this.step = 'complete';
      return null;
    }
    throw new DigestMd5Error('the server sent a token after the login was complete');
  }

  private respond(directives: Map<string, string>): string {
    const nonce = directives.get('nonce');
    if (!nonce) throw new DigestMd5Error("the server's challenge has no nonce: it is not a DIGEST-MD5 challenge");
    const algorithm = directives.get('algorithm');
    if (algorithm?.toLowerCase() !== 'md5-sess') throw new DigestMd5Error(`the server's challenge asks for algorithm ${algorithm ?? '(none)'}, not md5-sess`);
    const offered = (directives.get('qop') ?? 'auth').split(',').map((qop) => qop.trim().toLowerCase());
    if (!offered.includes('auth')) throw new DigestMd5Error(`the server offers qop ${offered.join(', ')}; zk-leader supports auth only`);
    const realm = directives.get('realm');
    const utf8 = directives.get('charset')?.toLowerCase() === 'utf-8';
    const cnonce = this.options.cnonce ?? randomBytes(16).toString('base64');
    const { response, rspauth } = digestResponseValues({
      username: this.options.username,
      password: this.options.password,
      realm: realm ?? '',
      nonce,
      cnonce,
      nc: 1,
      digestUri: this.options.digestUri,
      utf8,
    });
    this.expectedRspauth = rspauth;
    return [
      ...(utf8 ? ['charset=utf-8'] : []),
      `username=${quoted(this.options.username)}`,
      ...(realm !== undefined ? [`realm=${quoted(realm)}`] : []),
      `nonce=${quoted(nonce)}`,
      'nc=00000001',
      `cnonce=${quoted(cnonce)}`,
      `digest-uri=${quoted(this.options.digestUri)}`,
      `response=${response}`,
      'qop=auth',
    ].join(',');
  }
}
