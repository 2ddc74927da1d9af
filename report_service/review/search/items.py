"""Search review items: ``GET /v1/review/items`` (router, service and SQL of one feature).

Filters (all optional, combined with AND): ``sender`` (the reported message's sender),
``reporter`` (any report about the item was filed by this user), ``report_id`` (the item
is about this report), ``status`` (open | claimed | decided) and ``decision`` (the item's
standing decision: the latest one not reopened). Results are newest item first and paged
by keyset on the item id: pass the answer's ``next`` as ``cursor`` for the next page
(``next`` is null on the last page). ``limit`` is 1 to 200.

Authorisation. Roles that review (moderator, child_safety, lead) may search; auditors and
admins get 403. Child-safety items are left out in SQL for every role but
``child_safety``, so they never appear in results, pages or ``next`` cursors of other
roles (there are no counts). Each search is audited (``item_search``: the filters and the
number of items returned), like every other look at items.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from report_service.review.audit import store as audit_store
from report_service.review.errors import Forbidden
from report_service.review.http import AUTH_ERRORS, MAX_ITEM_ID, NO_CONTROL, Caller
from report_service.review.models import DecisionRow
from report_service.review.moderators.roles import Permission, Role, allows
from report_service.review.schemas import DecisionName, ItemSummaryOut
from report_service.review.views import summary
from report_service.storage.models import Report, ReportItem, ReviewItem

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
StatusName = Literal["open", "claimed", "decided"]


@dataclass(frozen=True, slots=True)
class ItemQuery:
    """Validated search filters and the page position."""

    sender: str | None = None
    reporter: str | None = None
    report_id: str | None = None
    status: str | None = None
    decision: str | None = None
    cursor: int | None = None
    limit: int = DEFAULT_LIMIT


class FoundItemOut(ItemSummaryOut):
    """An item's state and sender, without its content."""

    sender_id: str
    decision: DecisionName | None = Field(
        description="The standing decision (the latest not reopened), if any."
    )


class ItemPageOut(BaseModel):
    """One page of search results, newest first."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": 42,
                            "queue": "general",
                            "status": "decided",
                            "outcome": "warn_sender",
                            "reason": "harassment",
                            "reporter_count": 2,
                            "max_bank_severity": 0,
                            "priority": 60,
                            "effective_priority": 60.0,
                            "created_at": 1795385992732,
                            "updated_at": 1795386594179,
                            "sender_id": "mallory",
                            "decision": "warn_sender",
                        }
                    ],
                    "next": 42,
                }
            ]
        },
    )

    items: list[FoundItemOut]
    next: int | None = Field(description="Pass as `cursor` for the next page; null at the end.")


# ---------------------------------------------------------------------------- SQL


def find_items(session: Session, q: ItemQuery, *, child_safety: bool) -> list[ReviewItem]:
    """Up to ``q.limit + 1`` items matching ``q``, newest first (the extra one tells the
    caller there is a next page). Child-safety items only when ``child_safety``."""
    stmt = select(ReviewItem)
    if not child_safety:
        stmt = stmt.where(ReviewItem.child_safety.is_(False))
    if q.cursor is not None:
        stmt = stmt.where(ReviewItem.id < q.cursor)
    if q.sender is not None:
        stmt = stmt.where(ReviewItem.sender_id == q.sender)
    if q.status is not None:
        stmt = stmt.where(ReviewItem.status == q.status)
    if q.report_id is not None:
        stmt = stmt.where(
            ReviewItem.id.in_(select(ReportItem.item_id).where(ReportItem.report_id == q.report_id))
        )
    if q.reporter is not None:
        stmt = stmt.where(
            ReviewItem.id.in_(
                select(ReportItem.item_id)
                .join(Report, Report.report_id == ReportItem.report_id)
                .where(Report.reporter_id == q.reporter)
            )
        )
    if q.decision is not None:
        later = aliased(DecisionRow)
        standing = (
            select(DecisionRow.item_id)
            .where(DecisionRow.decision == q.decision, DecisionRow.reopened_at.is_(None))
            .where(
                DecisionRow.id
                == select(func.max(later.id))
                .where(later.item_id == DecisionRow.item_id, later.reopened_at.is_(None))
                .scalar_subquery()
            )
        )
        stmt = stmt.where(ReviewItem.id.in_(standing))
    stmt = stmt.order_by(ReviewItem.id.desc()).limit(q.limit + 1)
    return list(session.scalars(stmt))


def standing_decisions(session: Session, item_ids: Sequence[int]) -> dict[int, str]:
    """The standing decision of each of ``item_ids`` that has one."""
    if not item_ids:
        return {}
    rows = session.execute(
        select(DecisionRow.item_id, DecisionRow.decision)
        .where(DecisionRow.item_id.in_(item_ids), DecisionRow.reopened_at.is_(None))
        .order_by(DecisionRow.id)
    )
    return {item_id: decision for item_id, decision in rows}


# ---------------------------------------------------------------------------- service


def search_items(
    sessions: sessionmaker[Session], clock: Callable[[], int], actor: str, role: Role, q: ItemQuery
) -> ItemPageOut:
    """One page of items matching ``q`` that ``role`` may see. Audited (``item_search``).

    Raises:
        Forbidden: the role reviews nothing (auditor, admin).
    """
    if not allows(role, Permission.REVIEW):
        raise Forbidden(f"the {role.value} role may not search items")
    now = clock()
    with sessions.begin() as session:
        found = find_items(session, q, child_safety=allows(role, Permission.CHILD_SAFETY))
        page = found[: q.limit]
        decisions = standing_decisions(session, [i.id for i in page])
        items = [
            FoundItemOut(
                **summary(i, now).model_dump(),
                sender_id=i.sender_id,
                decision=decisions.get(i.id),
            )
            for i in page
        ]
        filters = {
            k: v for k, v in asdict(q).items() if v is not None and k not in ("limit", "cursor")
        }
        audit_store.append_audit(
            session,
            at_ms=now,
            actor=actor,
            action="item_search",
            item_id=None,
            detail={**filters, "cursor": q.cursor, "results": len(items)},
        )
    nxt = page[-1].id if len(found) > q.limit else None
    return ItemPageOut(items=items, next=nxt)


# ---------------------------------------------------------------------------- router

router = APIRouter(prefix="/v1/review", tags=["review"])

UserFilter = Annotated[str | None, Query(min_length=1, max_length=128, pattern=NO_CONTROL)]
UUID_PATTERN = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"


@router.get("/items", response_model=ItemPageOut, responses=AUTH_ERRORS)
def search(
    request: Request,
    actor: Caller,
    sender: Annotated[UserFilter, Query(description="The reported message's sender.")] = None,
    reporter: Annotated[UserFilter, Query(description="A reporter of the item.")] = None,
    report_id: Annotated[
        str | None, Query(pattern=UUID_PATTERN, description="A report about the item.")
    ] = None,
    status: StatusName | None = None,
    decision: Annotated[
        DecisionName | None, Query(description="The standing (not reopened) decision.")
    ] = None,
    cursor: Annotated[
        int | None, Query(ge=1, le=MAX_ITEM_ID, description="`next` of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> ItemPageOut:
    """Find items by sender, reporter, report id, status and standing decision; newest
    first, paged with `cursor=<next>`. Only items the caller's role may see (never a
    child-safety item for another role). Audited (`item_search`)."""
    q = ItemQuery(
        sender=sender,
        reporter=reporter,
        report_id=None if report_id is None else report_id.lower(),
        status=status,
        decision=decision,
        cursor=cursor,
        limit=limit,
    )
    state = request.app.state
    return search_items(state.session_factory, state.clock, actor.name, actor.role, q)
