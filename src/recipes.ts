import { InvalidArgumentError } from './errors.js';
import { sequencePattern } from './sequence.js';

/**
 * The election recipes zk-leader speaks: how a candidate's znode is named and what it holds,
 * so that other libraries' participants on the same path see ours as one of theirs. Reading
 * is universal (every format below is parsed, whatever our own recipe); writing is per recipe.
 *
 * - `zk-leader`: `<prefix><32 hex>-n_<seq>`, data `{"id":...,"data":...}` (JSON).
 * - `curator-latch`: Curator's LeaderLatch, `_c_<uuid>-latch-<seq>`, data = the id's bytes
 *   (LeaderLatch.java: LOCK_NAME "latch-", created withProtection(), which prefixes
 *   `_c_<uuid>-`; ProtectedUtils.java).
 * - `curator-selector`: Curator's LeaderSelector, an InterProcessMutex: `_c_<uuid>-lock-<seq>`,
 *   data = the id's bytes (InterProcessMutex.java LOCK_NAME "lock-", LeaderSelector.getIdBytes).
 * - `kazoo`: kazoo's Election (a Lock): `<32 hex>__lock__<seq>`, data = the identifier in
 *   UTF-8 (kazoo/recipe/lock.py: prefix uuid4().hex + "__lock__", contenders matched by
 *   `(?:__lock__)(-?\d{10})$`).
 * - `single-node`: no queue: one ephemeral node at a fixed name (`lockName`, default `lock`)
 *   that whoever creates it leads by; the others watch it and race to create it when it goes
 *   (the old master/standby protocols: Kafka's /controller, Hadoop's ActiveStandbyElector).
 *   Data = the id's bytes, token = its czxid.
 */
export type RecipeName = 'zk-leader' | 'curator-latch' | 'curator-selector' | 'kazoo' | 'single-node';

export const recipeNames: readonly RecipeName[] = ['zk-leader', 'curator-latch', 'curator-selector', 'kazoo', 'single-node'];

/** A candidate name taken apart by the format that recognised it. */
export interface ParsedName {
  recipe: RecipeName;
  /** The part that identifies the creating participant (its GUID/UUID and any prefix). */
  owner: string;
  /** The sequence exactly as ZooKeeper printed it ("%010d": may start with '-' after the wrap). */
  sequenceText: string;
}

interface Format {
  recipe: RecipeName;
  pattern: RegExp;
  stem(prefix: string, guid: string): string;
}

// The sequence ZooKeeper appends, wrap included: sequence.ts.
const sequence = sequencePattern;
const uuid = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/** Curator's protection id: a UUID in its usual dashed form, made from our 32 hex digits. */
function dashed(guid: string): string {
  return `${guid.slice(0, 8)}-${guid.slice(8, 12)}-${guid.slice(12, 16)}-${guid.slice(16, 20)}-${guid.slice(20, 32)}`;
}

const formats: readonly Format[] = [
  { recipe: 'zk-leader', pattern: new RegExp(`^(.*?[0-9a-f]{32})-n_${sequence}$`), stem: (prefix, guid) => `${prefix}${guid}-n_` },
  { recipe: 'curator-latch', pattern: new RegExp(`^(_c_${uuid})-latch-${sequence}$`), stem: (_prefix, guid) => `_c_${dashed(guid)}-latch-` },
  { recipe: 'curator-selector', pattern: new RegExp(`^(_c_${uuid})-lock-${sequence}$`), stem: (_prefix, guid) => `_c_${dashed(guid)}-lock-` },
  { recipe: 'kazoo', pattern: new RegExp(`^([0-9a-f]{32})__lock__${sequence}$`), stem: (_prefix, guid) => `${guid}__lock__` },
];

/** Parses a child name in any known recipe's format; null for anything else. */
export function parseName(name: string): ParsedName | null {
  for (const format of formats) {
    const match = format.pattern.exec(name);
    if (match) return { recipe: format.recipe, owner: match[1]!, sequenceText: match[2]! };
  }
  return null;
}

/** The name to pass to an ephemeral-sequential create under `recipe`; ZooKeeper appends the sequence. */
/** The recipes whose candidates queue as sequential nodes. */
export type SequentialRecipe = Exclude<RecipeName, 'single-node'>;

export function nameStem(recipe: SequentialRecipe, prefix: string, guid: string): string {
  return formats.find((format) => format.recipe === recipe)!.stem(prefix, guid);
}

/** Whether `name` is the node of the participant with this GUID (in any recipe's spelling). */
export function isNameOf(name: string, guid: string): boolean {
  return name.includes(guid) || name.includes(dashed(guid));
}

/** Checks a `lockName` option (the single-node recipe's node name); `undefined` is `lock`. */
export function validateLockName(lockName: unknown): string {
  if (lockName === undefined) return 'lock';
  if (typeof lockName !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(lockName) || lockName.startsWith('.')) {
    throw new InvalidArgumentError(`lockName must be a node name of letters, digits, '_', '-' or '.': got ${JSON.stringify(lockName)}`);
  }
  return lockName;
}

/** Checks a `recipe` option. */
export function validateRecipe(recipe: unknown): RecipeName {
  if (recipe === undefined) return 'zk-leader';
  if (!recipeNames.includes(recipe as RecipeName)) {
    throw new InvalidArgumentError(`recipe must be one of ${recipeNames.map((name) => `'${name}'`).join(', ')}: got ${JSON.stringify(recipe)}`);
  }
  return recipe as RecipeName;
}
