"""What the mixed-fleet peer programs share: their flags, their JSON lines, their session, and
leaving on SIGTERM/SIGINT."""
import argparse
import json
import signal
import sys
import threading
import time

from kazoo.client import KazooClient


class Peer:
    """Parses --connect, --path, --id, --session-timeout; starts a kazoo client; `stopping` is
    set (and `on_leave` called) on SIGTERM or SIGINT."""

    def __init__(self, recipe, on_leave=lambda: None):
        parser = argparse.ArgumentParser()
        parser.add_argument("--connect", required=True)
        parser.add_argument("--path", required=True)
        parser.add_argument("--id", required=True)
        parser.add_argument("--session-timeout", type=float, default=4.0)
        self.args = parser.parse_args()
        self.recipe = recipe
        self.stopping = threading.Event()
        self.client = KazooClient(hosts=self.args.connect, timeout=self.args.session_timeout)
        self.client.start(timeout=15)

        def leave(_signum, _frame):
            self.stopping.set()
            on_leave()

        signal.signal(signal.SIGTERM, leave)
        signal.signal(signal.SIGINT, leave)

    def report(self, event, **fields):
        """One JSON line per change: ts (wall-clock ms), id, event, recipe and the fields."""
        line = {"ts": time.time() * 1000, "id": self.args.id, "event": event, "recipe": self.recipe}
        line.update(fields)
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()

    def close(self):
        self.client.stop()
        self.client.close()
        self.report("stopped")
