"""Exceptions raised by :mod:`client_scan`.

Every exception derives from :class:`ClientScanError`. Verification failures carry the
machine-readable ``code`` of the design's error table, and the index of the failing
message when there is one::

    ClientScanError
    ├── FrankingError              a franked message or report does not verify (code, message_index)
    │   ├── UnknownKey             unknown_key
    │   ├── StampExpired           stamp_expired
    │   ├── TimestampInvalid       timestamp_invalid
    │   ├── NotParty               not_party
    │   ├── StampInvalid           stamp_invalid
    │   ├── CommitmentMismatch     commitment_mismatch
    │   ├── PayloadInvalid         payload_invalid
    │   ├── AttachmentMismatch     attachment_mismatch
    │   └── MixedConversations     mixed_conversations
    ├── ReportFormatError          a report is malformed before any cryptography (code)
    │   └── ReportLimitExceeded    too many messages, attachments, or too long a comment
    ├── SealError                  a sealed report does not open (wrong key, altered, not sealed)
    ├── InvalidInput               an argument is malformed (wrong key length, out-of-range integer)
    ├── EnvelopeError              a ciphertext does not open (wrong key, altered, other commitment)
    ├── KeyringError               a franking keyring is misconfigured (no active key, duplicate id)
    ├── RecordNotFound             no local franked record with that id
    ├── KeyPinError                the service's report key differs from the pinned one
    ├── ListUpdateRejected         a list update was refused; the list in use is kept (code)
    │   ├── ListExpired            list_expired: its signed expiry has passed (frozen feed?)
    │   ├── ListExpiryMissing      list_expiry_missing: no expiry, the device policy needs one
    │   ├── ListNotCuratorSigned   list_unsigned: the list (or its leaf) lacks trusted curators
    │   ├── ListRolledBack         list_rollback: older than the version trusted
    │   ├── ListChainBroken        chain_broken: another list, a fork, or a broken chain
    │   ├── UpdateBundleInvalid    bundle_invalid: the update bundle is malformed or too large
    │   ├── LogProofRequired       log_proof_required: a bare list on a device with a log policy
    │   ├── BundleBaseMismatch     bundle_base_mismatch: proof from another size than trusted
    │   ├── SplitView              the list is not the one the public log holds
    │   │   ├── LeafMismatch       leaf_mismatch: the leaf names another digest or fields
    │   │   └── NotInLog           not_in_log: the inclusion proof does not verify
    │   ├── CheckpointRefused      checkpoint_invalid: not signed by the log key, or malformed
    │   ├── WitnessNotTrusted      witness_untrusted: cosigned only by unknown witness keys
    │   ├── NotEnoughCosignatures  too_few_cosignatures: fewer trusted witnesses than policy
    │   ├── LogInconsistent        log_inconsistent: no valid consistency proof (fork?)
    │   │   └── LogForked          log_fork: same size, different root than trusted
    │   ├── LogRolledBack          log_rollback: a smaller tree than the trusted checkpoint
    │   └── CheckpointReplayed     checkpoint_replayed: cosigned earlier than the trusted one
    ├── LogUnavailable             a published log could not be read (network, 404, too large)
    ├── TrustStoreError            the device's trusted-state file is unreadable or malformed
    ├── LogAuditFailed             an auditor found the published log wrong (code)
    │   ├── AuditCheckpointInvalid audit_checkpoint: bad log signature, witnesses, or format
    │   ├── AuditInconsistent      audit_inconsistent: fork, rollback or replay against state
    │   ├── AuditTreeMismatch      audit_tree: entries or tiles do not hash to the checkpoint
    │   ├── AuditLeafInvalid       audit_leaf: a leaf does not parse
    │   ├── AuditChainBroken       audit_chain: a version is not the successor of the previous
    │   └── AuditListInvalid       audit_list: a list body is missing, unsigned or mismatched
    └── SubmissionError            a report could not be submitted
        ├── SubmissionDeferred     retryable (network, 5xx, 429): kept in the outbox for retry
        │   └── SendPending        a message send was deferred; kept in the outbox for retry
        └── ReportRejected         refused for good (4xx): code, status, message_index
"""

from __future__ import annotations

from typing import ClassVar


class ClientScanError(Exception):
    """Base class of every exception raised by :mod:`client_scan`."""


class FrankingError(ClientScanError):
    """A franked message or report does not verify.

    ``code`` is the design's machine-readable error code; ``message_index`` names the
    failing message of a report, when the failure belongs to one message.
    """

    code: ClassVar[str] = "franking_error"

    def __init__(self, detail: str, *, message_index: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.message_index = message_index

    def with_index(self, message_index: int) -> FrankingError:
        """Return a copy of this error that names the failing message of a report."""
        return type(self)(self.detail, message_index=message_index)


class UnknownKey(FrankingError):
    """The stamp's key id is not in the keyring."""

    code = "unknown_key"


class StampExpired(FrankingError):
    """The timestamp is outside the key's validity or older than the retention window."""

    code = "stamp_expired"


class TimestampInvalid(FrankingError):
    """The timestamp lies in the future beyond the allowed clock skew."""

    code = "timestamp_invalid"


class NotParty(FrankingError):
    """The reporter is neither sender nor recipient, or is not the recipient of a reported
    message."""

    code = "not_party"


class StampInvalid(FrankingError):
    """The stamp does not verify over (c, s, r, conv, t, kid)."""

    code = "stamp_invalid"


class CommitmentMismatch(FrankingError):
    """The commitment does not open to the payload under the franking key."""

    code = "commitment_mismatch"


class PayloadInvalid(FrankingError):
    """The payload is not a valid version-1 payload."""

    code = "payload_invalid"


class AttachmentMismatch(FrankingError):
    """Attachment bytes do not hash to a digest committed in a (reported) message."""

    code = "attachment_mismatch"


class MixedConversations(FrankingError):
    """The messages of a report span more than one conversation."""

    code = "mixed_conversations"


FRANKING_ERRORS: tuple[type[FrankingError], ...] = (
    UnknownKey,
    StampExpired,
    TimestampInvalid,
    NotParty,
    StampInvalid,
    CommitmentMismatch,
    PayloadInvalid,
    AttachmentMismatch,
    MixedConversations,
)
"""The design's error table, in its order (which is also the order checks run in)."""


class ReportFormatError(ClientScanError):
    """A report is malformed: bad JSON, missing or mistyped fields, bad base64."""

    code: str = "report_invalid"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code


class ReportLimitExceeded(ReportFormatError):
    """A report exceeds a limit: messages, attachments, or comment length."""

    code = "report_too_large"


class SealError(ClientScanError):
    """A sealed report does not open: wrong key, altered, or not a sealed box at all."""

    code = "seal_invalid"


class InvalidInput(ClientScanError, ValueError):
    """An argument is malformed: a key of the wrong length, an integer out of range."""


class EnvelopeError(ClientScanError):
    """A ciphertext does not open: wrong key, altered, or delivered with another commitment."""


class KeyringError(ClientScanError, ValueError):
    """A franking keyring is misconfigured."""


class RecordNotFound(ClientScanError, LookupError):
    """No local franked record has that id."""


class KeyPinError(ClientScanError):
    """The service's report-sealing key differs from the pinned key for that key id."""


class ListUpdateRejected(ClientScanError):
    """A hash-list update was refused and the list in use is kept; ``code`` says why
    (machine-readable), ``__cause__`` is the ``hashes`` error when there is one."""

    code: ClassVar[str] = "list_refused"


class ListExpired(ListUpdateRejected):
    """The list's signed expiry has passed: the feed may be frozen; tell the user."""

    code = "list_expired"


class ListExpiryMissing(ListUpdateRejected):
    """The list carries no expiry and the device policy accepts only lists that expire."""

    code = "list_expiry_missing"


class ListNotCuratorSigned(ListUpdateRejected):
    """The list is not signed by enough trusted curators, or its log leaf does not name
    them: a log entry for a list the curators never signed is refused."""

    code = "list_unsigned"


class ListRolledBack(ListUpdateRejected):
    """The list's version is older than the version the device trusts."""

    code = "list_rollback"


class ListChainBroken(ListUpdateRejected):
    """Another list id, another list under the trusted version (a fork), or a next version
    that does not chain to the trusted digest."""

    code = "chain_broken"


class UpdateBundleInvalid(ListUpdateRejected):
    """The list update bundle is malformed, over a size bound, or carries bad proofs."""

    code = "bundle_invalid"


class LogProofRequired(ListUpdateRejected):
    """A bare list was offered to a device that accepts lists only with log proofs."""

    code = "log_proof_required"


class BundleBaseMismatch(ListUpdateRejected):
    """The bundle's consistency proof starts from another tree size than the checkpoint
    the device trusts; fetch a bundle from ``trusted_size``."""

    code = "bundle_base_mismatch"

    def __init__(self, detail: str, *, trusted_size: int) -> None:
        super().__init__(detail)
        self.trusted_size = trusted_size


class SplitView(ListUpdateRejected):
    """The list offered is not shown to be the one in the public log."""

    code = "split_view"


class LeafMismatch(SplitView):
    """The log leaf does not describe this list (another digest, version or expiry)."""

    code = "leaf_mismatch"


class NotInLog(SplitView):
    """The inclusion proof does not show the list's leaf in the checkpoint's tree."""

    code = "not_in_log"


class CheckpointRefused(ListUpdateRejected):
    """The checkpoint is malformed, of another log, or not validly signed by the log key
    (or a trusted witness's cosignature is bad or from the future)."""

    code = "checkpoint_invalid"


class WitnessNotTrusted(ListUpdateRejected):
    """The checkpoint is cosigned only by witness keys the device policy does not name."""

    code = "witness_untrusted"


class NotEnoughCosignatures(ListUpdateRejected):
    """Fewer trusted witnesses cosigned than the device policy's threshold."""

    code = "too_few_cosignatures"


class LogInconsistent(ListUpdateRejected):
    """The new checkpoint is not shown to extend the one the device trusts."""

    code = "log_inconsistent"


class LogForked(LogInconsistent):
    """Same tree size as the trusted checkpoint with another root: the log forked."""

    code = "log_fork"


class LogRolledBack(ListUpdateRejected):
    """A smaller tree than the checkpoint the device trusts."""

    code = "log_rollback"


class CheckpointReplayed(ListUpdateRejected):
    """The checkpoint's cosignatures are older than those the device already trusts."""

    code = "checkpoint_replayed"


class LogUnavailable(ClientScanError):
    """A published transparency log could not be read (unreachable, missing file, an
    answer over the size bound); try again later, keep the list in use."""


class TrustStoreError(ClientScanError):
    """The device's trusted-state file is unreadable or malformed (it is never silently
    reset: an empty state would accept any rollback)."""


class LogAuditFailed(ClientScanError):
    """An auditor found the published log wrong; ``code`` says how."""

    code: ClassVar[str] = "audit_failed"


class AuditCheckpointInvalid(LogAuditFailed):
    """The checkpoint is malformed, not signed by the log key, or not cosigned enough."""

    code = "audit_checkpoint"


class AuditInconsistent(LogAuditFailed):
    """The log does not extend the checkpoint the auditor saw before (fork, rollback,
    replayed checkpoint)."""

    code = "audit_inconsistent"


class AuditTreeMismatch(LogAuditFailed):
    """The entries or the tiles do not hash to the checkpoint's root."""

    code = "audit_tree"


class AuditLeafInvalid(LogAuditFailed):
    """A log entry is not a well-formed list leaf."""

    code = "audit_leaf"


class AuditChainBroken(LogAuditFailed):
    """A list version in the log is not the successor of the previous logged version."""

    code = "audit_chain"


class AuditListInvalid(LogAuditFailed):
    """A logged list's body is missing (when required), not signed by trusted curators, or
    not the list its leaf describes."""

    code = "audit_list"


class SubmissionError(ClientScanError):
    """A report could not be submitted."""


class SubmissionDeferred(SubmissionError):
    """A retryable failure (network, 5xx, 429): the report stays in the outbox."""

    def __init__(self, detail: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after_s = retry_after_s


class SendPending(SubmissionDeferred):
    """A message could not be handed to the relay yet. It is kept in the outbox under
    ``client_message_id`` and re-sent by the messenger's flush with the same id (the relay
    answers a repeat with the first stamp), so the app must not send it again."""

    def __init__(
        self, detail: str, *, client_message_id: str, retry_after_s: float | None = None
    ) -> None:
        super().__init__(detail, retry_after_s=retry_after_s)
        self.client_message_id = client_message_id


class ReportRejected(SubmissionError):
    """The service refused the report for good (a 4xx other than 429)."""

    def __init__(
        self, code: str, message: str, *, status: int, message_index: int | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.message_index = message_index
