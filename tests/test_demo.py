from __future__ import annotations

import io

from rich.console import Console

from frankly.demo import franking_walkthrough


def test_franking_walkthrough_verifies_and_rejects_tampering() -> None:
    out = io.StringIO()
    assert franking_walkthrough(Console(file=out, width=120)) == 0
    text = out.getvalue()
    assert "alice sent 'meet me after school, or else'" in text
    for code in ("commitment_mismatch", "stamp_invalid", "unknown_key"):
        assert code in text
    assert "BUG" not in text
