import { InvalidArgumentError } from './errors.js';

/** What every candidate's znode holds: who it is, and the data it chose to publish. */
export interface CandidatePayload {
  id: string;
  data: unknown;
}

/** ZooKeeper's default jute.maxbuffer: a node's data may not be larger. */
export const maxNodeDataBytes = 1024 * 1024;

export function validateId(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > 256) {
    throw new InvalidArgumentError(`id must be a non-empty string of at most 256 characters: got ${JSON.stringify(id)}`);
  }
  if (id.includes('/')) throw new InvalidArgumentError(`id must not contain '/': got '${id}'`);
  return id;
}

/** Serializes a payload, with a clear error for data JSON cannot carry or ZooKeeper cannot hold. */
export function encodePayload(payload: CandidatePayload): Buffer {
  let json: string | undefined;
  try {
    json = JSON.stringify({ id: payload.id, data: payload.data ?? null });
  } catch (error) {
    throw new InvalidArgumentError(`data must be JSON-serializable: ${(error as Error).message}`);
  }
  const bytes = Buffer.from(json, 'utf8');
  if (bytes.length > maxNodeDataBytes) {
    throw new InvalidArgumentError(`data is ${bytes.length} bytes as JSON; ZooKeeper nodes hold at most ${maxNodeDataBytes} bytes: publish a reference instead`);
  }
  return bytes;
}

/** Reads a payload written by any program: unparsable data yields the raw text as `data`. */
export function decodePayload(bytes: Buffer, fallbackId: string): CandidatePayload {
  const text = bytes.toString('utf8');
  try {
    const parsed = JSON.parse(text) as Partial<CandidatePayload>;
    if (parsed && typeof parsed === 'object' && typeof parsed.id === 'string') {
      return { id: parsed.id, data: parsed.data ?? null };
    }
  } catch {
    // written by another program: fall through
  }
  return { id: fallbackId, data: text === '' ? null : text };
}
