"""``frankly list``: build, sign, verify, inspect, diff, export and match against hash lists.

A thin adapter over :mod:`hashes.lists` and :mod:`hashes.matching`: it reads files, the
clock (for ``issued_at``) and the random source (for ``keygen``), and prints results.
Exit status: 0 on success, 1 when a list is refused or an input is bad, and for
``match`` the ``grep`` convention: 0 if any image matched, 1 if none did, 2 on error.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import nacl.signing

    from hashes.lists import HashList, TrustedState, TrustPolicy
    from hashes.lists.format import VideoEntries
    from hashes.values import Algorithm

KEY_FILE_HEADER = "frankly-list-signing-key-v1"
DEFAULT_THRESHOLDS = {"pdq": 31, "phash": 10, "dhash": 10, "sha256": 0, "md5": 0}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".3gp", ".mkv", ".webm", ".avi", ".ts", ".flv", ".ogv"}


class CliError(Exception):
    """A problem with the command's inputs, reported on stderr without a traceback."""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``frankly list ...`` to the ``frankly`` parser."""
    parser = subparsers.add_parser(
        "list", help="build, sign, verify and match against signed hash lists"
    )
    sub = parser.add_subparsers(dest="list_command", metavar="ACTION", required=True)

    keygen = sub.add_parser("keygen", help="write a new Ed25519 curator signing key (0600)")
    keygen.add_argument("key_file", type=Path, help="where to write the signing key")
    keygen.add_argument("--force", action="store_true", help="overwrite an existing file")
    keygen.set_defaults(func=_run(_keygen))

    build = sub.add_parser("build", help="build an unsigned list from hash files, images or videos")
    build.add_argument("out", type=Path, help="the list file to write")
    build.add_argument(
        "--list-id", metavar="ID", help="the list's id (default: that of --previous)"
    )
    build.add_argument(
        "--version", type=int, metavar="N", help="version (default: --previous + 1, or 1)"
    )
    build.add_argument(
        "--previous",
        type=Path,
        metavar="LIST_FILE",
        help="the previous version's file, to chain to its digest; its entries are NOT "
        "carried forward (export them with `list export` and pass them with --csv)",
    )
    build.add_argument(
        "--algorithm",
        default="pdq",
        metavar="NAME",
        help="pdq (default), phash, dhash, sha256 or md5",
    )
    build.add_argument(
        "--threshold",
        type=int,
        metavar="BITS",
        help="match threshold in bits (default: per algorithm)",
    )
    build.add_argument(
        "--category", default=None, metavar="NAME", help="category for --hex and --images entries"
    )
    build.add_argument(
        "--hex", type=Path, action="append", default=[], metavar="FILE", help="hex-per-line file"
    )
    build.add_argument(
        "--csv",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="CSV file of hash,category[,id] rows",
    )
    build.add_argument(
        "--images",
        type=Path,
        action="append",
        default=[],
        metavar="PATH",
        help="an image or a folder of them",
    )
    build.add_argument(
        "--videos",
        type=Path,
        action="append",
        default=[],
        metavar="PATH",
        help="a video or a folder of them: vPDQ video entries (id: the file name) in "
        "--category, beside the image entries",
    )
    build.add_argument(
        "--vpdq",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="a vpdq hash file (frame_number,quality,pdq_hex,timestamp lines, as "
        "ThreatExchange's vpdq writes): one video entry in --category, id the file name",
    )
    build.add_argument(
        "--issued-at-ms",
        type=int,
        metavar="MS",
        help="time of issue, ms since the epoch (default: now)",
    )
    _add_expiry_arguments(build)
    build.add_argument(
        "--augment",
        action="store_true",
        help="with --images: also list the hashes of standard crops and rotations of each "
        "image under its entry id (hashes.augment.STANDARD_EDITS)",
    )
    build.set_defaults(func=_run(_build))

    sign = sub.add_parser("sign", help="add a curator signature to a list")
    sign.add_argument("list_file", type=Path, help="the list to sign")
    sign.add_argument(
        "--key", type=Path, required=True, metavar="KEY_FILE", help="signing key file from keygen"
    )
    sign.add_argument(
        "--out", type=Path, metavar="FILE", help="output file (default: sign in place)"
    )
    _add_expiry_arguments(sign)
    sign.set_defaults(func=_run(_sign))

    verify = sub.add_parser("verify", help="check a list's signatures against trusted keys")
    verify.add_argument("list_file", type=Path, help="the list file")
    _add_trust_arguments(verify)
    verify.add_argument(
        "--require-expiry",
        action="store_true",
        help="refuse a list that carries no expiry (an expired list is always refused)",
    )
    verify.set_defaults(func=_run(_verify))

    info = sub.add_parser("info", help="show a list's header (signatures NOT verified)")
    info.add_argument("list_file", type=Path, help="the list file")
    info.set_defaults(func=_run(_info))

    diff = sub.add_parser("diff", help="entries added and removed between two versions")
    diff.add_argument("old", type=Path, help="the older version")
    diff.add_argument("new", type=Path, help="the newer version")
    diff.set_defaults(func=_run(_diff))

    export = sub.add_parser("export", help="write a list as hex-per-line or CSV")
    export.add_argument("list_file", type=Path, help="the list to export")
    export.add_argument(
        "--format",
        choices=["hex", "csv", "vpdq"],
        default="csv",
        help="hex per line, CSV (default): the image entries; vpdq: one vpdq hash file per "
        "video entry, into the folder --out",
    )
    export.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="output file (default: stdout); with --format vpdq a folder (needed)",
    )
    export.set_defaults(func=_run(_export))

    inter = sub.add_parser(
        "intersect",
        help="keep the entries listed by curators of at least K distinct jurisdictions",
    )
    inter.add_argument("sources", type=Path, nargs="+", metavar="LIST", help="signed source lists")
    inter.add_argument(
        "--curators",
        type=Path,
        required=True,
        metavar="FILE",
        help="curator keys file: one 'PUBKEY_B64 JURISDICTION [name]' per line",
    )
    inter.add_argument(
        "--min-sources",
        type=int,
        metavar="K",
        help="distinct jurisdictions that must list an entry (with --verify: checked "
        "against the manifest)",
    )
    inter.add_argument("--out", type=Path, metavar="FILE", help="the unsigned result to write")
    inter.add_argument(
        "--verify",
        type=Path,
        metavar="RESULT",
        help="instead of building, re-check RESULT against the source lists",
    )
    inter.add_argument("--list-id", metavar="ID", help="the result's list id")
    inter.add_argument(
        "--version", type=int, default=1, metavar="N", help="the result's version (default 1)"
    )
    inter.add_argument(
        "--previous", type=Path, metavar="FILE", help="the result's previous version, to chain"
    )
    inter.add_argument(
        "--issued-at-ms", type=int, metavar="MS", help="time of issue (default: now)"
    )
    inter.add_argument(
        "--threshold", type=int, metavar="BITS", help="match threshold (default by algorithm)"
    )
    _add_expiry_arguments(inter)
    inter.set_defaults(func=_run(_intersect))

    match = sub.add_parser(
        "match", help="hash images or videos and match them against a signed list"
    )
    match.add_argument(
        "images",
        type=Path,
        nargs="+",
        metavar="FILE",
        help="images or videos to match (a folder: its images)",
    )
    match.add_argument(
        "--list",
        dest="list_file",
        type=Path,
        required=True,
        metavar="LIST_FILE",
        help="the signed list to match against",
    )
    _add_trust_arguments(match)
    match.add_argument(
        "--distance", type=int, metavar="BITS", help="override the list's match threshold"
    )
    match.set_defaults(func=_run(_match, error_status=2))


def _add_trust_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trust",
        action="append",
        required=True,
        metavar="PUBKEY_B64",
        help="a trusted curator public key, base64 (repeat for several)",
    )
    parser.add_argument(
        "--threshold",
        type=int,
        default=1,
        metavar="K",
        help="how many trusted curators must sign (default 1)",
    )
    parser.add_argument(
        "--trusted",
        type=Path,
        metavar="LIST_FILE",
        help="the list version you already trust (refuses rollbacks)",
    )


def _add_expiry_arguments(parser: argparse.ArgumentParser) -> None:
    when = parser.add_mutually_exclusive_group()
    when.add_argument(
        "--expires-in",
        type=float,
        metavar="DAYS",
        help="holders refuse this version DAYS after its time of issue (signed; "
        "docs/lists.md, Expiry)",
    )
    when.add_argument(
        "--expires-at",
        type=int,
        metavar="MS",
        help="holders refuse this version from this time on, ms since the epoch (signed)",
    )


def _expiry(args: argparse.Namespace, issued_at_ms: int) -> int | None:
    if args.expires_at is not None:
        return int(args.expires_at)
    if args.expires_in is not None:
        if not args.expires_in > 0:
            raise CliError("--expires-in must be a positive number of days")
        return issued_at_ms + round(float(args.expires_in) * 86_400_000)
    return None


Handler = Callable[[argparse.Namespace], int]


def _run(handler: Handler, error_status: int = 1) -> Handler:
    """Wrap a handler so expected errors print one line on stderr and set the status."""

    def wrapped(args: argparse.Namespace) -> int:
        from hashes.errors import HashesError

        try:
            status = handler(args)
        except HashesError as exc:
            print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
            return error_status
        except BrokenPipeError:
            raise  # the reader went away: frankly.cli.main stops quietly
        except (CliError, OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return error_status
        return status

    return wrapped


def _keygen(args: argparse.Namespace) -> int:
    import nacl.signing

    key = nacl.signing.SigningKey.generate()
    path: Path = args.key_file
    if args.force and path.exists():
        path.unlink()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CliError(f"{path} exists; pass --force to replace it") from None
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(f"{KEY_FILE_HEADER}\n{base64.b64encode(bytes(key)).decode()}\n")
    print(base64.b64encode(bytes(key.verify_key)).decode())
    return 0


def _read_signing_key(path: Path) -> nacl.signing.SigningKey:
    import nacl.signing

    not_a_key = CliError(
        f"{path} is not a frankly list signing key file (one made by `frankly list keygen`)"
    )
    data = path.read_bytes()
    if len(data) > 1024:
        raise not_a_key
    try:
        lines = data.decode("ascii").split()
    except UnicodeDecodeError:
        raise not_a_key from None
    if len(lines) != 2 or lines[0] != KEY_FILE_HEADER:
        raise not_a_key
    try:
        seed = base64.b64decode(lines[1], validate=True)
    except binascii.Error:
        raise not_a_key from None
    if len(seed) != 32:
        raise not_a_key
    return nacl.signing.SigningKey(seed)


def _public_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise CliError(f"--trust {text[:60]!r} is not base64") from None
    if len(key) != 32:
        raise CliError(f"--trust {text[:60]!r} is not a 32-byte Ed25519 public key")
    return key


def _policy(args: argparse.Namespace) -> TrustPolicy:
    from hashes.lists import TrustPolicy

    keys = {t: _public_key(t) for t in args.trust}
    return TrustPolicy(curator_keys=keys, threshold=args.threshold)


def _trusted(args: argparse.Namespace) -> TrustedState | None:
    from hashes.lists import parse_list, trusted_state

    if args.trusted is None:
        return None
    held, _ = parse_list(args.trusted.read_bytes())
    return trusted_state(held)


def _algorithm(name: str) -> Algorithm:
    from hashes.errors import HashFormatError
    from hashes.values import Algorithm

    try:
        return Algorithm.parse(name)
    except HashFormatError as exc:
        raise CliError(str(exc)) from None


def _image_files(paths: Sequence[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
        else:
            yield path


def _hash_images(paths: Sequence[Path], algorithm: Algorithm) -> list[tuple[Path, bytes]]:
    from hashes.compute import hash_image

    out = []
    files = list(_image_files(paths))
    if not files:
        shown = ", ".join(str(p) for p in paths)
        raise CliError(
            f"no images found in {shown} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})"
        )
    for path in files:
        result = hash_image(path.read_bytes(), [algorithm])
        out.append((path, result.hashes[algorithm].digest))
    return out


def _augmented_images(paths: Sequence[Path], algorithm: Algorithm) -> list[tuple[str, bytes]]:
    """(entry id, digest) of each image and of its standard edits, under the image's name."""
    from hashes.augment import augmented_hashes

    if not algorithm.perceptual:
        raise CliError("--augment needs a perceptual algorithm (pdq, phash, dhash)")
    out = []
    for path in _image_files(paths):
        for _, value in augmented_hashes(path.read_bytes(), algorithm):
            out.append((path.name, value.digest))
    return out


def _video_files(paths: Sequence[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES
            )
        else:
            yield path


def _video_entries(args: argparse.Namespace) -> VideoEntries | None:
    """The video entries from ``--videos`` (hashed here, default limits) and ``--vpdq``
    files, all in category index 0 (remapped by the caller), or None if none given."""
    from hashes.errors import HashesError
    from hashes.lists.format import build_video_entries
    from hashes.video import VideoHash, hash_video

    if not args.videos and not args.vpdq:
        return None
    hashed: list[tuple[str, VideoHash]] = []
    files = list(_video_files(args.videos))
    if args.videos and not files:
        shown = ", ".join(str(p) for p in args.videos)
        raise CliError(
            f"no videos found in {shown} (looked for {', '.join(sorted(VIDEO_SUFFIXES))})"
        )
    for path in files:
        try:
            hashed.append((path.name, hash_video(path.read_bytes())))
        except HashesError as exc:
            raise CliError(f"{path}: {type(exc).__name__}: {exc}") from None
    for path in args.vpdq:
        try:
            hashed.append((path.name, VideoHash.from_vpdq(path.read_text(encoding="utf-8"))))
        except HashesError as exc:
            raise CliError(f"{path}: {exc}") from None
    return build_video_entries(
        [v for _, v in hashed], [0] * len(hashed), [name for name, _ in hashed]
    )


def _recategorise(videos: VideoEntries, index: int) -> VideoEntries:
    import dataclasses

    import numpy as np

    column = np.full(len(videos), index, dtype=np.uint16)
    column.flags.writeable = False
    return dataclasses.replace(videos, categories=column)


def _build(args: argparse.Namespace) -> int:
    import numpy as np

    from hashes.lists import build_list, parse_list
    from hashes.lists.interop import read_csv, read_hex_lines

    algorithm = _algorithm(args.algorithm)
    previous = parse_list(args.previous.read_bytes())[0] if args.previous else None
    list_id = args.list_id or (previous.header.list_id if previous else None)
    if not list_id:
        raise CliError("give --list-id (or --previous to continue a list)")
    version = args.version or (previous.header.version + 1 if previous else 1)
    if (args.hex or args.images or args.videos or args.vpdq) and not args.category:
        raise CliError("--hex, --images, --videos and --vpdq need --category")
    threshold = args.threshold
    if threshold is None:
        threshold = DEFAULT_THRESHOLDS[algorithm.value]

    names: list[str] = []
    rows: list[Any] = []
    cats: list[Any] = []
    ids: list[str | None] = []
    any_ids = False

    def add(hashes: Any, local_names: Sequence[str], local_cats: Any, local_ids: Any) -> None:
        nonlocal any_ids
        remap = []
        for name in local_names:
            if name not in names:
                names.append(name)
            remap.append(names.index(name))
        rows.append(hashes)
        cats.append(np.asarray(remap, dtype=np.int64)[np.asarray(local_cats, dtype=np.int64)])
        ids.extend(local_ids if local_ids is not None else [None] * len(hashes))
        any_ids = any_ids or local_ids is not None

    for path in args.hex:
        got = read_hex_lines(path.read_text(encoding="utf-8"), algorithm, args.category)
        add(got.hashes, got.categories, got.entry_categories, None)
    for path in args.csv:
        got = read_csv(path.read_text(encoding="utf-8"), algorithm)
        add(got.hashes, got.categories, got.entry_categories, got.entry_ids)
    if args.augment and not args.images:
        raise CliError("--augment needs --images")
    if args.images and args.augment:
        augmented = _augmented_images(args.images, algorithm)
        nbytes = algorithm.bits // 8
        blob = b"".join(d for _, d in augmented)
        arr = np.frombuffer(blob, dtype=np.uint8).reshape(-1, nbytes)
        zeros = np.zeros(len(augmented), dtype=np.int64)
        add(arr, [args.category], zeros, [n for n, _ in augmented])
    elif args.images:
        hashed = _hash_images(args.images, algorithm)
        nbytes = algorithm.bits // 8
        arr = np.frombuffer(b"".join(d for _, d in hashed), dtype=np.uint8).reshape(-1, nbytes)
        add(
            arr, [args.category], np.zeros(len(hashed), dtype=np.int64), [p.name for p, _ in hashed]
        )
    videos = _video_entries(args)
    if videos is not None:
        if args.category not in names:
            names.append(args.category)
        videos = _recategorise(videos, names.index(args.category))
    if not rows and videos is None:
        raise CliError("nothing to build from: give --hex, --csv, --images, --videos or --vpdq")
    if sum(len(r) for r in rows) == 0 and (videos is None or not len(videos)):
        raise CliError("the inputs hold no entries: refusing to build an empty list")
    if not rows:
        rows.append(np.zeros((0, algorithm.bits // 8), dtype=np.uint8))
        cats.append(np.zeros(0, dtype=np.int64))

    issued = args.issued_at_ms if args.issued_at_ms is not None else int(time.time() * 1000)
    hash_list = build_list(
        list_id=list_id,
        version=version,
        issued_at_ms=issued,
        algorithm=algorithm,
        threshold=threshold,
        categories=names,
        hashes=np.concatenate(rows),
        entry_categories=np.concatenate(cats),
        entry_ids=ids if any_ids else None,
        previous_digest=previous.digest if previous else None,
        videos=videos,
        expires_at_ms=_expiry(args, issued),
    )
    args.out.write_bytes(hash_list.to_bytes())
    with_videos = f" and {len(videos)} vPDQ video entries" if videos is not None else ""
    print(
        f"built {list_id} v{version}: {len(hash_list)} {algorithm.value} entries{with_videos}, "
        f"digest {hash_list.digest.hex()} (unsigned; run 'frankly list sign')"
    )
    if previous is not None:
        print(
            f"note: a version holds only the entries given; none of the {len(previous)} "
            f"entries of v{previous.header.version} were carried forward (to keep them, "
            "`frankly list export` it to CSV and pass that file with --csv)"
        )
    return 0


def _sign(args: argparse.Namespace) -> int:
    from hashes.lists import add_signature, parse_list
    from hashes.lists.format import with_expiry

    key = _read_signing_key(args.key)
    data = args.list_file.read_bytes()
    if args.expires_in is not None or args.expires_at is not None:
        unsigned, stored = parse_list(data)
        if unsigned.signatures:
            raise CliError(
                "the list is signed already: an expiry changes the digest, so set it before "
                "the first signature (or with `list build --expires-in`)"
            )
        if stored != unsigned.digest:
            raise CliError("the list body does not match its recorded digest (altered)")
        data = with_expiry(unsigned, _expiry(args, unsigned.header.issued_at_ms)).to_bytes()
    signed = add_signature(data, key)
    out: Path = args.out or args.list_file
    out.write_bytes(signed)
    count = len(parse_list(signed)[0].signatures)
    public = base64.b64encode(bytes(key.verify_key)).decode()
    print(f"signed {out} with {public} ({count} signature(s))")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from hashes.lists import check_fresh, load_list

    hash_list = load_list(args.list_file.read_bytes(), _policy(args), _trusted(args))
    check_fresh(hash_list, int(time.time() * 1000), require_expiry=args.require_expiry)
    header = hash_list.header
    print(
        f"OK {header.list_id} v{header.version}: {header.count} {header.algorithm.value} "
        f"entries, digest {hash_list.digest.hex()}"
    )
    return 0


def _read_curators(path: Path) -> dict[bytes, str]:
    """``PUBKEY_B64 JURISDICTION [name]`` per line (``#`` comments) -> key -> jurisdiction."""
    out: dict[bytes, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) < 2:
            raise CliError(f"{path}:{n}: expected 'PUBKEY_B64 JURISDICTION [name]'")
        key = _public_key(words[0])
        if key in out:
            raise CliError(f"{path}:{n}: the same key twice")
        out[key] = words[1]
    if not out:
        raise CliError(f"{path} names no curator")
    return out


def _source(path: Path, curators: dict[bytes, str]) -> Any:
    """A verified source list and its one declared jurisdiction."""
    from hashes.errors import ListDigestMismatch
    from hashes.lists import parse_list
    from hashes.lists.intersect import Source
    from hashes.lists.signing import verify_signature

    hash_list, stored = parse_list(path.read_bytes())
    if stored != hash_list.digest:
        raise ListDigestMismatch(f"{path}: the body does not match its digest")
    found = set()
    for sig in hash_list.signatures:
        verify_signature(sig, hash_list.digest)
        if sig.public_key in curators:
            found.add(curators[sig.public_key])
    if len(found) != 1:
        raise CliError(
            f"{path}: signed by curators of {len(found)} declared jurisdictions; "
            "a source needs exactly one"
        )
    return Source(hash_list, found.pop())


def _intersect(args: argparse.Namespace) -> int:
    from hashes.lists import parse_list
    from hashes.lists.intersect import intersect_lists, read_manifest, verify_intersection

    curators = _read_curators(args.curators)
    sources = [_source(p, curators) for p in args.sources]
    if args.verify is not None:
        result, stored = parse_list(args.verify.read_bytes())
        if stored != result.digest:
            raise CliError(f"{args.verify}: the body does not match its digest (altered)")
        k = read_manifest(result).get("min_jurisdictions")
        if args.min_sources is not None and args.min_sources != k:
            raise CliError(f"the manifest says {k} jurisdictions, not {args.min_sources}")
        verify_intersection(result, sources)
        print(
            f"OK {result.header.list_id} v{result.header.version}: {len(result)} entries, "
            f"each listed in {k} or more jurisdictions of the {len(sources)} sources"
        )
        return 0
    if args.out is None or args.min_sources is None or not args.list_id:
        raise CliError("building needs --out, --min-sources and --list-id (or give --verify)")
    previous = parse_list(args.previous.read_bytes())[0] if args.previous else None
    issued = args.issued_at_ms if args.issued_at_ms is not None else int(time.time() * 1000)
    algorithm = sources[0].hash_list.header.algorithm
    threshold = args.threshold
    if threshold is None:
        threshold = DEFAULT_THRESHOLDS[algorithm.value]
    result = intersect_lists(
        sources,
        args.min_sources,
        list_id=args.list_id,
        version=args.version,
        issued_at_ms=issued,
        threshold=threshold,
        expires_at_ms=_expiry(args, issued),
        previous_digest=previous.digest if previous else None,
    )
    if not len(result):
        raise CliError("no entry is listed in that many jurisdictions: nothing written")
    args.out.write_bytes(result.to_bytes())
    jurisdictions = sorted({s.jurisdiction for s in sources})
    print(
        f"built {args.list_id} v{args.version}: {len(result)} entries listed in at least "
        f"{args.min_sources} of {len(jurisdictions)} jurisdictions ({', '.join(jurisdictions)}), "
        f"digest {result.digest.hex()} (unsigned; the manifest of the {len(sources)} "
        "sources is in its signed header)"
    )
    return 0


def _describe(hash_list: HashList) -> list[str]:
    import numpy as np

    h = hash_list.header
    counts = np.bincount(hash_list.categories.astype(np.int64), minlength=len(h.categories))
    issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(h.issued_at_ms / 1000))
    lines = [
        f"list_id:         {h.list_id}",
        f"version:         {h.version}",
        f"issued_at:       {issued} ({h.issued_at_ms} ms)",
        f"algorithm:       {h.algorithm.value} ({h.bits} bits)",
        f"threshold:       {h.threshold}",
        f"entries:         {h.count}" + (" (with ids)" if hash_list.has_entry_ids else ""),
        f"digest:          {hash_list.digest.hex()}",
        f"previous_digest: {h.previous_digest.hex() if h.previous_digest else '-'}",
        f"expires_at:      {_time_text(h.expires_at_ms) if h.expires_at_ms else '- (never)'}",
        f"manifest:        {h.manifest.decode('utf-8') if h.manifest else '-'}",
        "categories:",
    ]
    lines += [f"  {name}: {int(n)}" for name, n in zip(h.categories, counts, strict=False)]
    videos = hash_list.videos
    if videos is not None:
        per = np.bincount(videos.categories.astype(np.int64), minlength=len(h.categories))
        lines += [
            f"videos:          {len(videos)} vPDQ ({int(videos.frames.shape[0])} frames; "
            f"match: distance <= {videos.distance_threshold}, quality >= "
            f"{videos.quality_threshold}, query {videos.query_match_percent} %, "
            f"compared {videos.compared_match_percent} %)",
            *(f"  {name}: {int(n)}" for name, n in zip(h.categories, per, strict=False) if n),
        ]
    return lines


def _time_text(ms: int) -> str:
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000)) + f" ({ms} ms)"
    except (OverflowError, OSError, ValueError):
        return f"{ms} ms"


def _info(args: argparse.Namespace) -> int:
    from hashes.lists import parse_list

    hash_list, stored = parse_list(args.list_file.read_bytes())
    lines = _describe(hash_list)
    if stored != hash_list.digest:
        lines.append("WARNING: the body does not match the digest in the trailer (altered)")
    lines.append(f"signatures ({len(hash_list.signatures)}, NOT verified; use 'verify'):")
    lines += [f"  {base64.b64encode(s.public_key).decode()}" for s in hash_list.signatures]
    print("\n".join(lines))
    return 0


def _diff(args: argparse.Namespace) -> int:
    from hashes.lists import parse_list
    from hashes.lists.diff import diff_lists

    old = parse_list(args.old.read_bytes())[0]
    new = parse_list(args.new.read_bytes())[0]
    d = diff_lists(old, new)
    print(
        f"{old.header.list_id} v{old.header.version} -> {new.header.list_id} "
        f"v{new.header.version}: {d.added.size} added, {d.removed.size} removed"
    )
    for sign, hl, positions in (("-", old, d.removed), ("+", new, d.added)):
        for i in positions.tolist():
            entry_id = hl.entry_id(i)
            suffix = f",{entry_id}" if entry_id else ""
            print(f"{sign} {hl.hashes[i].tobytes().hex()},{hl.category(i)}{suffix}")
    # Video entries: the same (frames, category, file digest) in both is unchanged.
    old_videos, new_videos = _video_keys(old), _video_keys(new)
    for sign, hl, mine, theirs in (
        ("-", old, old_videos, new_videos),
        ("+", new, new_videos, old_videos),
    ):
        for i, key in enumerate(mine):
            if key in theirs or hl.videos is None:
                continue
            frames = key[0].count("\n")
            entry_id = hl.videos.entry_id(i)
            suffix = f",{entry_id}" if entry_id else ""
            print(f"{sign} video sha256:{key[2]} ({frames} frames),{key[1]}{suffix}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from hashes.lists import parse_list
    from hashes.lists.interop import write_csv, write_hex_lines

    hash_list = parse_list(args.list_file.read_bytes())[0]
    if args.format == "vpdq":
        return _export_vpdq(hash_list, args.out)
    text = write_hex_lines(hash_list) if args.format == "hex" else write_csv(hash_list)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _export_vpdq(hash_list: HashList, folder: Path | None) -> int:
    """One ``NNNNNN-<id>.vpdq`` file per video entry (category in the listing printed)."""
    import re

    if folder is None:
        raise CliError("--format vpdq writes one file per video: give the folder with --out")
    videos = hash_list.videos
    if videos is None or not len(videos):
        raise CliError("the list holds no video entries")
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(len(videos)):
        entry_id = videos.entry_id(i) or ""
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", entry_id)[:100]
        path = folder / (f"{i:06d}-{safe}.vpdq" if safe else f"{i:06d}.vpdq")
        path.write_text(videos.video(i).to_vpdq(), encoding="utf-8")
        category = hash_list.header.categories[int(videos.categories[i])]
        print(f"{path}: {category}" + (f" {entry_id}" if entry_id else ""))
    return 0


def _video_keys(hash_list: HashList) -> list[tuple[str, str, str]]:
    """(vpdq text, category, file SHA-256 hex) per video entry: what a diff compares."""
    videos = hash_list.videos
    if videos is None:
        return []
    return [
        (
            videos.video(i).to_vpdq(),
            hash_list.header.categories[int(videos.categories[i])],
            videos.sha256[i].tobytes().hex(),
        )
        for i in range(len(videos))
    ]


def _match(args: argparse.Namespace) -> int:
    from hashes.compute import hash_image
    from hashes.lists import load_list
    from hashes.matching import Matcher
    from hashes.video import hash_video, looks_like_video
    from hashes.video.listmatch import VideoListMatcher

    hash_list = load_list(args.list_file.read_bytes(), _policy(args), _trusted(args))
    matcher = Matcher(hash_list)
    algorithm = hash_list.header.algorithm
    any_match = False
    videos = VideoListMatcher(hash_list)
    for path in _image_files(args.images):
        data = path.read_bytes()
        if looks_like_video(data):
            found = videos.match(hash_video(data))
            any_match = any_match or bool(found)
            if not found:
                print(f"{path}: no match")
            for v in found:
                entry = f" entry {v.entry_id}" if v.entry_id else ""
                how = (
                    "same file"
                    if v.exact
                    else f"vpdq query {v.query_match_percent:.1f} % "
                    f"compared {v.compared_match_percent:.1f} %"
                )
                print(
                    f"{path}: MATCH {v.list_id} v{v.list_version} category {v.category} "
                    f"video {how}{entry}"
                )
            continue
        # The same query variants as the device scanner: mirrors, rotations, trimmed border.
        result = hash_image(data, [algorithm], variants=True)
        named = [(n, h[algorithm]) for n, h in (result.variants or {}).items() if algorithm in h]
        matches = matcher.match_variants(named or [("original", result[algorithm])], args.distance)
        any_match = any_match or bool(matches)
        if not matches:
            print(f"{path}: no match")
        for m in matches:
            entry = f" entry {m.entry_id}" if m.entry_id else ""
            variant = f" variant {m.variant}" if m.variant != "original" else ""
            print(
                f"{path}: MATCH {m.list_id} v{m.list_version} category {m.category} "
                f"distance {m.distance}{entry}{variant}"
            )
    return 0 if any_match else 1
