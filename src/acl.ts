import { createHash } from 'node:crypto';
import { Permission, type AclEntry } from './client/types.js';

/**
 * An ACL that gives every permission to holders of one digest credential ("user:password"),
 * and nothing to anyone else: pass it as `acl` together with the same credential as `auth`.
 */
export function digestAcl(credential: string, permissions: number = Permission.all): AclEntry[] {
  const separator = credential.indexOf(':');
  const user = credential.slice(0, separator);
  const hash = createHash('sha1').update(credential).digest('base64');
  return [{ scheme: 'digest', id: `${user}:${hash}`, permissions }];
}
