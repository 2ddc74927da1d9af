"""Signed notes and vkeys: Go's and C2SP's vectors, strict parsing, tampering."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashes.errors import NoteFormatError, NoteNotSigned, NoteSignatureInvalid
from hashes.transparency.note import (
    ALG_COSIGNATURE_V1,
    MAX_NOTE_BYTES,
    MAX_SIGNATURES,
    NoteSigner,
    key_id,
    open_note,
    parse_note,
    parse_vkey,
    sign_note,
)

V = json.loads((Path(__file__).parents[2] / "vectors" / "transparency" / "notes.json").read_text())
GO = V["go_note_test"]
PETER = parse_vkey(GO["peter_vkey"])
ENOCH = parse_vkey(GO["enoch_vkey"])
TEXT = GO["text"]


def _peter_signer() -> NoteSigner:
    skey = GO["signer_key"]
    assert skey.startswith("PRIVATE+KEY+PeterNeumann+c74f20a3+")
    raw = base64.b64decode(skey.split("+", 4)[4])
    assert raw[0] == 1
    return NoteSigner.from_seed("PeterNeumann", raw[1:])


def test_go_sign_vector() -> None:
    signer = _peter_signer()
    assert signer.verifier == PETER
    assert signer.verifier.vkey == GO["peter_vkey"]
    assert sign_note(TEXT, [signer]).decode() == TEXT + "\n" + GO["peter_sig"]


def test_go_open_vectors() -> None:
    both = (TEXT + "\n" + GO["peter_sig"] + GO["enoch_sig"]).encode()
    assert open_note(both, [PETER]).verified_by == (PETER,)
    assert open_note(both, [PETER, ENOCH]).verified_by == (PETER, ENOCH)
    assert open_note(both, [PETER]).text == TEXT
    with pytest.raises(NoteNotSigned):
        open_note(both, [])
    with pytest.raises(NoteFormatError):
        parse_note((TEXT + "\n" + GO["peter_sig"] * (MAX_SIGNATURES + 1)).encode())
    sig = GO["peter_sig"]
    with pytest.raises(NoteSignatureInvalid):
        open_note((TEXT + "\n" + sig[:60] + "ABCD" + sig[60:]).encode(), [PETER])


def test_go_bad_messages_are_malformed() -> None:
    sig = GO["peter_sig"]
    bad = [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + sig[:-1],
        "\x01" + TEXT + "\n" + sig,
        TEXT + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNX"
        "gKvqfqdngotpRZb6KE6RyyBwJnAM=",
        TEXT + "\n" + sig + "Unexpected line.\n",
    ]
    for text in bad:
        with pytest.raises(NoteFormatError):
            parse_note(text.encode())
    with pytest.raises(NoteFormatError):
        parse_note(b"\xff" + (TEXT + "\n" + sig).encode())


def test_a_key_with_the_right_name_but_wrong_id_is_ignored() -> None:
    wrong_id = GO["peter_sig"].replace("x08g", "xxxx")
    with pytest.raises(NoteNotSigned):
        open_note((TEXT + "\n" + wrong_id).encode(), [PETER])
    renamed = GO["peter_sig"].replace("PeterNeumann", "CarmenSandiego")
    with pytest.raises(NoteNotSigned):
        open_note((TEXT + "\n" + renamed).encode(), [PETER])


def test_go_vkey_manglings_are_refused() -> None:
    vkey = GO["peter_vkey"]
    for bad in GO["bad_vkeys"]:
        with pytest.raises(NoteFormatError):
            parse_vkey(bad)
    for i in range(len(vkey)):
        for j in range(i + 1, len(vkey) + 1):
            if (i, j) != (0, len(vkey)):
                with pytest.raises(NoteFormatError):
                    parse_vkey(vkey[i:j])
    for i in range(len(vkey)):
        mangled = vkey[:i] + chr(ord(vkey[i]) + 1) + vkey[i + 1 :]
        with pytest.raises(NoteFormatError):
            parse_vkey(mangled)


def test_c2sp_example() -> None:
    example = V["c2sp_signed_note_example"]
    verifier = parse_vkey(example["vkey"])
    assert verifier.key_id == 0x530D903A
    assert open_note(example["note"].encode(), [verifier]).text == "This is an example message.\n"


def test_key_id_is_the_spec_formula() -> None:
    import hashlib

    pub = PETER.public_key
    expected = hashlib.sha256(b"PeterNeumann\n\x01" + pub).digest()[:4]
    assert key_id("PeterNeumann", 1, pub) == int.from_bytes(expected, "big")
    assert key_id("PeterNeumann", ALG_COSIGNATURE_V1, pub) != PETER.key_id


@given(st.data())
def test_any_changed_byte_is_refused(data: st.DataObject) -> None:
    note = (TEXT + "\n" + GO["peter_sig"]).encode()
    i = data.draw(st.integers(0, len(note) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda b: b != note[i]))
    changed = note[:i] + bytes([value]) + note[i + 1 :]
    with pytest.raises((NoteFormatError, NoteSignatureInvalid, NoteNotSigned)):
        open_note(changed, [PETER])


def test_limits_and_strictness() -> None:
    sig = GO["peter_sig"]
    with pytest.raises(NoteFormatError):
        parse_note(b"a" * (MAX_NOTE_BYTES - 200) + b"\n" * 200 + b"\n" + sig.encode())
    with pytest.raises(NoteFormatError):  # non-canonical base64 (bad padding bits)
        parse_note((TEXT + "\n" + sig.replace("AM=", "AN=")).encode())
    with pytest.raises(NoteFormatError):  # two spaces
        parse_note((TEXT + "\n" + sig.replace(" x08", "  x08")).encode())
    with pytest.raises(NoteFormatError):  # a tab
        parse_note(("a\tb\n\n" + sig).encode())
    with pytest.raises(NoteFormatError):  # a CR
        parse_note((TEXT + "\n" + sig[:-1] + "\r\n").encode())
    # The text may contain empty lines; the last blank line separates signatures.
    signer = _peter_signer()
    note = sign_note("a\n\nb\n", [signer])
    assert open_note(note, [PETER]).text == "a\n\nb\n"
    with pytest.raises(NoteFormatError):
        sign_note("no newline", [signer])
    with pytest.raises(NoteFormatError):
        NoteSigner.from_seed("bad name", bytes(32))
    with pytest.raises(NoteFormatError):
        NoteSigner.from_seed("a+b", bytes(32))
    assert "PRIVATE" not in repr(signer)
    assert repr(signer.signing_key.encode()) not in repr(signer)


@given(st.binary(min_size=32, max_size=32), st.sampled_from([1, ALG_COSIGNATURE_V1]))
def test_vkeys_round_trip_for_any_key(seed: bytes, algorithm: int) -> None:
    # Base64 key material often contains "+", the vkey's separator.
    verifier = NoteSigner.from_seed("example.com/k", seed, algorithm).verifier
    assert parse_vkey(verifier.vkey) == verifier
