"""Import and export the plain forms used by PDQ tools and industry hash exchanges.

Two text forms, both UTF-8:

* hex per line: one hash as hex digits per line (either case), as written by the
  reference PDQ tools and most hash exchanges. Blank lines and lines starting with ``#``
  are skipped; nothing else may appear on a line.
* CSV: ``hash,category[,id]`` per row, with an optional header row whose first field is
  ``hash``. The id column may be missing or empty for any row.

Readers return :class:`ImportedEntries`, the columns :func:`~hashes.lists.build_list`
takes; writers take a :class:`~hashes.lists.HashList`. Every error names the line.
"""

from __future__ import annotations

import csv
import io
import string
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hashes.errors import ListFormatError
from hashes.lists.format import HashList
from hashes.values import Algorithm

__all__ = ["ImportedEntries", "read_csv", "read_hex_lines", "write_csv", "write_hex_lines"]

_HEX = frozenset(string.hexdigits)


@dataclass(frozen=True, eq=False)
class ImportedEntries:
    """Columns read from a text form, ready for :func:`~hashes.lists.build_list`.

    ``categories`` is the table of distinct names in order of first appearance;
    ``entry_categories`` indexes it; ``entry_ids`` is ``None`` when the source had no ids.
    """

    algorithm: Algorithm
    hashes: npt.NDArray[np.uint8]
    categories: tuple[str, ...]
    entry_categories: npt.NDArray[np.uint16]
    entry_ids: list[str | None] | None

    def __len__(self) -> int:
        return int(self.hashes.shape[0])


def _parse_hex(token: str, algorithm: Algorithm, line: int) -> bytes:
    digits = algorithm.bits // 4
    if len(token) != digits or not _HEX.issuperset(token):
        raise ListFormatError(
            f"line {line}: expected a {algorithm.value} hash of {digits} hex digits, "
            f"got {token[:80]!r}"
        )
    return bytes.fromhex(token)


def read_hex_lines(text: str, algorithm: Algorithm, category: str) -> ImportedEntries:
    """Read the hex-per-line form; every hash gets ``category``.

    Raises:
        ListFormatError: a line is not exactly one hash of ``algorithm`` (the error names
            the line), or ``category`` is empty.
    """
    if not category:
        raise ListFormatError("the category must not be empty")
    digests = []
    for number, raw in enumerate(text.splitlines(), start=1):
        token = raw.strip()
        if not token or token.startswith("#"):
            continue
        digests.append(_parse_hex(token, algorithm, number))
    n = len(digests)
    rows = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(n, algorithm.bits // 8)
    return ImportedEntries(
        algorithm=algorithm,
        hashes=rows,
        categories=(category,),
        entry_categories=np.zeros(n, dtype=np.uint16),
        entry_ids=None,
    )


def read_csv(text: str, algorithm: Algorithm) -> ImportedEntries:
    """Read ``hash,category[,id]`` rows (an optional ``hash,...`` header row is skipped).

    Raises:
        ListFormatError: a row has fewer than two or more than three fields, a bad hash,
            an empty category, or more than 65,535 distinct categories (the error names
            the line).
    """
    digests: list[bytes] = []
    cats: list[int] = []
    ids: list[str | None] = []
    any_id = False
    table: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text))
    for row in reader:
        line = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        fields = [f.strip() for f in row]
        if not digests and fields[0].lower() == "hash":
            continue
        if fields[0].startswith("#"):
            continue
        if not 2 <= len(fields) <= 3:
            raise ListFormatError(f"line {line}: expected hash,category[,id]")
        digests.append(_parse_hex(fields[0], algorithm, line))
        name = fields[1]
        if not name:
            raise ListFormatError(f"line {line}: empty category")
        if name not in table:
            if len(table) == 65535:
                raise ListFormatError(f"line {line}: more than 65535 categories")
            table[name] = len(table)
        cats.append(table[name])
        entry_id = fields[2] if len(fields) == 3 and fields[2] else None
        any_id = any_id or entry_id is not None
        ids.append(entry_id)
    n = len(digests)
    rows = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(n, algorithm.bits // 8)
    return ImportedEntries(
        algorithm=algorithm,
        hashes=rows,
        categories=tuple(table),
        entry_categories=np.array(cats, dtype=np.uint16),
        entry_ids=ids if any_id else None,
    )


def write_hex_lines(hash_list: HashList) -> str:
    """The hashes of ``hash_list`` as lowercase hex, one per line, in list order."""
    nbytes = hash_list.header.bits // 8
    blob = np.ascontiguousarray(hash_list.hashes).tobytes().hex()
    step = nbytes * 2
    return "".join(blob[i : i + step] + "\n" for i in range(0, len(blob), step))


def write_csv(hash_list: HashList) -> str:
    """``hash,category[,id]`` rows with a header, in list order (id only if the list has ids)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    with_ids = hash_list.has_entry_ids
    writer.writerow(["hash", "category", "id"] if with_ids else ["hash", "category"])
    names = hash_list.header.categories
    for i, (row, cat) in enumerate(zip(hash_list.hashes, hash_list.categories, strict=True)):
        fields = [row.tobytes().hex(), names[int(cat)]]
        if with_ids:
            fields.append(hash_list.entry_id(i) or "")
        writer.writerow(fields)
    return out.getvalue()
