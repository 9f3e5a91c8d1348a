#!/usr/bin/env bash
# Prepares a checkout of an older commit for the simulator (docs/simulation.md, "Old code"):
# a git worktree, this checkout's node_modules, and the one-line hook through which the
# simulation hands the old Session its client (only before the injected Runtime: a checkout
# that has src/runtime.ts takes the simulation's runtime as it is).
#   bash test/sim/legacy-worktree.sh 6ccc3b6 /tmp/zk-leader-old
#   npm run test:sim -- --src /tmp/zk-leader-old/src --seeds 400
set -euo pipefail
commit="${1:?usage: legacy-worktree.sh <commit> <directory>}"
dir="${2:?usage: legacy-worktree.sh <commit> <directory>}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
git -C "$root" worktree add --detach "$dir" "$commit" >/dev/null
ln -s "$root/node_modules" "$dir/node_modules"
if [ -f "$dir/src/runtime.ts" ]; then
  # From the injected Runtime on, the simulation hands the library its client directly: no hook.
  echo "ready (runtime injected, no hook needed): npm run test:sim -- --src $dir/src --seeds 400"
  exit 0
fi
sed -i 's/const client = createClient(this.backend, {/const client = ((globalThis as any).__zkLeaderSimCreateClient ?? createClient)(this.backend, {/' "$dir/src/session.ts"
grep -q __zkLeaderSimCreateClient "$dir/src/session.ts" || { echo "legacy-worktree: the client hook did not apply to $dir/src/session.ts" >&2; exit 1; }
echo "ready: npm run test:sim -- --src $dir/src --seeds 400"
