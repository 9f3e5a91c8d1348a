"""A kazoo Election participant for the mixed-fleet tests: one JSON line per change on stdout.

usage: python3 kazoo_election.py --connect HOST:PORT --path /election --id NAME [--session-timeout S]

Events: started, elected (with fencingToken: the czxid of its lock node), lost, stopped.
SIGTERM or SIGINT leaves the election (releasing leadership at once) and exits 0.
"""
from peer_common import Peer

election = None
# A signal before the election exists has nothing to cancel yet.
peer = Peer("kazoo", on_leave=lambda: election and election.cancel())
election = peer.client.Election(peer.args.path, peer.args.id)


def lead():
    node = election.lock.node
    stat = peer.client.exists(peer.args.path + "/" + node)
    peer.report("elected", fencingToken=str(stat.czxid), node=node)
    peer.stopping.wait()
    peer.report("lost", reason="stopped")


peer.report("started", path=peer.args.path)
# run() returns when cancelled, or when lead() returns (then the lock is released).
while not peer.stopping.is_set():
    election.run(lead)
peer.close()
