"""A kazoo Election participant for the mixed-fleet tests: one JSON line per change on stdout.

usage: python3 kazoo_election.py --connect HOST:PORT --path /election --id NAME [--session-timeout S]
       [--tls --ca CA.pem [--cert CERT.pem --key KEY.pem]]

Events: started, elected (with fencingToken: the czxid of its lock node), lost (with reason:
stopped, or the connection suspended or lost), connection (a state other than CONNECTED), stopped.
SIGTERM or SIGINT leaves the election (releasing leadership at once) and exits 0.
"""
from kazoo.exceptions import KazooException

from peer_common import Peer

election = None
# A signal before the election exists has nothing to cancel yet.
peer = Peer("kazoo", on_leave=lambda: election and election.cancel())
election = peer.client.Election(peer.args.path, peer.args.id)


def lead():
    # kazoo's Election calls this with its lock held and never interrupts it, not even when
    # the session is lost (its docs leave that to the application): hold() ends the term on a
    # suspended or lost connection, as a careful kazoo application does.
    session = peer.session()
    node = election.lock.node
    try:
        stat = peer.client.exists(peer.args.path + "/" + node)
    except KazooException:
        return  # cut off already: run() again
    if stat is None or stat.ephemeralOwner != session:
        return  # the session that won is gone already: run() again
    peer.report("elected", fencingToken=str(stat.czxid), node=node)
    peer.report("lost", reason=peer.hold(session))


peer.report("started", path=peer.args.path)
# run() returns when cancelled, or when lead() returns (then the lock is released, once the
# connection is back if it was suspended, and the loop joins again at the end of the queue).
while not peer.stopping.is_set():
    election.run(lead)
peer.close()
