"""Asking a witness to cosign the log's current checkpoint over HTTP (c2sp.org/tlog-witness
``add-checkpoint``), the log operator's side.

The log sends its checkpoint with a consistency proof from the size the witness last
cosigned. It starts from ``old_size`` (0 when unknown); a 409 answer names the witness's
size, and the request is sent once more from there. A witness that has cosigned a tree
*larger* than the log's is a red flag (the log was rolled back, or forked) and is
reported, never papered over. The network goes through ``post``, so tests run a real
witness on a local socket.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hashes.transparency import NoteVerifier, parse_checkpoint, parse_note
from hashes.transparency.witness import AddCheckpoint, encode_add_checkpoint
from report_service.errors import LogRejected
from report_service.transparency.service import TransparencyLog

# (url, body) -> (status, content type, body)
Post = Callable[[str, bytes], tuple[int, str, bytes]]

MAX_ANSWER_BYTES = 64 * 1024


def httpx_post(timeout_s: float = 10.0) -> Post:
    """A :data:`Post` over httpx."""
    import httpx

    def post(url: str, body: bytes) -> tuple[int, str, bytes]:
        response = httpx.post(url, content=body, timeout=timeout_s)
        return response.status_code, response.headers.get("content-type", ""), response.content

    return post


def request_cosignature(
    log: TransparencyLog,
    witness_url: str,
    witnesses: Sequence[NoteVerifier],
    post: Post,
    old_size: int = 0,
) -> bytes:
    """Send the current checkpoint to one witness and attach its cosignature(s); returns
    the checkpoint note as now served.

    Raises:
        LogRejected: the witness refused (its status and reason in the message), has
            cosigned a larger tree than the log's, or answered lines that do not verify.
    """
    note = log.checkpoint()
    size = parse_checkpoint(parse_note(note).text).size
    url = witness_url.rstrip("/") + "/add-checkpoint"
    for _ in range(2):
        if old_size > size:
            raise LogRejected(
                f"the witness has cosigned {old_size} leaves, the log has {size}: "
                "the log was rolled back or forked"
            )
        proof = log.consistency_proof(old_size, size) if 0 < old_size < size else []
        body = encode_add_checkpoint(AddCheckpoint(old_size, tuple(proof), note))
        status, content_type, answer = post(url, body)
        answer = answer[:MAX_ANSWER_BYTES]
        if status == 200:
            return log.add_cosignatures(answer, witnesses)
        if status == 409 and content_type.split(";")[0].strip() == "text/x.tlog.size":
            text = answer.decode("ascii", "replace").strip()
            if not text.isdigit() or len(text) > 20:
                raise LogRejected("the witness answered 409 without a tree size")
            old_size = int(text)
            continue
        reason = answer.decode("utf-8", "replace").strip()[:200]
        raise LogRejected(f"the witness refused ({status}): {reason}")
    raise LogRejected("the witness keeps answering 409")
