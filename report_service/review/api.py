"""The review API: ``/v1/review/...`` for moderators and ``/v1/audit`` for auditors.

Each feature folder has its router (``moderators``, ``queue``, ``items``, ``media``,
``decisions``, ``audit``: ``<feature>/routes.py``); this module gathers them into one. Each
route validates its request model, calls one :class:`ReviewService` method and returns a
response model; errors are raised as domain exceptions and turned into HTTP answers by
:mod:`report_service.http_errors`. The service object is taken from ``app.state.review``
(see :func:`install`).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from report_service.review.audit import routes as audit_routes
from report_service.review.decisions import routes as decision_routes
from report_service.review.http import mount
from report_service.review.items import routes as item_routes
from report_service.review.media import routes as media_routes
from report_service.review.moderators import routes as moderator_routes
from report_service.review.queue import routes as queue_routes
from report_service.review.service import ReviewService

router = APIRouter()
for _part in (
    moderator_routes,
    queue_routes,
    item_routes,
    media_routes,
    decision_routes,
    audit_routes,
):
    router.include_router(_part.router)


def install(app: FastAPI, service: ReviewService) -> None:
    """Mount the router on ``app`` and give it ``service``."""
    mount(app, router, "review", service)
