"""The transparency log of list versions: append, integrate, sign checkpoints, serve tiles.

:meth:`TransparencyLog.append` takes a signed list file, checks it (signed by enough of
the curators the service trusts, the successor of the version of that list logged
before), and in one transaction under the log row's lock: stores the leaf at the next
index, adds its hash to the tiles (a full tile's subtree hash moves up a level), computes
the new root from the tiles and stores a checkpoint signed by the log key. Appending the
same version again returns its index and changes nothing. The tiles and checkpoint are
exactly what c2sp.org/tlog-tiles serves; :meth:`publish` writes them as static files.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from hashes.errors import HashesError, TileFormatError
from hashes.lists import TrustPolicy, load_list
from hashes.lists.format import HashList
from hashes.transparency import (
    Checkpoint,
    ListProof,
    Note,
    NoteSigner,
    NoteVerifier,
    TilePath,
    TileReader,
    WitnessPolicy,
    consistency_proof,
    encode_entry_bundle,
    inclusion_proof,
    leaf_for_list,
    parse_checkpoint,
    parse_note,
    parse_tile_path,
    root_hash,
    sign_checkpoint,
    tile_path,
    tiles_for_size,
    verify_cosignatures,
)
from hashes.transparency.merkle import HASH_SIZE, hash_children, hash_leaf
from hashes.transparency.tiles import TILE_WIDTH
from report_service.errors import InvalidRequest, LogNotConfigured, LogRejected, NotFound
from report_service.transparency import store

__all__ = ["AppendResult", "TransparencyLog"]


@dataclass(frozen=True, slots=True)
class AppendResult:
    """Where a list version sits in the log, and the checkpoint that first included it."""

    index: int
    size: int
    created: bool
    checkpoint: bytes


def _tile_root(data: bytes) -> bytes:
    nodes = [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]
    while len(nodes) > 1:
        nodes = [hash_children(nodes[i], nodes[i + 1]) for i in range(0, len(nodes), 2)]
    return nodes[0]


class _Tiles:
    """The tiles touched by one transaction: read through from the database, written back
    on :meth:`flush`."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cache: dict[tuple[int, int], bytearray] = {}
        self.dirty: set[tuple[int, int]] = set()

    def get(self, level: int, index: int) -> bytearray:
        key = (level, index)
        if key not in self.cache:
            self.cache[key] = bytearray(store.tile(self.session, level, index) or b"")
        return self.cache[key]

    def add_leaf_hash(self, size: int, leaf_hash: bytes) -> None:
        """Append leaf number ``size`` (the tree had ``size`` leaves before)."""
        level, position, value = 0, size, leaf_hash
        while True:
            index, offset = divmod(position, TILE_WIDTH)
            data = self.get(level, index)
            if len(data) != offset * HASH_SIZE:
                raise RuntimeError(f"tile {level}/{index} is out of step with the log size")
            data += value
            self.dirty.add((level, index))
            if offset < TILE_WIDTH - 1:
                return
            value = _tile_root(bytes(data))
            level, position = level + 1, index

    def fetch(self, path: str) -> bytes:
        tile = parse_tile_path(path)
        if tile.level is None:
            raise TileFormatError("the tree is read from hash tiles, not entry bundles")
        return bytes(self.get(tile.level, tile.index)[: tile.width * HASH_SIZE])

    def flush(self) -> None:
        for level, index in sorted(self.dirty):
            store.put_tile(self.session, level, index, bytes(self.cache[(level, index)]))
        self.dirty.clear()


class TransparencyLog:
    """The service's log over the database; several processes may use it at once.

    ``signer`` is the log's Ed25519 note key (its name is the origin) or ``None`` for a
    read-only log (serving tiles and checkpoints needs no key).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        signer: NoteSigner | None,
        clock: Callable[[], int],
    ) -> None:
        self._sessions = sessions
        self._signer = signer
        self._clock = clock

    def _require_signer(self) -> NoteSigner:
        if self._signer is None:
            raise LogNotConfigured("the key file has no log key: run `frankly log init`")
        return self._signer

    def init(self) -> bytes:
        """Create the empty log and sign its first checkpoint; idempotent.

        Raises:
            LogNotConfigured: no log key.
            LogRejected: the database holds a log of another origin.
        """
        signer = self._require_signer()
        with self._sessions.begin() as session:
            row = store.lock_log(session)
            if row is not None:
                if row.origin != signer.name:
                    raise LogRejected(f"the database holds the log {row.origin!r}")
                return row.checkpoint.encode("utf-8")
            empty = Checkpoint(signer.name, 0, root_hash(0, _never))
            note = sign_checkpoint(empty, signer)
            store.create_log(session, signer.name, note.decode("utf-8"), self._clock())
            return note

    def append(self, list_bytes: bytes, policy: TrustPolicy) -> AppendResult:
        """Log one signed list version (see the module docstring).

        Raises:
            LogRejected: the list does not load under ``policy`` (bad or missing
                signatures, malformed), or is not the successor of the logged version.
            LogNotConfigured: no log key, or the log was never initialised.
        """
        return self.append_many([list_bytes], policy)[0]

    def append_many(self, lists: Sequence[bytes], policy: TrustPolicy) -> list[AppendResult]:
        """Log several list versions in order, in one transaction and one checkpoint."""
        signer = self._require_signer()
        parsed: list[HashList] = []
        for data in lists:
            try:
                parsed.append(load_list(data, policy))
            except HashesError as exc:
                raise LogRejected(f"the list cannot be logged: {exc}") from None
        with self._sessions.begin() as session:
            row = store.lock_log(session)
            if row is None or row.origin != signer.name:
                raise LogNotConfigured("no log in the database: run `frankly log init`")
            now = self._clock()
            tiles = _Tiles(session)
            size = row.size
            latest, logged = store.known_versions(
                session, {(h.header.list_id, h.header.version) for h in parsed}
            )
            results: list[tuple[int, bool]] = []
            new_rows: list[dict[str, object]] = []
            for hash_list in parsed:
                existing = _check_successor(hash_list, latest, logged)
                if existing is not None:
                    results.append((existing, False))
                    continue
                leaf = leaf_for_list(hash_list, now)
                entry = leaf.to_bytes()
                new_rows.append(
                    {
                        "idx": size,
                        "entry": entry,
                        "list_id": leaf.list_id,
                        "version": leaf.version,
                        "digest": leaf.digest,
                        "logged_at": now,
                    }
                )
                latest[leaf.list_id] = leaf.version
                logged[(leaf.list_id, leaf.version)] = (size, leaf.digest)
                tiles.add_leaf_hash(size, hash_leaf(entry))
                results.append((size, True))
                size += 1
            store.add_leaves(session, new_rows)
            if size != row.size:
                root = root_hash(size, TileReader(size, tiles.fetch))
                note = sign_checkpoint(Checkpoint(row.origin, size, root), signer)
                tiles.flush()
                row.size = size
                row.checkpoint = note.decode("utf-8")
                row.updated_at = now
            checkpoint = row.checkpoint.encode("utf-8")
            return [AppendResult(i, size, created, checkpoint) for i, created in results]

    def add_cosignatures(self, lines: bytes, witnesses: Sequence[NoteVerifier]) -> bytes:
        """Attach witness cosignature lines (an ``add-checkpoint`` response) to the current
        checkpoint, so that it is served cosigned. Each line must be by one of
        ``witnesses`` and verify over the current checkpoint; returns the new note.

        Raises:
            LogRejected: a line is malformed, by an unknown witness, or does not verify
                over the current checkpoint (the log may have grown since).
            NotFound: the log was never initialised.
        """
        try:
            signatures = parse_note(b"x\n\n" + lines).signatures
        except HashesError as exc:
            raise LogRejected(f"not cosignature lines: {exc}") from None
        with self._sessions.begin() as session:
            row = store.lock_log(session)
            if row is None:
                raise NotFound("no transparency log")
            note = parse_note(row.checkpoint.encode("utf-8"))
            checkpoint = parse_checkpoint(note.text)
            for line in signatures:
                witness = next((w for w in witnesses if w.matches(line)), None)
                if witness is None:
                    raise LogRejected(f"{line.name!r} is not a witness named here")
                try:
                    verify_cosignatures(
                        Note(note.text, (line,)), checkpoint, WitnessPolicy((witness,), 1)
                    )
                except HashesError as exc:
                    raise LogRejected(f"the cosignature by {line.name!r}: {exc}") from None
                note = note.with_signature(line)
            row.checkpoint = note.to_bytes().decode("utf-8")
            return note.to_bytes()

    # ------------------------------------------------------------------ reading

    def checkpoint(self) -> bytes:
        """The latest signed checkpoint note.

        Raises:
            NotFound: the log was never initialised.
        """
        with self._sessions() as session:
            row = store.read_log(session)
            if row is None:
                raise NotFound("no transparency log")
            return row.checkpoint.encode("utf-8")

    def size(self) -> int:
        """The current tree size (0 when not initialised)."""
        with self._sessions() as session:
            row = store.read_log(session)
            return 0 if row is None else row.size

    def read_tile(self, tile: TilePath) -> bytes:
        """A tile or entry bundle as served: full, or the first ``width`` of a partial.

        Raises:
            NotFound: not (yet) in the log.
        """
        with self._sessions() as session:
            row = store.read_log(session)
            size = 0 if row is None else row.size
            if tile.level is None:
                start = tile.index * TILE_WIDTH
                if start + tile.width > size:
                    raise NotFound("no such entry bundle")
                rows = store.leaves(session, start, start + tile.width)
                return encode_entry_bundle([bytes(r.entry) for r in rows])
            data = store.tile(session, tile.level, tile.index)
        if data is None or len(data) < tile.width * HASH_SIZE:
            raise NotFound("no such tile")
        if tile.is_full and len(data) != TILE_WIDTH * HASH_SIZE:
            raise NotFound("no such tile")
        return data[: tile.width * HASH_SIZE]

    def fetch(self, path: str) -> bytes:
        """Read a tile by its path (a :class:`TileReader` fetch function)."""
        return self.read_tile(parse_tile_path(path))

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """An inclusion proof for leaf ``index`` in the tree of ``size`` (read from tiles)."""
        return inclusion_proof(index, size, TileReader(size, self.fetch))

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """A consistency proof between two sizes (read from tiles)."""
        return consistency_proof(old_size, new_size, TileReader(new_size, self.fetch))

    def entry(self, index: int) -> bytes:
        """The leaf bytes at ``index``.

        Raises:
            NotFound: no such leaf.
        """
        with self._sessions() as session:
            rows = store.leaves(session, index, index + 1)
        if not rows:
            raise NotFound("no such leaf")
        return bytes(rows[0].entry)

    def find(self, list_id: str, version: int) -> int:
        """The index of a logged list version.

        Raises:
            NotFound: not logged.
        """
        with self._sessions() as session:
            row = store.leaf_by_version(session, list_id, version)
        if row is None:
            raise NotFound("that list version is not in the log")
        return row.idx

    def list_proof(self, list_id: str, version: int, from_size: int | None) -> ListProof:
        """The proof document for one logged list version in the current checkpoint, with a
        consistency proof from ``from_size`` (the size of the device's trusted checkpoint).

        Raises:
            NotFound: no log, or that version is not logged.
            InvalidRequest: ``from_size`` is larger than the log (422 proof_out_of_range).
        """
        note = self.checkpoint()
        size = parse_checkpoint(parse_note(note).text).size
        index = self.find(list_id, version)
        if from_size is not None and not 0 <= from_size <= size:
            raise InvalidRequest(
                f"from_size {from_size} is not in 0..{size}", code="proof_out_of_range", status=422
            )
        if index >= size:  # appended after this checkpoint was read
            raise NotFound("that list version is not in the log yet")
        return ListProof(
            checkpoint=note,
            index=index,
            leaf=self.entry(index),
            inclusion_proof=tuple(self.inclusion_proof(index, size)),
            consistency_from=from_size,
            consistency_proof=()
            if from_size is None
            else tuple(self.consistency_proof(from_size, size)),
        )

    def publish(self, out: Path) -> int:
        """Write the checkpoint, every tile and entry bundle of the current tree under
        ``out`` (the tlog-tiles layout), for any static web server or CDN; returns the
        number of files written. Files are written to a temporary name and renamed, the
        checkpoint last, so a reader never sees a checkpoint whose tiles are missing."""
        note = self.checkpoint()
        size = parse_checkpoint(parse_note(note).text).size
        written = 0
        paths: list[TilePath] = list(tiles_for_size(size))
        full_bundles, rest = divmod(size, TILE_WIDTH)
        paths += [TilePath(None, i) for i in range(full_bundles)]
        if rest:
            paths.append(TilePath(None, full_bundles, rest))
        for tile in paths:
            target = out / tile_path(tile.level, tile.index, tile.width)
            if tile.is_full and target.exists():
                continue  # full tiles and bundles never change
            _write_atomic(target, self.read_tile(tile))
            written += 1
        _write_atomic(out / "checkpoint", note)
        return written + 1


def _check_successor(
    hash_list: HashList,
    latest: dict[str, int],
    logged: dict[tuple[str, int], tuple[int, bytes]],
) -> int | None:
    """``None`` when ``hash_list`` may be appended; its index when that exact version is
    logged already.

    Raises:
        LogRejected: another list under a logged version, a version that does not follow
            the newest logged one, or one that does not name its digest as previous.
    """
    header = hash_list.header
    same = logged.get((header.list_id, header.version))
    if same is not None:
        if hmac.compare_digest(same[1], hash_list.digest):
            return same[0]
        raise LogRejected(f"another list is logged as {header.list_id!r} version {header.version}")
    newest = latest.get(header.list_id)
    if newest is None:
        return None
    if header.version != newest + 1:
        raise LogRejected(
            f"{header.list_id!r} version {header.version} does not follow the logged "
            f"version {newest}"
        )
    previous = logged[(header.list_id, newest)][1]
    if header.previous_digest is None or not hmac.compare_digest(header.previous_digest, previous):
        raise LogRejected(
            f"{header.list_id!r} version {header.version} does not chain to the logged "
            f"version {newest}"
        )
    return None


def _write_atomic(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def _never(level: int, index: int) -> bytes:
    raise AssertionError("the empty tree reads no node")  # pragma: no cover
