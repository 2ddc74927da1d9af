"""The whole client flow against a running Frankly service, as an app would embed it.

Start a service in an empty folder and make two users::

    frankly keys init
    frankly users add alice      # prints alice's token
    frankly users add bob        # prints bob's token
    frankly serve --host 127.0.0.1 --port 8000

then run::

    python examples/client_flow.py --url http://127.0.0.1:8000 \\
        --alice-token <alice's token> --bob-token <bob's token>

Alice sends Bob a franked message with a picture; Bob's client verifies the message and
the picture, scans the picture on the device against a signed hash list (entirely
offline), and Bob reports the message with the picture and the device's match hint. The
report is sealed to the service's pinned key, goes through the outbox, and Bob asks for
its status. Exit status 0 when every step worked.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx


def main(argv: list[str] | None = None, *, transport: httpx.BaseTransport | None = None) -> int:
    """Run the flow; ``transport`` replaces the network (tests pass the app's transport)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="service base URL")
    parser.add_argument("--alice-token", required=True, help="alice's bearer token")
    parser.add_argument("--bob-token", required=True, help="bob's bearer token")
    parser.add_argument("--alice", default="alice", help="alice's user id (alice)")
    parser.add_argument("--bob", default="bob", help="bob's user id (bob)")
    parser.add_argument("--data", type=Path, help="client state folder (default: temporary)")
    from frankly.cli import join_dash_values

    # a token may start with "-": read "--alice-token -abc" as "--alice-token=-abc"
    tokens = frozenset({"--alice-token", "--bob-token"})
    args = parser.parse_args(join_dash_values(sys.argv[1:] if argv is None else argv, tokens))

    import nacl.signing

    from client_scan.client import FranklyClient
    from client_scan.messaging import Attachment
    from client_scan.report_format import Reason
    from client_scan.scanner import Scanner
    from hashes.lists import TrustPolicy, build_list, sign_list
    from hashes.values import Algorithm, HashValue

    data = args.data or Path(tempfile.mkdtemp(prefix="frankly-client-"))
    # A stand-in for the E2EE session both phones share (the reference envelope).
    session_key = os.urandom(32)
    conversation = f"demo-{int(time.time())}"
    picture = b"\x89PNG\r\n\x1a\n" + os.urandom(64)  # any bytes: the list is SHA-256

    alice = FranklyClient(
        user_id=args.alice,
        base_url=args.url,
        token=args.alice_token,
        data_dir=data / "alice",
        transport=transport,
    )
    bob = FranklyClient(
        user_id=args.bob,
        base_url=args.url,
        token=args.bob_token,
        data_dir=data / "bob",
        transport=transport,
    )
    with alice, bob:
        # 1. Send: frank, seal with c as associated data, relay; alice keeps her copy.
        alice.send(session_key, args.bob, conversation, "hi Bob")
        sent = alice.send(
            session_key,
            args.bob,
            conversation,
            "look at this",
            [Attachment(picture, "image/png", id="pic-1")],
        )
        print(f"alice sent {sent.id} (stamp key {sent.message.key_id})")

        # 2. Receive: open, check the commitment, keep the franked record.
        result = bob.receive(lambda delivery: session_key)
        for record in result.accepted:
            print(f"bob received {record.id}: {record.payload.body!r}")
        if result.rejected or len(result.accepted) != 2:
            print("unexpected inbox", result, file=sys.stderr)
            return 1
        # A record id names one stamped message: the same on both phones.
        reported = next(r for r in result.accepted if r.id == sent.id)

        # 3. The attachment arrives on its own channel: its SHA-256 must match the payload.
        ref = bob.accept_attachment(reported.id, "pic-1", picture)
        print(f"bob verified attachment {ref.id} sha256 {ref.sha256[:16]}…")

        # 4. Scan on the device against a signed list (here a throwaway curator's list).
        curator = nacl.signing.SigningKey.generate()
        list_bytes = sign_list(
            build_list(
                list_id="demo-list",
                version=1,
                issued_at_ms=int(time.time() * 1000),
                algorithm=Algorithm.SHA256,
                threshold=0,
                categories=["harassment"],
                hashes=[HashValue(Algorithm.SHA256, hashlib.sha256(picture).digest())],
                entry_categories=[0],
            ),
            curator,
        )
        scanner = Scanner(TrustPolicy({"demo-curator": bytes(curator.verify_key)}))
        scanner.load_list(list_bytes)
        scan = scanner.scan(picture)
        print(f"on-device scan: {len(scan.matches)} match(es), low quality: {scan.low_quality}")

        # 5. Report: sealed to the pinned service key, through the outbox.
        entry = bob.report(
            [reported.id],
            Reason.HARASSMENT,
            comment="unwanted pictures",
            include_attachments=[ref.sha256],
            device_matches=scan.hints(),
        )
        print(f"report {entry.report_id}: {entry.status}")
        if entry.status != "sent":
            print("the service is unreachable: the report waits in the outbox")
            return 1

        # 6. Outcome.
        status = bob.report_status(entry.report_id)
        print(f"status: {status.status}, outcome: {status.outcome}")
    print(f"client state kept in {data}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
