"""Graceful failover with kazoo's Election: the leader's function returns (its lock node is
deleted) and we time until the other participant's function starts. Prints a JSON array of
milliseconds, one per round. Usage: kazoo_failover.py <connect> <path> <rounds>"""
import json
import sys
import threading
import time

from kazoo.client import KazooClient

connect, path, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
started = threading.Condition()
leaders = []  # (name, start time) in order of leadership
releases = {}  # name -> Event that ends its current term
stopping = threading.Event()


def participant(name):
    client = KazooClient(hosts=connect, timeout=10.0)
    client.start()
    election = client.Election(path, name)

    def lead():
        release = threading.Event()
        with started:
            releases[name] = release
            leaders.append((name, time.perf_counter()))
            started.notify_all()
        release.wait()

    while not stopping.is_set():
        election.run(lead)
    client.stop()
    client.close()


threads = [threading.Thread(target=participant, args=(name,), daemon=True) for name in ("a", "b")]
for thread in threads:
    thread.start()

latencies = []
with started:
    started.wait_for(lambda: len(leaders) >= 1, timeout=30)
time.sleep(0.5)  # both queued
for _ in range(rounds):
    with started:
        count = len(leaders)
        name, _ = leaders[-1]
    time.sleep(0.05)  # the former leader has re-queued behind
    released_at = time.perf_counter()
    releases[name].set()
    with started:
        started.wait_for(lambda: len(leaders) > count, timeout=30)
        latencies.append((leaders[count][1] - released_at) * 1000)
stopping.set()
with started:
    name, _ = leaders[-1]
releases[name].set()
print(json.dumps(latencies))
