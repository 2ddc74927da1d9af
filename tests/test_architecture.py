"""The layering of DESIGN.md, checked on the source: report_service -> client_scan -> hashes,
never back; pure cores without I/O libraries; no import-time side effects."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _top(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


FORBIDDEN = {
    # the pure hashing library and the client must never reach up the stack
    "hashes": {"client_scan", "report_service", "frankly", "fastapi", "sqlalchemy", "httpx"},
    # the embedded client: no web framework, no ORM, no service code
    "client_scan": {"report_service", "frankly", "fastapi", "sqlalchemy", "alembic", "uvicorn"},
}

PURE_CORES = ["client_scan/franking"]
PURE_MODULES = [
    "report_service/escalation/dsa/builder.py",
    "report_service/escalation/dsa/mapping.py",
    "report_service/escalation/dsa/vocabulary.py",
    "report_service/escalation/appeals/notices.py",
]
IO_MODULES = {"socket", "sqlite3", "httpx", "urllib", "http", "requests", "sqlalchemy"}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependency_direction(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_top(_imports(path)) & FORBIDDEN[package])
        for path in _modules(package)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


# Inside the service: storage sits below the feature packages, which pass it hooks (as
# intake passes the review package's requeue policy) instead of being imported by it.
INTERNAL_FORBIDDEN = {
    "report_service/storage": ("report_service.review", "report_service.escalation"),
    # review takes the escalation hooks (DSA statements, ...) as parameters
    "report_service/review": ("report_service.escalation",),
    # the intake routers read the reporter's notice from app.state, never import it
    "report_service/api": ("report_service.escalation",),
    # the console shows escalation pages that report_service.app passes in
    "report_service/console": ("report_service.escalation",),
}


@pytest.mark.parametrize("folder", sorted(INTERNAL_FORBIDDEN))
def test_lower_service_layers_never_import_higher_ones(folder: str) -> None:
    banned = INTERNAL_FORBIDDEN[folder]
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            n for n in _imports(path) if any(n == b or n.startswith(b + ".") for b in banned)
        )
        for path in sorted((ROOT / folder).rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize("core", PURE_CORES)
def test_pure_cores_do_no_io(core: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_top(_imports(path)) & IO_MODULES)
        for path in sorted((ROOT / core).rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_modules_do_no_io(module: str) -> None:
    assert _top(_imports(ROOT / module)) & IO_MODULES == set()


def test_importing_every_module_has_no_side_effects(tmp_path: Path) -> None:
    modules = [
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for package in ("frankly", "hashes", "client_scan", "report_service")
        for path in _modules(package)
        if "migrations" not in path.parts and path.name != "__main__.py"
    ]
    script = f"""
import importlib, json, os, socket, threading
def refuse(*a, **k):
    raise AssertionError("network access at import time")
socket.socket.connect = refuse
socket.create_connection = refuse
before = threading.active_count()
for name in {modules!r}:
    importlib.import_module(name)
threads = threading.active_count() - before
print(json.dumps({{"files": sorted(os.listdir(".")), "threads": threads}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"files": [], "threads": 0}


def test_every_module_imports_first_without_a_cycle() -> None:
    # An import cycle only shows when one of its modules is imported first, so every module
    # is imported on its own, with the project's modules forgotten before each one.
    modules = [
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for package in ("frankly", "hashes", "client_scan", "report_service")
        for path in _modules(package)
        if "migrations" not in path.parts and path.name != "__main__.py"
    ]
    script = f"""
import importlib, sys
OURS = ("frankly", "hashes", "client_scan", "report_service")
failed = []
for name in {modules!r}:
    for loaded in [m for m in sys.modules if m.split(".")[0] in OURS]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{{name}}: {{exc}}")
print("\\n".join(failed))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


# report_service/review/ is split by feature (queue/, decisions/, moderators/, media/,
# items/, audit/, lifecycle/, search/): a module past this size is a feature asking for its
# own folder, as the monolithic service, store and schemas once were.
REVIEW = ROOT / "report_service" / "review"
MAX_REVIEW_MODULE_LINES = 600


def _review_features() -> set[str]:
    return {p.name for p in REVIEW.iterdir() if (p / "__init__.py").is_file()}


def test_no_review_module_outgrows_its_feature() -> None:
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted(REVIEW.rglob("*.py"))
    }
    assert {k: v for k, v in sizes.items() if v > MAX_REVIEW_MODULE_LINES} == {}


def _private_names_of_other_features(source: str, own: str, features: set[str]) -> list[str]:
    """The ``_private`` names a module of feature ``own`` takes from another review
    feature, imported by name or read through an imported module."""
    tree = ast.parse(source)
    found: list[str] = []
    modules: dict[str, str] = {}  # local name -> other feature's module
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ImportFrom) and node.module and node.level == 0):
            continue
        parts = node.module.split(".")
        if parts[:2] != ["report_service", "review"] or len(parts) < 3:
            continue
        feature = parts[2]
        if feature == own or feature not in features:
            continue
        found += [f"{node.module}.{p}" for p in parts[3:] if p.startswith("_")]
        for alias in node.names:
            if alias.name.startswith("_"):
                found.append(f"{node.module}.{alias.name}")
            else:
                modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{modules[node.value.id]}.{node.attr}")
    return sorted(found)


def test_review_features_use_only_each_others_public_names() -> None:
    features = _review_features()
    assert {"queue", "decisions", "moderators", "media", "audit"} <= features
    offenders = {
        str(path.relative_to(ROOT)): names
        for path in sorted(REVIEW.rglob("*.py"))
        if path.parent != REVIEW
        and (
            names := _private_names_of_other_features(
                path.read_text(encoding="utf-8"), path.relative_to(REVIEW).parts[0], features
            )
        )
    }
    assert offenders == {}


def test_the_private_name_check_sees_a_private_import() -> None:
    # the check above must be able to fail: a queue module reaching into two other features
    source = (
        "from report_service.review.audit.store import _entry, append_audit\n"
        "from report_service.review.items import store as item_store\n"
        "from report_service.review.queue.leases import _private_to_queue\n"
        "x = item_store._hidden, item_store.get_item\n"
    )
    assert _private_names_of_other_features(source, "queue", _review_features()) == [
        "report_service.review.audit.store._entry",
        "report_service.review.items.store._hidden",
    ]
