"""A kazoo participant of the single-node protocol for the mixed-fleet tests: it races to
create one ephemeral node (PATH/lock) and leads while it holds it; when the node goes, every
waiting participant races again. One JSON line per change on stdout.

usage: python3 kazoo_single_node.py --connect HOST:PORT --path /election --id NAME [--session-timeout S]

Events: started, elected (with fencingToken: the node's czxid), lost, stopped. SIGTERM or
SIGINT gives the node up at once and exits 0.
"""
import threading

from kazoo.exceptions import NodeExistsError, NoNodeError

from peer_common import Peer

changed = threading.Event()
peer = Peer("single-node", on_leave=changed.set)
client = peer.client
lock = peer.args.path + "/lock"
client.ensure_path(peer.args.path)

peer.report("started", path=peer.args.path)
while not peer.stopping.is_set():
    changed.clear()
    try:
        client.create(lock, peer.args.id.encode("utf-8"), ephemeral=True)
    except NodeExistsError:
        # Someone holds it: wait for any change to it, then race again.
        if client.exists(lock, watch=lambda event: changed.set()) is None:
            continue
        changed.wait()
        continue
    stat = client.exists(lock)
    peer.report("elected", fencingToken=str(stat.czxid), node="lock")
    peer.stopping.wait()
    peer.report("lost", reason="stopped")
    try:
        client.delete(lock)
    except NoNodeError:
        pass
peer.close()
