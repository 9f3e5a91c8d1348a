"""A kazoo Election participant for the mixed-fleet tests: one JSON line per change on stdout.

usage: python3 kazoo_election.py --connect HOST:PORT --path /election --id NAME [--session-timeout S]

Events: started, elected (with fencingToken: the czxid of its lock node), lost, stopped.
SIGTERM or SIGINT leaves the election (releasing leadership at once) and exits 0.
"""
import argparse
import json
import signal
import sys
import threading
import time

from kazoo.client import KazooClient

parser = argparse.ArgumentParser()
parser.add_argument("--connect", required=True)
parser.add_argument("--path", required=True)
parser.add_argument("--id", required=True)
parser.add_argument("--session-timeout", type=float, default=4.0)
args = parser.parse_args()


def report(event, **fields):
    line = {"ts": time.time() * 1000, "id": args.id, "event": event, "recipe": "kazoo"}
    line.update(fields)
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


stopping = threading.Event()
client = KazooClient(hosts=args.connect, timeout=args.session_timeout)
client.start(timeout=15)
election = client.Election(args.path, args.id)


def leave(_signum, _frame):
    stopping.set()
    election.cancel()


signal.signal(signal.SIGTERM, leave)
signal.signal(signal.SIGINT, leave)


def lead():
    node = election.lock.node
    stat = client.exists(args.path + "/" + node)
    report("elected", fencingToken=str(stat.czxid), node=node)
    stopping.wait()
    report("lost", reason="stopped")


report("started", path=args.path)
# run() returns when cancelled, or when lead() returns (then the lock is released).
while not stopping.is_set():
    election.run(lead)
client.stop()
client.close()
report("stopped")
