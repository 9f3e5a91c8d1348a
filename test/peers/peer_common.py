"""What the mixed-fleet peer programs share: their flags, their JSON lines, their session,
leaving on SIGTERM/SIGINT, and ending a term when the connection is suspended or lost."""
import argparse
import json
import signal
import sys
import threading
import time

from kazoo.client import KazooClient, KazooState


class Peer:
    """Parses --connect, --path, --id, --session-timeout (and --tls with --ca, --cert, --key
    for the servers' secureClientPort); starts a kazoo client; `stopping` is
    set (and `on_leave` called) on SIGTERM or SIGINT; `on_connection` is called with every
    state but CONNECTED, on kazoo's connection thread."""

    def __init__(self, recipe, on_leave=lambda: None, on_connection=lambda state: None):
        parser = argparse.ArgumentParser()
        parser.add_argument("--connect", required=True)
        parser.add_argument("--path", required=True)
        parser.add_argument("--id", required=True)
        parser.add_argument("--session-timeout", type=float, default=4.0)
        parser.add_argument("--tls", action="store_true")
        parser.add_argument("--ca")
        parser.add_argument("--cert")
        parser.add_argument("--key")
        self.args = parser.parse_args()
        self.recipe = recipe
        self.stopping = threading.Event()
        # Set when a term must end: SIGTERM/SIGINT, or the connection suspended or lost.
        self._term_over = threading.Event()
        self._why = "stopped"
        self._on_connection = on_connection
        # Lines come from the main thread and kazoo's connection thread.
        self._writing = threading.Lock()
        tls = {}
        if self.args.tls:
            tls = dict(use_ssl=True, ca=self.args.ca, certfile=self.args.cert, keyfile=self.args.key)
        self.client = KazooClient(hosts=self.args.connect, timeout=self.args.session_timeout, **tls)
        self.client.start(timeout=15)
        self.client.add_listener(self._connection_changed)

        def leave(_signum, _frame):
            self.stopping.set()
            self._term_over.set()
            on_leave()

        signal.signal(signal.SIGTERM, leave)
        signal.signal(signal.SIGINT, leave)

    def _connection_changed(self, state):
        # Runs on kazoo's connection thread: never block it. kazoo's recipes do not end a
        # leader's term on their own (its docs: "watch for LOST and SUSPENDED state changes
        # and re-act appropriately"). SUSPENDED already ends it: by the time the client hears
        # LOST, the server may have expired the session and elected another for a while.
        if state != KazooState.CONNECTED:
            self.report("connection", state=state)
            self._why = "connection " + state.lower()
            self._term_over.set()
            self._on_connection(state)
        return False

    def session(self):
        """This client's session id right now (a new one after LOST)."""
        return self.client.client_id and self.client.client_id[0]

    def hold(self, session):
        """Leads until the term is over, and says why: "stopped", or the connection's state.
        `session` is the session the term belongs to: once it is gone, so is the term."""
        self._term_over.clear()
        if not self.stopping.is_set():
            # A suspension or loss between being elected and the clear above was seen by the
            # listener already: look at the connection itself too.
            if self.client.state != KazooState.CONNECTED:
                return "connection " + self.client.state.lower()
            if self.session() != session:
                return "connection lost"
            self._term_over.wait()
        return "stopped" if self.stopping.is_set() else self._why

    def report(self, event, **fields):
        """One JSON line per change: ts (wall-clock ms), id, event, recipe and the fields."""
        line = {"ts": time.time() * 1000, "id": self.args.id, "event": event, "recipe": self.recipe}
        line.update(fields)
        with self._writing:
            sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()

    def close(self):
        # Closing reports LOST to the listeners: not a change worth a line.
        self.client.remove_listener(self._connection_changed)
        self.client.stop()
        self.client.close()
        self.report("stopped")
