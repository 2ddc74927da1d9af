"""Post pending statements to the Transparency Database in batches, with retries.

One :meth:`Submitter.run_once` pass: claim up to :data:`~.vocabulary.MAX_BATCH` due
statements (:func:`~.store.claim_batch`), ``POST {endpoint}/statements`` with
``{"statements": [...]}`` and the bearer token (API documentation, "Creating Multiple
Statements"), record each outcome, and repeat until nothing is due. The answers:

=======================  ===============================================================
``201``                  every statement was created (``uuid`` per PUID)
``422`` + ``statement_N``  those statements fail validation: ``rejected`` (a fix to the
                         mapping is needed); the rest were not created and go again now
``422`` + ``existing_puids``  those PUIDs are already in the database (a repeat after a
                         crash or a lost answer): ``submitted``; the rest go again now
``401`` / ``403``        the token is refused: nothing changes, the pass stops
``429``, ``5xx``, network  the batch is retried later with exponential backoff
=======================  ===============================================================

The token is never logged or put in an error message.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from report_service.errors import ServiceError
from report_service.escalation.dsa import store
from report_service.escalation.dsa.vocabulary import MAX_BATCH

log = logging.getLogger(__name__)

BASE_BACKOFF_MS = 30_000
MAX_BACKOFF_MS = 6 * 60 * 60 * 1000
LEASE_MS = 5 * 60 * 1000


class SubmissionRefused(ServiceError):
    """The database refused the token (401/403): fix the configuration."""


def backoff_ms(attempts: int) -> int:
    """The wait before attempt ``attempts + 1``: 30 s doubling, at most 6 hours."""
    return int(min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** min(attempts, 20)))


@dataclass
class PassResult:
    """What one pass did."""

    submitted: int = 0
    rejected: int = 0
    retrying: int = 0
    batches: int = 0
    errors: list[str] = field(default_factory=list)


class Submitter:
    """Submits statements to ``endpoint`` (the API base, e.g.
    ``https://transparency.dsa.ec.europa.eu/api/v1``) with ``token``."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        endpoint: str,
        token: str,
        clock: Callable[[], int],
        *,
        batch_size: int = MAX_BATCH,
        client: httpx.Client | None = None,
        owner: str | None = None,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch size must be 1..{MAX_BATCH}")
        self._sessions = sessions
        self._url = endpoint.rstrip("/") + "/statements"
        self._token = token
        self._clock = clock
        self._batch = batch_size
        self._client = client or httpx.Client(timeout=30)
        self._owner = owner or f"{socket.gethostname()[:40]}-{id(self):x}"[:64]

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    def run_once(self, max_batches: int = 1000) -> PassResult:
        """Submit every due statement (at most ``max_batches`` batches).

        Raises:
            SubmissionRefused: the token was refused (nothing was marked).
        """
        result = PassResult()
        for _ in range(max_batches):
            now = self._clock()
            with self._sessions.begin() as session:
                rows = store.claim_batch(session, self._owner, now, LEASE_MS, self._batch)
                batch = [(r.id, r.puid, json.loads(r.payload)) for r in rows]
            if not batch:
                break
            result.batches += 1
            if not self._send(batch, result):
                break
        return result

    def _send(self, batch: list[tuple[int, str, dict[str, Any]]], result: PassResult) -> bool:
        """Post one batch and record it; ``False`` to end the pass."""
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        body = {"statements": [payload for _, _, payload in batch]}
        try:
            resp = self._client.post(self._url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            self._retry_all(batch, f"network: {type(exc).__name__}", result)
            return False
        if resp.status_code in (401, 403):
            self._release(batch)
            raise SubmissionRefused(
                f"the Transparency Database refused the token (HTTP {resp.status_code})"
            )
        if resp.status_code == 201:
            uuids = _uuids(resp)
            self._record(batch, result, done={p: uuids.get(p) for _, p, _ in batch})
            return True
        if resp.status_code == 422:
            errors = _json(resp).get("errors")
            if isinstance(errors, dict):
                existing = errors.get("existing_puids")
                ours = {p for _, p, _ in batch}
                if isinstance(existing, list) and ours & {str(p) for p in existing}:
                    done: dict[str, str | None] = {str(p): None for p in existing if p in ours}
                    self._record(batch, result, done=done, again=True)
                    return True
                bad = {
                    int(k.removeprefix("statement_")): v
                    for k, v in errors.items()
                    if k.startswith("statement_") and k.removeprefix("statement_").isdigit()
                }
                rejected = {
                    batch[i][1]: json.dumps(v)[:400] for i, v in bad.items() if i < len(batch)
                }
                if rejected:  # otherwise an answer naming none of ours: retried later
                    self._record(batch, result, rejected=rejected, again=True)
                    return True
            self._retry_all(batch, f"HTTP 422: {resp.text[:200]}", result)
            return False
        self._retry_all(batch, f"HTTP {resp.status_code}", result)
        return False

    def _record(
        self,
        batch: list[tuple[int, str, dict[str, Any]]],
        result: PassResult,
        *,
        done: dict[str, str | None] | None = None,
        rejected: dict[str, str] | None = None,
        again: bool = False,
    ) -> None:
        done = done or {}
        rejected = rejected or {}
        now = self._clock()
        with self._sessions.begin() as session:
            rows = store.held(session, [i for i, _, _ in batch], self._owner)
            for _, puid, _ in batch:
                row = next((r for r in rows.values() if r.puid == puid), None)
                if row is None:  # our lease ran out and another submitter has it
                    continue
                if puid in done:
                    store.mark_submitted(row, now, done[puid])
                    result.submitted += 1
                elif puid in rejected:
                    store.mark_rejected(row, rejected[puid])
                    result.rejected += 1
                    log.warning("dsa statement %s rejected: %s", puid, rejected[puid])
                elif again:  # not created because another one failed: send again now
                    row.lease_owner = None
                    row.lease_until = None
                else:
                    store.mark_retry(row, now + backoff_ms(row.attempts), "not in answer")
                    result.retrying += 1

    def _retry_all(
        self, batch: list[tuple[int, str, dict[str, Any]]], error: str, result: PassResult
    ) -> None:
        now = self._clock()
        result.errors.append(error)
        log.warning("dsa submission failed: %s", error)
        with self._sessions.begin() as session:
            for row in store.held(session, [i for i, _, _ in batch], self._owner).values():
                store.mark_retry(row, now + backoff_ms(row.attempts), error)
                result.retrying += 1

    def _release(self, batch: list[tuple[int, str, dict[str, Any]]]) -> None:
        with self._sessions.begin() as session:
            for row in store.held(session, [i for i, _, _ in batch], self._owner).values():
                row.lease_owner = None
                row.lease_until = None


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        doc = resp.json()
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _uuids(resp: httpx.Response) -> dict[str, str]:
    out: dict[str, str] = {}
    statements = _json(resp).get("statements")
    if isinstance(statements, list):
        for s in statements:
            if isinstance(s, dict) and isinstance(s.get("puid"), str):
                out[s["puid"]] = str(s.get("uuid", ""))[:64] or ""
    return out
