"""One kazoo client over TLS and/or SASL DIGEST-MD5, for the TLS and SASL server tests: connects,
optionally creates a node (with an ACL) and reads a node, and prints one JSON line with what
happened, kazoo's connection warnings included (why a connection failed)."""
import argparse
import json
import logging
import os
import threading

from kazoo.client import KazooClient
from kazoo.security import make_acl


class Warnings(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--connect", required=True)
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--ca")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--sasl-user")
    parser.add_argument("--sasl-password")
    parser.add_argument("--create", help="a path to create with data b'tls-sasl'")
    parser.add_argument("--acl", help="scheme:id of the created node's only ACL entry (all permissions)")
    parser.add_argument("--get", help="a path to read")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds to connect")
    args = parser.parse_args()

    warnings = Warnings()
    logging.getLogger("kazoo").addHandler(warnings)
    logging.getLogger("kazoo").setLevel(logging.WARNING)
    options = {}
    if args.tls:
        options.update(use_ssl=True, ca=args.ca, certfile=args.cert, keyfile=args.key)
    if args.sasl_user:
        options["sasl_options"] = {"mechanism": "DIGEST-MD5", "username": args.sasl_user, "password": args.sasl_password}
    client = KazooClient(hosts=args.connect, timeout=4, connection_retry={"max_tries": 1}, **options)
    result = {"stage": "connect"}

    def finish():
        result["warnings"] = warnings.lines
        print(json.dumps(result), flush=True)

    def thread_died(failure):
        # kazoo 2.8 has no class for err -124 (a request without the required SASL login): its
        # connection thread dies with "Invalid error code" and the caller would wait forever.
        result.update(ok=False, error=failure.exc_type.__name__, message=str(failure.exc_value), thread=True)
        finish()
        os._exit(0)

    threading.excepthook = thread_died
    try:
        client.start(timeout=args.timeout)
        # kazoo says CONNECTED before its SASL exchange: one request shows whether the login held.
        client.exists("/")
        if args.create:
            result["stage"] = "create"
            acl = None
            if args.acl:
                scheme, _, ident = args.acl.partition(":")
                acl = [make_acl(scheme, ident, all=True)]
            client.create(args.create, b"tls-sasl", acl=acl)
            result["acl"] = [[entry.id.scheme, entry.id.id] for entry in client.get_acls(args.create)[0]]
        if args.get:
            result["stage"] = "get"
            result["data"] = client.get(args.get)[0].decode()
        result["ok"] = True
    except Exception as error:  # the test asserts on the class name and the warnings
        result.update(ok=False, error=type(error).__name__, message=str(error))
    finally:
        try:
            client.stop()
            client.close()
        except Exception:
            pass
    finish()


if __name__ == "__main__":
    main()
