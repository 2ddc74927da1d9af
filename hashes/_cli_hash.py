"""``frankly hash PATH...``: hash image and video files and folders, one line of output
per file.

A video (recognised by its container's magic bytes: MP4/MOV, Matroska/WebM, AVI, MPEG-TS,
FLV, Ogg) gets its vPDQ hash (one frame a second: ``frame_number,quality,pdq_hex,
timestamp`` lines, as ThreatExchange's vpdq writes them), MD5 and SHA-256, duration, frame
rate and size, hashed in the same sandbox under :class:`hashes.video.VideoLimits` and
``--video-timeout``.

Output goes to stdout as JSON lines (default) or CSV; each bad file is reported on stderr
(``frankly hash: PATH: ErrorName: message``) and skipped, and the exit status is 1 if any
file failed or there was nothing to hash, 0 otherwise. Folders are walked recursively in
sorted order. Every picture is hashed in a :class:`hashes.sandbox.HashSandbox` worker
process (``--workers`` of them, the output kept in input order) under the default
decode budget and a ``--timeout``, so a hostile file in a folder costs its own worker at
most that long and is reported like any bad file (``DecodeTimeout``,
``DecodeMemoryExceeded``, ``TooManyScans``...).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from hashes.values import Algorithm

if TYPE_CHECKING:
    from hashes.sandbox import HashSandbox

PROGRESS_MIN_FILES = 20
"""With ``--progress auto``, a bar is drawn only on a terminal and for more files than this."""

_FIELDS = ("path", "format", "width", "height", "frames", "pdq_quality", "low_quality")
_VIDEO_FIELDS = ("media", "duration_s", "fps", "vpdq")


@dataclass(frozen=True, slots=True)
class _Outcome:
    path: str
    row: dict[str, object] | None
    error: str | None


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``hash`` subcommand to the ``frankly`` parser."""
    parser = subparsers.add_parser(
        "hash",
        help="hash image and video files or folders (PDQ, pHash, dHash, vPDQ, SHA-256, MD5)",
        description="Hash image and video files, or every file under the given folders. "
        "Writes one JSON object (or CSV row) per file to stdout; bad files are reported on "
        "stderr and skipped, and the exit status is 1 if any failed or none was found.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image or video files, or folders")
    parser.add_argument(
        "--format",
        choices=("jsonl", "csv"),
        default="jsonl",
        help="output format (default: jsonl; hashes in JSON carry their algorithm "
        "prefix, CSV columns hold plain hex)",
    )
    parser.add_argument(
        "--algorithms",
        metavar="LIST",
        default=",".join(a.value for a in Algorithm),
        help="comma-separated list among pdq, phash, dhash, sha256, md5 (default: all)",
    )
    parser.add_argument(
        "--no-fast",
        dest="fast",
        action="store_false",
        help="decode at full resolution and compute the bit-exact reference PDQ (slower)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="processes to hash with (default: 1; 0 means one per CPU)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="wall-clock limit per picture; a worker past it is killed and the file "
        "reported as DecodeTimeout (default: 10)",
    )
    parser.add_argument(
        "--video-timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="wall-clock limit per video (decoding every frame); past it the worker is "
        "killed and the file reported as DecodeTimeout (default: 120)",
    )
    parser.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help=f"progress bar on stderr (auto: on a terminal, for more than "
        f"{PROGRESS_MIN_FILES} files)",
    )
    parser.set_defaults(func=_run)


def _parse_algorithms(text: str) -> tuple[Algorithm, ...]:
    from hashes.errors import HashFormatError

    names = [part for part in (p.strip() for p in text.split(",")) if part]
    if not names:
        raise HashFormatError("no hash algorithm requested")
    chosen: list[Algorithm] = []
    for name in names:
        algorithm = Algorithm.parse(name)
        if algorithm not in chosen:
            chosen.append(algorithm)
    return tuple(chosen)


def iter_files(paths: Sequence[str], errors: list[tuple[str, str]]) -> Iterator[Path]:
    """Files named, and every regular file under folders named (sorted by path).

    Paths that do not exist are appended to ``errors`` (and skipped). Symbolic links to
    folders are not followed.
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = [
                Path(root) / name
                for root, _dirs, files in os.walk(path)
                for name in files
                if (Path(root) / name).is_file()
            ]
            yield from sorted(found)
        elif path.is_file():
            yield path
        else:
            errors.append((raw, "FileNotFoundError: no such file or folder"))


def _hash_one(
    path: str,
    algorithms: tuple[Algorithm, ...],
    fast: bool,
    sandbox: HashSandbox,
    video_timeout_s: float = 120.0,
) -> _Outcome:
    """Read one file and hash it in the sandbox; never raises for a bad file (it becomes
    the outcome)."""
    from hashes.decode import DEFAULT_LIMITS
    from hashes.errors import HashesError
    from hashes.video import DEFAULT_VIDEO_LIMITS, looks_like_video

    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
            video = looks_like_video(head)
            # One byte more than the limit is enough for the decoder to refuse it.
            limit = DEFAULT_VIDEO_LIMITS.max_bytes if video else DEFAULT_LIMITS.max_bytes
            data = head + handle.read(max(0, limit + 1 - len(head)))
    except OSError as exc:
        return _Outcome(path, None, f"{type(exc).__name__}: {exc.strerror or exc}")
    try:
        if video:
            return _Outcome(path, _video_row(path, sandbox, data, video_timeout_s), None)
        result = sandbox.hash_image(data, algorithms, fast=fast)
    except HashesError as exc:
        return _Outcome(path, None, f"{type(exc).__name__}: {exc}")
    return _Outcome(path, {"path": path, **result.to_dict()}, None)


def _video_row(path: str, sandbox: HashSandbox, data: bytes, timeout_s: float) -> dict[str, object]:
    """A video's output row: vPDQ lines, file digests, size, duration, frame rate."""
    from hashes.video._sniff import sniff_container

    video = sandbox.hash_video(data, timeout_s=timeout_s).hash
    return {
        "path": path,
        "media": "video",
        "format": sniff_container(data),
        "width": video.width,
        "height": video.height,
        "frames": len(video.frames),
        "duration_s": None if video.duration_s is None else round(video.duration_s, 3),
        "fps": None if video.fps is None else round(video.fps, 3),
        "md5": None if video.md5 is None else video.md5.to_text(),
        "sha256": None if video.sha256 is None else video.sha256.to_text(),
        "vpdq": [frame.to_line() for frame in video.frames],
    }


class _Writer:
    def __init__(
        self, out: TextIO, fmt: str, algorithms: tuple[Algorithm, ...], videos: bool = False
    ) -> None:
        self._out = out
        self._csv: csv.DictWriter[str] | None = None
        if fmt == "csv":
            # The video columns only when a video is among the inputs: image-only output
            # keeps its columns.
            extra = _VIDEO_FIELDS if videos else ()
            self._csv = csv.DictWriter(
                out,
                fieldnames=[*_FIELDS, *(a.value for a in algorithms), *extra],
                extrasaction="ignore",
                lineterminator="\n",
            )
            self._csv.writeheader()

    def write(self, row: dict[str, object]) -> None:
        if self._csv is None:
            self._out.write(json.dumps(row, separators=(",", ":")) + "\n")
            return
        flat = dict(row)
        for algorithm in Algorithm:
            text = flat.get(algorithm.value)
            if isinstance(text, str):
                flat[algorithm.value] = text.partition(":")[2]
        if flat.get("pdq_quality") is None:
            flat["pdq_quality"] = ""
        flat["low_quality"] = "true" if flat.get("low_quality") else "false"
        lines = flat.get("vpdq")
        if isinstance(lines, list):
            # One cell: the vpdq lines separated by spaces (a line has no space).
            flat["vpdq"] = " ".join(str(line) for line in lines)
        flat.setdefault("media", "image")
        for name in ("duration_s", "fps", "vpdq"):
            if flat.get(name) is None:
                flat[name] = ""
        self._csv.writerow(flat)


def _run(args: argparse.Namespace) -> int:
    from hashes.errors import HashFormatError

    try:
        algorithms = _parse_algorithms(args.algorithms)
    except HashFormatError as exc:
        print(f"frankly hash: {exc}", file=sys.stderr)
        return 2
    if args.workers < 0:
        print("frankly hash: --workers must be 0 or more", file=sys.stderr)
        return 2
    for name, value in (("--timeout", args.timeout), ("--video-timeout", args.video_timeout)):
        if not 0 < value < float("inf"):
            print(f"frankly hash: {name} must be a positive number of seconds", file=sys.stderr)
            return 2
    try:
        return hash_paths(
            args.paths,
            algorithms,
            fast=args.fast,
            fmt=args.format,
            workers=args.workers,
            timeout_s=args.timeout,
            video_timeout_s=args.video_timeout,
            progress=args.progress,
            out=sys.stdout,
            err=sys.stderr,
        )
    except BrokenPipeError:
        # The reader went away (``frankly hash ... | head``): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def hash_paths(
    paths: Sequence[str],
    algorithms: tuple[Algorithm, ...],
    *,
    fast: bool = True,
    fmt: str = "jsonl",
    workers: int = 1,
    timeout_s: float = 10.0,
    video_timeout_s: float = 120.0,
    progress: str = "auto",
    out: TextIO,
    err: TextIO,
) -> int:
    """Hash every file under ``paths`` in ``workers`` sandboxed processes (0: one per CPU),
    each picture killed after ``timeout_s`` (a video after ``video_timeout_s``); write rows
    to ``out`` and failures to ``err``.

    Returns the exit status: 1 if any file failed, a path does not exist, or nothing was
    found to hash (empty folders), else 0.
    """
    from hashes.sandbox import HashSandbox

    missing: list[tuple[str, str]] = []
    files = [str(p) for p in iter_files(paths, missing)]
    failed = 0
    for raw, message in missing:
        print(f"frankly hash: {raw}: {message}", file=err)
        failed += 1
    if not files and not missing:
        print(f"frankly hash: no files found in {', '.join(paths)}", file=err)
        return 1
    writer = _Writer(out, fmt, algorithms, fmt == "csv" and any(map(_is_video_file, files)))
    show = progress == "always" or (
        progress == "auto" and err.isatty() and len(files) > PROGRESS_MIN_FILES
    )
    count = max(1, min(workers or os.cpu_count() or 1, len(files)))
    sandbox = HashSandbox(count, timeout_s=timeout_s)
    threads = ThreadPoolExecutor(max_workers=count) if count > 1 else None

    def one(path: str) -> _Outcome:
        return _hash_one(path, algorithms, fast, sandbox, video_timeout_s)

    try:
        outcomes: Iterator[_Outcome] = (
            threads.map(one, files) if threads is not None else map(one, files)
        )
        with _reporter(show, len(files), err) as reporter:
            for outcome in outcomes:
                if outcome.row is not None:
                    writer.write(outcome.row)
                else:
                    failed += 1
                    reporter.fail(outcome.path, outcome.error or "failed")
                reporter.advance()
    finally:
        if threads is not None:
            threads.shutdown(cancel_futures=True)
        sandbox.close()
    out.flush()
    return 1 if failed else 0


def _is_video_file(path: str) -> bool:
    from hashes.video import looks_like_video

    try:
        with open(path, "rb") as handle:
            return looks_like_video(handle.read(4096))
    except OSError:
        return False


class _Reporter:
    """Advances an optional progress bar and prints failures without tearing it."""

    def __init__(self, err: TextIO, bar: Any = None, task: Any = None) -> None:
        self._err = err
        self._bar = bar
        self._task = task

    def advance(self) -> None:
        if self._bar is not None:
            self._bar.advance(self._task)

    def fail(self, path: str, message: str) -> None:
        line = f"frankly hash: {path}: {message}"
        if self._bar is not None:
            self._bar.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=self._err)


@contextlib.contextmanager
def _reporter(enabled: bool, total: int, err: TextIO) -> Iterator[_Reporter]:
    """A :class:`_Reporter`, with a rich progress bar on ``err`` when ``enabled``."""
    if not enabled:
        yield _Reporter(err)
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(file=err), transient=True) as bar:
        yield _Reporter(err, bar, bar.add_task("hashing", total=total))
