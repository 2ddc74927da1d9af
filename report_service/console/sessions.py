"""Console sessions and wellness preferences, kept in the database.

A browser signs in with a moderator's bearer token once; it then holds a random session
cookie whose SHA-256 names a :class:`~report_service.console.models.ConsoleSession` row.
Every request resumes the session from the database (so any server process recognises
it), checks the idle and absolute timeouts, and re-reads the moderator's account, so a
revoked moderator, or one whose token was rotated (by any means: the command line, the
API) since the session began, is signed out at once. Each session carries its own CSRF synchronizer
token, which every state-changing form must echo.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from report_service.console.models import ConsolePreferences, ConsoleSession, ConsoleSigninLink
from report_service.errors import AuthError, NotFound, RequestRejected
from report_service.review.audit import store as audit_store
from report_service.review.core import Actor
from report_service.review.errors import Forbidden
from report_service.review.models import Moderator
from report_service.review.moderators.roles import Permission, Role, allows

SESSION_BYTES = 32
DEFAULT_IDLE_MS = 30 * 60 * 1000
DEFAULT_MAX_AGE_MS = 12 * 60 * 60 * 1000
TOUCH_EVERY_MS = 5_000
LINK_TTL_MS = 15 * 60 * 1000
BLUR_LEVELS = (0, 1, 2, 3, 4)
MIN_BREAK_MINUTES, MAX_BREAK_MINUTES = 5, 240


class SessionExpired(AuthError):
    """No session, an unknown one, one idle too long or too old, or its moderator was
    revoked: sign in again."""


class CsrfRejected(RequestRejected):
    """A state-changing request without this session's CSRF token."""

    code = "csrf_failed"
    status = 403


@dataclass(frozen=True, slots=True)
class Preferences:
    """A moderator's wellness settings.

    ``blur_level`` 0-4 adds blur on top of the service's blurred thumbnail (0: none);
    ``grayscale`` shows revealed originals in grayscale; ``break_minutes`` is the time in
    the child-safety queue after which the console suggests a break.
    """

    blur_level: int = 2
    grayscale: bool = True
    break_minutes: int = 20

    @classmethod
    def checked(cls, blur_level: int, grayscale: bool, break_minutes: int) -> Preferences:
        """Validated preferences.

        Raises:
            RequestRejected: a value out of range (422 ``invalid_input``).
        """
        if blur_level not in BLUR_LEVELS:
            raise RequestRejected("blur level must be 0 to 4", code="invalid_input", status=422)
        if not MIN_BREAK_MINUTES <= break_minutes <= MAX_BREAK_MINUTES:
            raise RequestRejected(
                f"break reminder must be {MIN_BREAK_MINUTES} to {MAX_BREAK_MINUTES} minutes",
                code="invalid_input",
                status=422,
            )
        return cls(blur_level, grayscale, break_minutes)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A resumed session."""

    actor: Actor
    csrf: str
    created_at: int
    child_safety_since: int | None


def _hash(cookie: str) -> bytes:
    return hashlib.sha256(cookie.encode("utf-8", "surrogatepass")).digest()


class ConsoleSessions:
    """Open, resume and close console sessions; read and save preferences."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Callable[[], int],
        random: Callable[[int], bytes],
        *,
        idle_ms: int = DEFAULT_IDLE_MS,
        max_age_ms: int = DEFAULT_MAX_AGE_MS,
    ) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._random = random
        self.idle_ms = idle_ms
        self.max_age_ms = max_age_ms

    def open(self, actor: Actor) -> tuple[str, str]:
        """A new session for ``actor``: ``(cookie value, csrf token)``, bound to the
        moderator's current token. Sessions idle past the timeout are deleted on the way.

        Raises:
            SessionExpired: the account was revoked meanwhile.
        """
        cookie = self._random(SESSION_BYTES).hex()
        csrf = self._random(SESSION_BYTES).hex()
        now = self._clock()
        with self._sessions.begin() as session:
            mod = session.get(Moderator, actor.name)
            if mod is None or mod.revoked_at is not None:
                raise SessionExpired("the account is not active")
            session.execute(
                delete(ConsoleSession).where(ConsoleSession.last_seen_at < now - self.idle_ms)
            )
            session.add(
                ConsoleSession(
                    id_hash=_hash(cookie),
                    moderator=actor.name,
                    token_hash=mod.token_hash,
                    csrf=csrf,
                    created_at=now,
                    last_seen_at=now,
                    child_safety_since=None,
                )
            )
        return cookie, csrf

    def resume(self, cookie: str | None, *, touch: bool = True) -> SignedIn:
        """The session named by ``cookie``; its idle timer restarts unless ``touch`` is
        false (the page's automatic heartbeat is not the moderator's activity).

        Raises:
            SessionExpired: no such session, idle or too old, the moderator revoked or its
                token rotated since sign-in (the row is then deleted).
        """
        if not cookie or len(cookie) > 2 * SESSION_BYTES:
            raise SessionExpired("sign in")
        now = self._clock()
        with self._sessions.begin() as session:
            row = session.get(ConsoleSession, _hash(cookie))
            if row is None:
                raise SessionExpired("sign in")
            mod = session.get(Moderator, row.moderator)
            stale = now - row.last_seen_at > self.idle_ms or now - row.created_at > self.max_age_ms
            active = (
                mod is not None
                and mod.revoked_at is None
                and hmac.compare_digest(mod.token_hash, row.token_hash)
            )
            if stale or not active or mod is None:
                # a plain DELETE: a concurrent request may have removed the row already
                session.execute(delete(ConsoleSession).where(ConsoleSession.id_hash == row.id_hash))
                signed_in = None
            else:
                if touch and now - row.last_seen_at >= TOUCH_EVERY_MS:
                    row.last_seen_at = now
                signed_in = SignedIn(
                    actor=Actor(mod.name, Role.parse(mod.role)),
                    csrf=row.csrf,
                    created_at=row.created_at,
                    child_safety_since=row.child_safety_since,
                )
        if signed_in is None:
            raise SessionExpired("your session ended; sign in again")
        return signed_in

    def close(self, cookie: str | None) -> None:
        """End the session (nothing happens for an unknown one)."""
        if not cookie:
            return
        with self._sessions.begin() as session:
            session.execute(delete(ConsoleSession).where(ConsoleSession.id_hash == _hash(cookie)))

    def mark_child_safety(self, cookie: str, *, reset: bool = False) -> int | None:
        """Record that the moderator is working the child-safety queue (the first time
        starts the break timer; ``reset`` restarts it after a break); the start time."""
        now = self._clock()
        with self._sessions.begin() as session:
            row = session.get(ConsoleSession, _hash(cookie))
            if row is None:
                return None
            if reset or row.child_safety_since is None:
                row.child_safety_since = now
            return row.child_safety_since

    def end_break_timer(self, cookie: str) -> None:
        """Forget the child-safety timer (the moderator took a break)."""
        with self._sessions.begin() as session:
            row = session.get(ConsoleSession, _hash(cookie))
            if row is not None:
                row.child_safety_since = None

    def create_link(self, admin: Actor, moderator: str) -> tuple[str, int]:
        """A one-time sign-in link code for an active ``moderator`` (admin), valid for
        :data:`LINK_TTL_MS`: ``(code, expires_at)``. Only the code's hash is stored.
        Audited (``signin_link_add``, the moderator's name; never the code).

        Raises:
            Forbidden: ``admin`` may not manage accounts.
            NotFound: no active moderator of that name.
        """
        if not allows(admin.role, Permission.MANAGE_MODERATORS):
            raise Forbidden(f"the {admin.role.value} role may not make sign-in links")
        code = self._random(SESSION_BYTES).hex()
        now = self._clock()
        expires = now + LINK_TTL_MS
        with self._sessions.begin() as session:
            mod = session.get(Moderator, moderator)
            if mod is None or mod.revoked_at is not None:
                raise NotFound(f"no active moderator {moderator!r}")
            session.add(
                ConsoleSigninLink(
                    code_hash=_hash(code),
                    moderator=moderator,
                    created_by=admin.name,
                    created_at=now,
                    expires_at=expires,
                    used_at=None,
                )
            )
            audit_store.append_audit(
                session,
                at_ms=now,
                actor=admin.name,
                action="signin_link_add",
                item_id=None,
                detail={"name": moderator, "expires_at": expires},
            )
        return code, expires

    def redeem_link(self, code: str) -> Actor:
        """The moderator a one-time link was made for; the link is used up (a second use,
        even a concurrent one, fails). Audited (``signin_link_use``).

        Raises:
            SessionExpired: unknown, used or expired code, or the moderator was revoked.
        """
        if not code or len(code) > 2 * SESSION_BYTES:
            raise SessionExpired("this sign-in link is not valid")
        now = self._clock()
        with self._sessions.begin() as session:
            used = session.execute(
                update(ConsoleSigninLink)
                .where(
                    ConsoleSigninLink.code_hash == _hash(code),
                    ConsoleSigninLink.used_at.is_(None),
                    ConsoleSigninLink.expires_at > now,
                )
                .values(used_at=now)
            )
            won = getattr(used, "rowcount", 0) == 1
            link = session.get(ConsoleSigninLink, _hash(code)) if won else None
            mod = None if link is None else session.get(Moderator, link.moderator)
            if mod is not None and mod.revoked_at is None:
                audit_store.append_audit(
                    session,
                    at_ms=now,
                    actor=mod.name,
                    action="signin_link_use",
                    item_id=None,
                    detail={"created_by": link.created_by if link else ""},
                )
                return Actor(mod.name, Role.parse(mod.role))
        raise SessionExpired("this sign-in link is used, expired or unknown")

    @staticmethod
    def check_csrf(signed_in: SignedIn, token: str | None) -> None:
        """Compare a submitted CSRF token with the session's.

        Raises:
            CsrfRejected: missing or different.
        """
        if not token or not hmac.compare_digest(token.encode(), signed_in.csrf.encode()):
            raise CsrfRejected("the form is stale or did not come from this console; reload")

    def preferences(self, name: str) -> Preferences:
        """The moderator's wellness settings (the defaults if none were saved)."""
        with self._sessions() as session:
            row = session.get(ConsolePreferences, name)
            if row is None:
                return Preferences()
            return Preferences(row.blur_level, row.grayscale, row.break_minutes)

    def save_preferences(self, name: str, prefs: Preferences) -> None:
        """Store the moderator's wellness settings."""
        now = self._clock()
        with self._sessions.begin() as session:
            row = session.get(ConsolePreferences, name)
            if row is None:
                row = ConsolePreferences(moderator=name)
                session.add(row)
            row.blur_level = prefs.blur_level
            row.grayscale = prefs.grayscale
            row.break_minutes = prefs.break_minutes
            row.updated_at = now

    def now(self) -> int:
        """The service clock (ms)."""
        return self._clock()
