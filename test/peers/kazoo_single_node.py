"""A kazoo participant of the single-node protocol for the mixed-fleet tests: it races to
create one ephemeral node (PATH/lock) and leads while it holds it; when the node goes, every
waiting participant races again. One JSON line per change on stdout.

usage: python3 kazoo_single_node.py --connect HOST:PORT --path /election --id NAME [--session-timeout S]

Events: started, elected (with fencingToken: the node's czxid), lost, stopped. SIGTERM or
SIGINT gives the node up at once and exits 0.
"""
import argparse
import json
import signal
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import NodeExistsError, NoNodeError

parser = argparse.ArgumentParser()
parser.add_argument("--connect", required=True)
parser.add_argument("--path", required=True)
parser.add_argument("--id", required=True)
parser.add_argument("--session-timeout", type=float, default=4.0)
args = parser.parse_args()
lock = args.path + "/lock"


def report(event, **fields):
    line = {"ts": time.time() * 1000, "id": args.id, "event": event, "recipe": "single-node"}
    line.update(fields)
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


stopping = threading.Event()
changed = threading.Event()
client = KazooClient(hosts=args.connect, timeout=args.session_timeout)
client.start(timeout=15)
client.ensure_path(args.path)


def leave(_signum, _frame):
    stopping.set()
    changed.set()


signal.signal(signal.SIGTERM, leave)
signal.signal(signal.SIGINT, leave)

report("started", path=args.path)
while not stopping.is_set():
    changed.clear()
    try:
        client.create(lock, args.id.encode("utf-8"), ephemeral=True)
    except NodeExistsError:
        # Someone holds it: wait for any change to it, then race again.
        if client.exists(lock, watch=lambda event: changed.set()) is None:
            continue
        changed.wait()
        continue
    stat = client.exists(lock)
    report("elected", fencingToken=str(stat.czxid), node="lock")
    stopping.wait()
    report("lost", reason="stopped")
    try:
        client.delete(lock)
    except NoNodeError:
        pass
client.stop()
client.close()
report("stopped")
