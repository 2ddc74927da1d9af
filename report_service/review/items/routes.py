"""Item routes: the item view and the lead's flagged list.

Each route validates its request model, calls one
:class:`~report_service.review.service.ReviewService` method and returns a response
model; errors are mapped by :mod:`report_service.http_errors`.
"""

from __future__ import annotations

from fastapi import APIRouter

from report_service.review.http import AUTH_ERRORS, ITEM_ERRORS, Caller, ItemId, Service
from report_service.review.items.schemas import FlaggedOut, ItemDetailOut

router = APIRouter(prefix="/v1")



@router.get(
    "/review/items/{item_id}",
    response_model=ItemDetailOut,
    responses=ITEM_ERRORS,
    tags=["review"],
)
def item_detail(service: Service, actor: Caller, item_id: ItemId) -> ItemDetailOut:
    """The item: verified facts (sender, recipients, conversation, time, decrypted text,
    attachment metadata, bank matches) apart from what reporters merely say (comments,
    device hints); the context transcript; other items and earlier decisions about the
    sender. Needs the caller's lease, or the lead role. Audited (`item_view`)."""
    return service.item_detail(actor, item_id)


@router.get(
    "/review/flagged", response_model=FlaggedOut, responses=AUTH_ERRORS, tags=["review"]
)
def flagged(service: Service, actor: Caller) -> FlaggedOut:
    """Items flagged for a lead (a lead: general items; child_safety: child-safety items),
    such as items decided while other stamped copies' reports were merged into them."""
    return service.flagged(actor)
