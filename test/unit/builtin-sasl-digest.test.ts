import { describe, expect, it } from 'vitest';
import { DigestMd5Client, DigestMd5Error, digestResponseValues, parseDigestChallenge } from '../../src/client/builtin/sasl-digest.js';

// RFC 2831 §4, the IMAP example: user "chris", password "secret".
const rfcChallenge = 'realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess,charset=utf-8';
const rfcResponse =
  'charset=utf-8,username="chris",realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",nc=00000001,cnonce="OA6MHXh6VqTrRk",' +
  'digest-uri="imap/elwood.innosoft.com",response=d388dad90d4bbd760a152321f2143af7,qop=auth';
const rfcRspauth = 'rspauth=ea40f60335c427b5527b84dbabcdfffd';

const rfcClient = (password = 'secret') =>
  new DigestMd5Client({ username: 'chris', password, digestUri: 'imap/elwood.innosoft.com', cnonce: 'OA6MHXh6VqTrRk' });

describe('SASL DIGEST-MD5 (RFC 2831)', () => {
  it("computes RFC 2831's worked example: the response and the server's rspauth", () => {
    const values = digestResponseValues({
      username: 'chris',
      password: 'secret',
      realm: 'elwood.innosoft.com',
      nonce: 'OA6MG9tEQGm2hh',
      cnonce: 'OA6MHXh6VqTrRk',
      nc: 1,
      digestUri: 'imap/elwood.innosoft.com',
      utf8: true,
    });
    expect(values).toEqual({ response: 'd388dad90d4bbd760a152321f2143af7', rspauth: 'ea40f60335c427b5527b84dbabcdfffd' });
  });

  it("answers the example's challenge with the example's response, byte for byte, and accepts its rspauth", () => {
    const client = rfcClient();
    expect(client.initial()).toEqual(Buffer.alloc(0));
    expect(client.evaluate(Buffer.from(rfcChallenge))!.toString()).toBe(rfcResponse);
    expect(client.complete).toBe(false);
    expect(client.evaluate(Buffer.from(rfcRspauth))).toBeNull();
    expect(client.complete).toBe(true);
  });

  it('a wrong password gives another response, and the real server proof does not match it', () => {
    const client = rfcClient('not-secret');
    expect(client.evaluate(Buffer.from(rfcChallenge))!.toString()).not.toContain('d388dad90d4bbd760a152321f2143af7');
    expect(() => client.evaluate(Buffer.from(rfcRspauth))).toThrow(DigestMd5Error);
  });

  it('refuses a challenge without a nonce, with another algorithm, or without qop auth', () => {
    const client = () => rfcClient();
    expect(() => client().evaluate(Buffer.from('realm="r",algorithm=md5-sess'))).toThrow(/no nonce/);
    expect(() => client().evaluate(Buffer.from('nonce="n",algorithm=md5'))).toThrow(/md5-sess/);
    expect(() => client().evaluate(Buffer.from('nonce="n",qop="auth-conf",algorithm=md5-sess'))).toThrow(/auth only/);
  });

  it('parses quoted values with escapes and commas, bare values and spaces', () => {
    const parsed = parseDigestChallenge(' realm="a,\\"b\\"" , nonce=xyz,qop="auth,auth-int",  algorithm=md5-sess ');
    expect(Object.fromEntries(parsed)).toEqual({ realm: 'a,"b"', nonce: 'xyz', qop: 'auth,auth-int', algorithm: 'md5-sess' });
    expect(() => parseDigestChallenge('realm="open')).toThrow(DigestMd5Error);
  });

  it("answers ZooKeeper's challenge shape: realm zk-sasl-md5, digest-uri zookeeper/zk-sasl-md5, no authzid", () => {
    const client = new DigestMd5Client({ username: 'alice', password: 'alice-secret', digestUri: 'zookeeper/zk-sasl-md5', cnonce: 'c' });
    const response = client.evaluate(Buffer.from('realm="zk-sasl-md5",nonce="n0",charset=utf-8,algorithm=md5-sess'))!.toString();
    expect(response).toContain('realm="zk-sasl-md5"');
    expect(response).toContain('digest-uri="zookeeper/zk-sasl-md5"');
    expect(response).not.toContain('authzid');
  });
});
