#!/usr/bin/env bash
# Prepares a checkout of an older commit for the simulator (docs/simulation.md, "Old code"):
# a git worktree, this checkout's node_modules, and the one-line hook through which the
# simulation hands the old Session its client.
#   bash test/sim/legacy-worktree.sh 6ccc3b6 /tmp/zk-leader-old
#   npm run test:sim -- --src /tmp/zk-leader-old/src --seeds 400
set -euo pipefail
commit="${1:?usage: legacy-worktree.sh <commit> <directory>}"
dir="${2:?usage: legacy-worktree.sh <commit> <directory>}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
git -C "$root" worktree add --detach "$dir" "$commit" >/dev/null
ln -s "$root/node_modules" "$dir/node_modules"
sed -i 's/const client = createClient(this.backend, {/const client = ((globalThis as any).__zkLeaderSimCreateClient ?? createClient)(this.backend, {/' "$dir/src/session.ts"
grep -q __zkLeaderSimCreateClient "$dir/src/session.ts" || { echo "legacy-worktree: the client hook did not apply to $dir/src/session.ts" >&2; exit 1; }
echo "ready: npm run test:sim -- --src $dir/src --seeds 400"
