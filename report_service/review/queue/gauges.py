"""Review gauges computed from the database at scrape time.

Queue depth, the age of the oldest waiting item, decisions by type and the audit entries
waiting for the chain are read from the database when Prometheus scrapes, so every process
(and every host) answers the same figures: with several processes, aggregate them with
``max`` (not ``sum``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from report_service.review.audit import store as audit_store
from report_service.review.models import DecisionRow
from report_service.review.queue import store as queue_store
from report_service.review.queue.priority import QUEUES


class ReviewGauges(Collector):
    """A Prometheus collector over the review tables (one short read per scrape)."""

    def __init__(self, session_factory: Callable[[], Session], clock: Callable[[], int]):
        self._sessions = session_factory
        self._clock = clock

    def describe(self) -> list[Metric]:
        return []  # computed at scrape time; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "frankly_review_queue_depth",
            "Items waiting to be claimed, by queue (read from the database).",
            labels=["queue"],
        )
        oldest = GaugeMetricFamily(
            "frankly_review_oldest_waiting_seconds",
            "Age of the oldest item waiting to be claimed, by queue (0 when none waits).",
            labels=["queue"],
        )
        decisions = GaugeMetricFamily(
            "frankly_review_decisions",
            "Decisions recorded, by decision (superseded ones included; from the database).",
            labels=["decision"],
        )
        pending = GaugeMetricFamily(
            "frankly_audit_pending",
            "Audit entries recorded but not yet chained (deferred audit sequencing).",
        )
        pending_age = GaugeMetricFamily(
            "frankly_audit_pending_oldest_seconds",
            "Age of the oldest audit entry waiting for the chain (0 when none waits).",
        )
        now = self._clock()
        with self._sessions() as session:
            for queue in sorted(QUEUES):
                stats = queue_store.queue_stats(session, queue, now)
                depth.add_metric([queue], stats.depth)
                since = stats.oldest_created_at
                oldest.add_metric([queue], 0.0 if since is None else max(0, now - since) / 1000)
            rows = session.execute(
                select(DecisionRow.decision, func.count()).group_by(DecisionRow.decision)
            ).all()
            for decision, count in sorted(rows):
                decisions.add_metric([decision], count)
            waiting = audit_store.pending_stats(session)
        pending.add_metric([], waiting.count)
        since_ms = waiting.oldest_at_ms
        pending_age.add_metric([], 0.0 if since_ms is None else max(0, now - since_ms) / 1000)
        yield pending
        yield pending_age
        yield depth
        yield oldest
        yield decisions
