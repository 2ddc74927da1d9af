"""``frankly demo``: the main job, shown in the terminal.

The full demo (``report_service.demo``) starts the service on SQLite and walks a message
from alice to bob through the relay, a device scan, a report and the review item. The
franking walk-through below shows the protocol alone, with no service: a message franked,
stamped, delivered, opened and verified, and tampered copies rejected with their codes.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from client_scan.errors import FrankingError
from client_scan.franking import (
    FrankedMessage,
    FrankingKey,
    Keyring,
    commit,
    encode_payload,
    new_franking_key,
    open_envelope,
    seal_envelope_random,
    stamp,
    verify_commitment,
    verify_message_for,
)


def run_demo(args: argparse.Namespace) -> int:
    """Run the full demo, or only the franking walk-through with ``--franking``."""
    if getattr(args, "franking", False):
        return franking_walkthrough(Console())
    from report_service.demo import run

    data = Path(args.data) if args.data else None
    return run(data)


def franking_walkthrough(console: Console) -> int:
    """Frank, stamp, deliver, open and verify one message; reject tampered copies."""
    now_ms = int(time.time() * 1000)
    ring = Keyring((FrankingKey("k-demo", os.urandom(32), now_ms - 1000),), "k-demo")
    session_key = os.urandom(32)  # stands in for alice and bob's E2EE session

    console.rule("[bold]Frankly: franking protocol v1")
    payload = encode_payload("meet me after school, or else")
    fk = new_franking_key()
    c = commit(fk, payload.raw)
    ciphertext = seal_envelope_random(session_key, fk, payload.raw, c)
    console.print(f"1. alice commits to her message: c = {c.hex()[:32]}…")
    console.print(f"   and encrypts fk || P with c as associated data ({len(ciphertext)} bytes)")

    t = now_ms
    st = stamp(ring, c, "alice", "bob", "conv-demo", t)
    console.print(f"2. the relay sees only (ciphertext, c); it stamps st = {st.tag.hex()[:32]}…")
    console.print("   over (c, alice, bob, conv-demo, t, kid) and stores nothing")

    got_fk, got_payload = open_envelope(session_key, ciphertext, c)
    verify_commitment(got_fk, got_payload, c)
    record = FrankedMessage(
        got_payload, got_fk, c, st.tag, st.key_id, "alice", "bob", "conv-demo", t
    )
    console.print("3. bob decrypts, recomputes c and keeps the franked record")

    opened = verify_message_for(record, "bob", ring, now_ms)
    console.print(f"4. bob reports it; the platform verifies: alice sent [bold]{opened.body!r}[/]")

    table = Table(title="5. tampered copies the platform refuses")
    table.add_column("what was changed")
    table.add_column("error code", style="bold red")
    forged_payload = encode_payload("have a nice day", payload_id=opened.id).raw
    tampered = {
        "the message text (bob rewrites it)": dataclasses.replace(record, payload=forged_payload),
        "the sender (bob blames carol)": dataclasses.replace(record, sender_id="carol"),
        "the time": dataclasses.replace(record, timestamp_ms=t - 1),
        "one bit of the stamp": dataclasses.replace(
            record, stamp=bytes([record.stamp[0] ^ 1]) + record.stamp[1:]
        ),
        "the key id": dataclasses.replace(record, key_id="k-old"),
    }
    for what, message in tampered.items():
        try:
            verify_message_for(message, "bob", ring, now_ms)
        except FrankingError as exc:
            table.add_row(what, exc.code)
        else:
            console.print(f"[red]BUG: tampering with {what} went unnoticed[/]")
            return 1
    console.print(table)
    console.print("The platform learned nothing about the message until bob chose to report it.")
    return 0
