"""The public surface of the franking core is deliberate: adding or removing a name is a
change to review, so this test lists it."""

from __future__ import annotations

import client_scan.franking as franking


def test_public_names_are_pinned() -> None:
    assert sorted(franking.__all__) == sorted(
        [
            "COMMIT_LABEL",
            "FRANKING_KEY_BYTES",
            "MAX_PAYLOAD_BYTES",
            "STAMP_LABEL",
            "AttachmentRef",
            "FrankedMessage",
            "FrankingKey",
            "Keyring",
            "Payload",
            "Stamp",
            "VerifiedMessage",
            "VerifiedReport",
            "check_stamp",
            "check_stamp_tag",
            "commit",
            "compute_stamp",
            "encode_payload",
            "lp",
            "mac",
            "mac_input",
            "new_franking_key",
            "open_envelope",
            "parse_payload",
            "seal_envelope",
            "seal_envelope_random",
            "stamp",
            "stamp_input",
            "u64",
            "verify_commitment",
            "verify_message_for",
            "verify_report",
            "verify_stamp",
        ]
    )
    for name in franking.__all__:
        assert getattr(franking, name) is not None
