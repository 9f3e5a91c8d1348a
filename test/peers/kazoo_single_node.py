"""A kazoo participant of the single-node protocol for the mixed-fleet tests: it races to
create one ephemeral node (PATH/lock) and leads while it holds it; when the node goes, every
waiting participant races again. One JSON line per change on stdout.

usage: python3 kazoo_single_node.py --connect HOST:PORT --path /election --id NAME [--session-timeout S]

Events: started, elected (with fencingToken: the node's czxid), lost (with reason: stopped,
or the connection suspended or lost), connection (a state other than CONNECTED), stopped.
SIGTERM or SIGINT gives the node up at once and exits 0.
"""
import threading

from kazoo.exceptions import KazooException, NodeExistsError

from peer_common import Peer

changed = threading.Event()
# A suspended or lost connection ends a term (Peer.hold) and ends a wait for the holder too:
# a watch does not outlive its session.
peer = Peer("single-node", on_leave=changed.set, on_connection=lambda _state: changed.set())
client = peer.client
lock = peer.args.path + "/lock"
client.ensure_path(peer.args.path)


def give_up(session):
    """Deletes the node if this session still holds it; otherwise it went with the session."""
    try:
        stat = client.exists(lock)
        if stat is not None and stat.ephemeralOwner == session:
            client.delete(lock, version=stat.version)
    except KazooException:
        pass  # cut off: the node goes with the session, or is ours again once back


peer.report("started", path=peer.args.path)
while not peer.stopping.is_set():
    changed.clear()
    session = peer.session()
    try:
        try:
            client.create(lock, peer.args.id.encode("utf-8"), ephemeral=True)
        except NodeExistsError:
            pass  # someone holds it; maybe this session, if a create cut off did reach the server
        stat = client.exists(lock, watch=lambda event: changed.set())
    except KazooException:
        peer.stopping.wait(0.1)  # cut off: race again once the connection is back
        continue
    if stat is None:
        continue  # gone already: race again
    if stat.ephemeralOwner != session:
        changed.wait()  # another holds it: race again when it changes
        continue
    peer.report("elected", fencingToken=str(stat.czxid), node="lock")
    peer.report("lost", reason=peer.hold(session))
    give_up(session)
peer.close()
