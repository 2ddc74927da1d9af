"""The service's application factory.

``create_app(settings)`` builds everything when called, nothing at import time: it
upgrades the database schema, loads the key file and the hash banks, and wires the
routers. Tests pass their own key material, clock and randomness.

What :mod:`report_service.review` (and any other router) finds on ``app.state``:

============== ==================================================================
``settings``   :class:`report_service.settings.Settings`
``engine``     the SQLAlchemy :class:`~sqlalchemy.Engine`
``session_factory``  ``sessionmaker[Session]`` (``expire_on_commit=False``)
``read_session_factory``  the same for lookups that never write
               (:func:`report_service.storage.engine.make_session_factory`)
``read_engine``  the engine those lookups run on
               (:func:`report_service.storage.engine.read_engine`); the bearer-token
               check uses its Core connections
``keys``       :class:`report_service.keys.KeyMaterial`: franking keyring, sealing
               keys, evidence master keys (unwrap with
               :func:`report_service.storage.evidence.read_evidence`), curator key
``banks``      :class:`report_service.banks.HashBanks` (``add_entry`` banks a hash;
               the database is its truth, shared by every process)
``media_sandbox``  :class:`hashes.sandbox.HashSandbox`: the worker processes that re-hash
               media (started lazily or by the lifespan, shared by the apps of a process)
``clock``      ``() -> int``: milliseconds since the epoch
``random``     ``(n) -> bytes``: randomness for keys and nonces
``metrics``    :class:`report_service.observability.Metrics` (own registry)
``review``     :class:`report_service.review.service.ReviewService` (its router is
               mounted by :func:`report_service.review.api.install`)
``ncmec``      :class:`report_service.escalation.ncmec.service.NcmecService` (its router:
               :func:`report_service.escalation.ncmec.api.install`); the review service
               prepares reports through its ``prepare`` hook, and when the CyberTipline
               settings are complete the lifespan runs a submitter thread (so it does
               for DSA statements of reasons when the Transparency Database is set,
               :mod:`report_service.escalation.dsa.background`)
``console_sessions``  :class:`report_service.console.sessions.ConsoleSessions` (the
               console at ``/console``, :func:`report_service.console.pages.install`)
``console_nav``  the navigation links of the escalation pages the console was given
               (:mod:`report_service.escalation.console_pages`: CyberTipline, holds)
``events``     ``(session, event_type, data)``: queues a signed webhook event in the
               caller's transaction (:mod:`report_service.escalation.webhooks`)
``appeals``     :class:`report_service.escalation.appeals.service.AppealsService`
               (statements of reasons and appeals, ``/v1/statements``, ``/v1/appeals``)
``report_notice``  ``(session, report_id, reporter) -> str | None``: the reporter's
               plain-words notice (:mod:`report_service.escalation.appeals.reporter_notice`)
``intake``, ``relay``, ``rate_limiter``: the services behind this package's routers
(the rate limiter keeps its counts in the database, exact across processes)
============== ==================================================================
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from sqlalchemy import Engine

from report_service.keys import KeyMaterial, load_key_file
from report_service.settings import Settings

if TYPE_CHECKING:
    from hashes.decode import DecodeLimits
    from hashes.sandbox import HashSandbox
    from report_service.banks import VideoHasher

API_DESCRIPTION = """\
Frankly's report service: a reference relay that stamps messages (message franking),
verified intake of sealed abuse reports, encrypted evidence, hash-bank matching and the
moderator review API. Errors are always `{"error": {"code", "message", "message_index"?}}`.
"""

RELAY_BODY_OVERHEAD = 4096


def wall_clock_ms() -> int:
    """Milliseconds since the epoch from the system clock."""
    return time.time_ns() // 1_000_000


_SANDBOXES: dict[tuple[int, float, int], HashSandbox] = {}
_SANDBOXES_LOCK = threading.Lock()


def media_sandbox(settings: Settings) -> tuple[HashSandbox, DecodeLimits]:
    """The worker pool that re-hashes media for these settings, and the decode limits.

    Every picture is budgeted from its header at ``media_memory_mb`` and hashed in a worker
    whose address space may grow by twice that plus the largest input and 64 MiB (the
    allocator's slack; the budget is the real bound, the limit the backstop), killed after
    ``media_timeout_s``. The pool is created on first need and shared by every app of
    this process with the same settings (tests build many apps; the workers hold no
    state), and stopped when the process exits.
    """
    from hashes.sandbox import HashSandbox
    from report_service.banks import DECODE_LIMITS

    budget = settings.media_memory_mb * 1024 * 1024
    limits = dataclasses.replace(DECODE_LIMITS, max_memory=budget)
    memory = 2 * budget + limits.max_bytes + 64 * 1024 * 1024
    key = (settings.media_workers, settings.media_timeout_s, memory)
    with _SANDBOXES_LOCK:
        sandbox = _SANDBOXES.get(key)
        if sandbox is None or sandbox.closed:
            sandbox = HashSandbox(
                settings.media_workers,
                timeout_s=settings.media_timeout_s,
                memory_bytes=memory,
                wait_s=30.0,
            )
            _SANDBOXES[key] = sandbox
    return sandbox, limits


def video_hasher(sandbox: HashSandbox, settings: Settings) -> VideoHasher:
    """Video re-hashing in ``sandbox`` under the settings' limits: vPDQ, MD5, SHA-256,
    ``video_keyframes`` keyframes and the ``video_query_variants``; the caller gives each
    call its ``timeout_s`` (at most ``video_timeout_s``), after which the worker is
    killed."""
    from hashes.video import DEFAULT_VIDEO_LIMITS

    limits = dataclasses.replace(
        DEFAULT_VIDEO_LIMITS,
        max_duration_s=settings.video_max_duration_s,
        max_wall_s=min(DEFAULT_VIDEO_LIMITS.max_wall_s, settings.video_timeout_s),
    )
    from hashes.video.variants import VIDEO_VARIANT_PRESETS

    return functools.partial(
        sandbox.hash_video,
        limits=limits,
        keyframes=settings.video_keyframes,
        variants=VIDEO_VARIANT_PRESETS[settings.video_query_variants],
    )


def create_app(
    settings: Settings,
    *,
    keys: KeyMaterial | None = None,
    clock: Callable[[], int] | None = None,
    random: Callable[[int], bytes] | None = None,
    engine: Engine | None = None,
    migrate: bool = True,
) -> FastAPI:
    """Build the service.

    Raises:
        KeyFileError: ``keys`` is not given and the key file is missing or unsafe.
        ConfigError: the database URL is unsupported.
        StorageError: the schema cannot be migrated.
        BankError: a stored hash list no longer passes the trust policy.
    """
    from report_service.api import banks as banks_api
    from report_service.api import docs, ops, relay, reports
    from report_service.banks import HashBanks
    from report_service.body_limit import BodyLimitMiddleware
    from report_service.console.pages import install as install_console
    from report_service.escalation import console_pages as escalation_pages
    from report_service.escalation.appeals.api import install as install_appeals
    from report_service.escalation.appeals.reporter_notice import ReporterNotices
    from report_service.escalation.appeals.service import AppealsService
    from report_service.escalation.dsa.background import start_dsa_submitter
    from report_service.escalation.dsa.config import mapping_from_settings
    from report_service.escalation.dsa.correction import StatementEnder
    from report_service.escalation.dsa.recorder import StatementRecorder
    from report_service.escalation.ncmec.api import install as install_ncmec
    from report_service.escalation.preservation import router as preservation_api
    from report_service.escalation.webhooks.background import webhook_task
    from report_service.escalation.webhooks.outbox import event_hook
    from report_service.http_errors import CatchAllMiddleware, install_error_handlers
    from report_service.intake import Intake
    from report_service.observability import Metrics, RequestContextMiddleware
    from report_service.ratelimit import SharedRateLimiter
    from report_service.relay import Relay, RelayQuotas
    from report_service.review.api import install as install_review
    from report_service.review.audit.sequencer import start_audit_sequencer
    from report_service.review.decisions.requeue import ReviewRequeue
    from report_service.review.media.evidence_access import MasterKeyEvidence
    from report_service.review.moderators import token_routes
    from report_service.review.queue.gauges import ReviewGauges
    from report_service.review.search import items as item_search
    from report_service.review.service import ReviewService
    from report_service.storage.engine import make_engine, make_session_factory, read_engine
    from report_service.storage.migrate import upgrade_engine
    from report_service.storage.write_turn import write_turn_for
    from report_service.transparency import router as transparency_router
    from report_service.transparency.service import TransparencyLog

    material = keys if keys is not None else load_key_file(settings.resolved_key_file)
    now = clock if clock is not None else wall_clock_ms
    rand = random if random is not None else os.urandom
    if engine is None:
        if settings.database_url is None:
            settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        engine = make_engine(
            settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous
        )
    if migrate:
        upgrade_engine(engine)
    write_turn = write_turn_for(engine)  # intake's stores queue on it (SQLite)
    sessions = make_session_factory(engine)
    reads = make_session_factory(engine, read_only=True)  # lookups that never write
    hot_reads = read_engine(engine)  # the per-request lookups, on Core connections
    metrics = Metrics()
    events = event_hook(now)  # webhooks: storage and review announce changes through it
    sandbox, decode_limits = media_sandbox(settings)
    banks = HashBanks(
        sessions,
        material.curator,
        hasher=sandbox.hash_image,
        decode_limits=decode_limits,
        video_hasher=video_hasher(sandbox, settings),
        video_timeout_s=settings.video_timeout_s,
        read_session_factory=reads,
    )
    banks.listen(engine).load()

    from report_service.escalation.ncmec.service import NcmecService

    ncmec = NcmecService(sessions, now)
    evidence_reader = MasterKeyEvidence(lambda kid: material.master_key(kid).key)

    audit_deferred = settings.audit_deferred(engine.dialect.name)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sandbox.start()  # warm the workers before the first report, off the request path
        stop = start_ncmec_submitter(settings, sessions, now, evidence_reader)
        stop_dsa = None
        stop_audit = None
        if audit_deferred:
            interval_s = settings.audit_sequence_interval_ms / 1000
            stop_audit = start_audit_sequencer(sessions, interval_s, reads)
        try:
            stop_dsa = start_dsa_submitter(settings, sessions, now, reads)
            async with webhook_task(settings, sessions, lambda: material, now, reads):
                yield
        finally:
            if stop_audit is not None:
                stop_audit()
            if stop_dsa is not None:
                stop_dsa()
            if stop is not None:
                stop()
        banks.close()
        if write_turn is not None:
            write_turn.close()

    app = FastAPI(
        lifespan=lifespan,
        title="Frankly report service",
        version="1",
        description=API_DESCRIPTION,
        docs_url=None,  # served from the package by report_service.api.docs, not a CDN
        redoc_url=None,
        openapi_tags=[
            {"name": "relay", "description": "Reference relay: stamp, queue, deliver."},
            {"name": "reports", "description": "Sealed report intake and status."},
            {"name": "operations", "description": "Health, readiness, metrics."},
            {"name": "banks", "description": "The hash lists the service publishes."},
            {"name": "appeals", "description": "Statements of reasons and appeals (DSA)."},
            {
                "name": "transparency",
                "description": "The public log of hash-list versions (c2sp.org/tlog-tiles).",
            },
        ],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = sessions
    app.state.read_session_factory = reads
    app.state.read_engine = hot_reads
    app.state.keys = material
    app.state.banks = banks
    # Serving needs no key; appending (the CLI) signs with the key file's log key.
    app.state.transparency_log = TransparencyLog(
        sessions, None if material.log is None else material.log.signer, now
    )
    app.state.media_sandbox = sandbox
    app.state.clock = now
    app.state.random = rand
    app.state.metrics = metrics
    app.state.events = events
    app.state.rate_limiter = SharedRateLimiter(
        sessions, settings.rate_limit_per_minute, settings.rate_limit_burst
    )
    metrics.add_collector(ReviewGauges(sessions, now))
    mapping = mapping_from_settings(settings)
    # A reopened decision (a lead's reopen, or a new report sending it back to review)
    # withdraws or corrects its statement of reasons, as an appeal's reversal does.
    statement_ender = StatementEnder(mapping, rand)
    app.state.intake = Intake(
        keys=material,
        banks=banks,
        session_factory=sessions,
        read_engine=hot_reads,
        metrics=metrics,
        clock=now,
        random=rand,
        max_messages=settings.max_messages,
        max_attachments=settings.max_attachments,
        child_safety_categories=settings.child_safety_categories,
        requeue=ReviewRequeue(on_reopened=statement_ender),
        events=events,
        video_budget_s=settings.video_report_budget_s,
        store_turn=write_turn,
    )
    app.state.relay = Relay(
        keyring=lambda: material.franking,
        session_factory=sessions,
        clock=now,
        ttl_ms=settings.relay_ttl_ms,
        max_ciphertext_bytes=settings.relay_max_ciphertext_bytes,
        max_batch=settings.relay_max_batch,
        quotas=RelayQuotas.from_settings(settings),
    )

    install_error_handlers(app)
    app.include_router(ops.router)
    docs.install(app)
    app.include_router(relay.router)
    app.include_router(reports.router)
    app.include_router(banks_api.router)
    app.include_router(transparency_router.router)
    review = ReviewService(
        sessions,
        now,
        evidence_reader,
        banks,
        read_session_factory=reads,
        on_decided=ncmec.prepare,
        events=events,
        decision_hooks=[StatementRecorder(mapping, rand)],
        on_reopened=statement_ender,
        audit_deferred=audit_deferred,
        write_turn=write_turn,
    )
    install_review(app, review)
    install_ncmec(app, ncmec)
    install_appeals(
        app, AppealsService(sessions, now, mapping, rand, evidence=evidence_reader, events=events)
    )
    app.state.report_notice = ReporterNotices(mapping)
    app.include_router(token_routes.router)
    app.include_router(item_search.router)
    app.include_router(preservation_api.router)

    relay_limit = settings.relay_max_ciphertext_bytes * 4 // 3 + RELAY_BODY_OVERHEAD

    def limit_for(path: str) -> int:
        if path.startswith("/v1/relay"):
            return relay_limit
        return settings.max_body_bytes

    # the moderator console at /console (docs/review.md), with the escalation pages
    install_console(app, extra=[(escalation_pages.router, escalation_pages.NAV)])

    # Outermost last: request ids and access logs, then the body limit, then the catch-all.
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(BodyLimitMiddleware, limit_for=limit_for)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    return app


def start_ncmec_submitter(
    settings: Settings,
    sessions: Any,
    clock: Callable[[], int],
    evidence: Any,
) -> Callable[[], None] | None:
    """Start the CyberTipline submitter thread when it is configured (URL, credentials,
    reporter e-mail, an interval above 0); the function that stops it, or ``None``.
    Processes share the work through leases in the database."""
    from report_service.escalation.ncmec import config, wiring

    if not config.configured(settings) or settings.ncmec_submit_interval_s <= 0:
        return None
    if not settings.ncmec_reporter_email:
        return None
    client = config.client(settings)
    submitter = wiring.submitter(
        settings,
        sessions,
        clock,
        evidence,
        client,
        owner=f"serve-{os.getpid()}-{threading.get_ident()}",
    )
    stop = threading.Event()
    thread = threading.Thread(
        target=submitter.run_forever,
        args=(stop, settings.ncmec_submit_interval_s),
        name="frankly-ncmec-submitter",
        daemon=True,
    )
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=30)
        client.close()

    return halt
