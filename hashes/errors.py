"""Exceptions raised by :mod:`hashes`.

Every exception derives from :class:`HashesError`; subclasses are chosen by what the caller
should do next::

    HashesError
    ├── DecodeError                the bytes are not an image we will read: skip or refuse it
    │   ├── EmptyInput             zero bytes
    │   ├── UnsupportedFormat      not an image, or a format outside the allowed set
    │   ├── CorruptImage           truncated or corrupt data
    │   ├── CorruptVideo           a video container or stream that will not demux or decode
    │   ├── DecodeCrashed          the sandbox's worker process died while decoding
    │   └── LimitExceeded          too big (or too slow) to decode safely
    │       ├── TooManyBytes
    │       ├── TooManyPixels      includes decompression bombs, refused before allocation
    │       ├── TooManyFrames
    │       ├── TooManyScans       a JPEG with more scans (SOS markers) than allowed
    │       ├── TooManyStreams     a video container with more streams than allowed
    │       ├── VideoTooLong       a video declaring (or reaching) more seconds than allowed
    │       ├── TooManyDecodedPixels  a video whose frames add up to more pixels than allowed
    │       ├── DecodeMemoryExceeded  would allocate (or did, in a sandbox) more than the budget
    │       └── DecodeTimeout      ran past the sandbox's wall-clock or CPU limit
    ├── HashFormatError            a hash's text or bytes form is malformed
    ├── AlgorithmMismatch          two hashes of different algorithms or lengths compared
    ├── HashListError              a hash list cannot be trusted or used
    │   ├── ListFormatError        bad magic, version, layout, or an entry that cannot parse
    │   │   └── ListTruncated      the file ends early
    │   ├── ListDigestMismatch     the content does not match its digest (altered)
    │   ├── SignatureError
    │   │   ├── SignatureMissing   the list carries no signature at all
    │   │   ├── SignatureInvalid   a signature does not verify
    │   │   ├── UnknownSigner      signed by a key the trust policy does not name
    │   │   └── NotEnoughSignatures fewer valid trusted signatures than the policy's k
    │   ├── ListRollback           version lower than the one already trusted
    │   ├── ChainBroken            previous_digest does not match the trusted previous version
    │   └── ListStale              the list is not fresh: keep the list in use, tell the user
    │       ├── ListExpired        its signed expiry has passed (a frozen or replayed feed)
    │       └── ListExpiryMissing  it carries no expiry and the holder's policy needs one
    ├── IndexQueryError            a query the index cannot answer (wrong bit length, bad t)
    └── TransparencyError          a transparency-log artefact cannot be trusted or used
        ├── TransparencyFormatError   bytes that do not follow the format: refuse them
        │   ├── NoteFormatError        a signed note (or vkey) breaks c2sp.org/signed-note
        │   ├── CheckpointFormatError  a note body that is not a c2sp.org/tlog-checkpoint
        │   ├── LeafFormatError        a log leaf that is not a Frankly list-version leaf
        │   └── TileFormatError        a tile path, tile or entry bundle breaks tlog-tiles
        ├── ProofRangeError        a proof asked for outside the tree (index >= size, m > n)
        ├── ProofInvalid           a Merkle proof does not verify: keep what you trust
        │   ├── InclusionProofInvalid   the leaf is not shown to be in the tree
        │   └── ConsistencyProofInvalid the new tree is not shown to extend the old one
        ├── NoteSignatureError     the log's signature on a note is missing or bad
        │   ├── NoteSignatureInvalid   a signature by a known key does not verify
        │   └── NoteNotSigned          no signature by the trusted (log) key at all
        ├── CosignatureError       the witnesses do not vouch for the checkpoint
        │   ├── CosignatureInvalid     a trusted witness's cosignature does not verify
        │   ├── UntrustedWitness       cosigned only by witness keys the policy does not name
        │   ├── TooFewCosignatures     fewer trusted witnesses than the policy's threshold
        │   └── CosignatureFromFuture  a cosignature timestamp after now (plus skew)
        ├── OriginMismatch         a checkpoint of another log than the one expected
        ├── CheckpointRollback     a smaller tree than the checkpoint already trusted
        ├── CheckpointFork         two checkpoints that cannot both be the same log (split view)
        ├── CheckpointReplay       an older checkpoint offered again as new (stale timestamp)
        ├── ListNotLogged          the log's leaf is not this list version (split view)
        ├── UnknownLogOrigin       a witness was sent a checkpoint of a log it does not follow
        └── WitnessSizeMismatch    a witness's latest cosigned size is not the request's old size
"""

from __future__ import annotations


class HashesError(Exception):
    """Base class of every exception raised by :mod:`hashes`."""


class DecodeError(HashesError):
    """The input is not an image that can be decoded safely."""


class EmptyInput(DecodeError):
    """The input has zero bytes."""


class UnsupportedFormat(DecodeError):
    """The input is not an image, or its format is not allowed."""


class CorruptImage(DecodeError):
    """The image data is truncated or corrupt."""


class LimitExceeded(DecodeError):
    """The input exceeds a decoding limit."""


class TooManyBytes(LimitExceeded):
    """The input is larger than the maximum number of bytes."""


class TooManyPixels(LimitExceeded):
    """The image declares more pixels than allowed (for example a decompression bomb)."""


class TooManyFrames(LimitExceeded):
    """The image has more frames than allowed."""


class TooManyScans(LimitExceeded):
    """A JPEG holds more scans (SOS markers) than allowed; each scan re-reads the picture."""


class TooManyStreams(LimitExceeded):
    """A video container holds more streams than allowed (refused before any decoding)."""


class VideoTooLong(LimitExceeded):
    """A video declares, or reaches while decoding, more seconds than allowed."""


class TooManyDecodedPixels(LimitExceeded):
    """A video's decoded frames add up to more pixels than allowed: a highly compressible
    stream (the video form of a zip bomb) is stopped by what it decodes to, not its size."""


class DecodeMemoryExceeded(LimitExceeded):
    """Decoding would allocate more memory than the budget (estimated from the header), or
    the sandbox's worker ran out of its address-space limit."""


class DecodeTimeout(LimitExceeded):
    """Decoding ran past the sandbox's wall-clock (or CPU) limit, or no worker was free in
    time; the worker was killed and replaced."""


class CorruptVideo(DecodeError):
    """The video container or its video stream is truncated or corrupt, or lacks what
    hashing needs (dimensions, a frame rate)."""


class DecodeCrashed(DecodeError):
    """The sandbox's worker process died while decoding (a signal, not a limit)."""


class HashFormatError(HashesError, ValueError):
    """A hash's text or binary form is malformed."""


class AlgorithmMismatch(HashesError, ValueError):
    """Two hashes of different algorithms or bit lengths were compared."""


class HashListError(HashesError):
    """A hash list cannot be trusted or used."""


class ListFormatError(HashListError):
    """The list file does not follow the format."""


class ListTruncated(ListFormatError):
    """The list file ends before its declared content."""


class ListDigestMismatch(HashListError):
    """The list's content does not match the digest its signatures cover."""


class SignatureError(HashListError):
    """The list's signatures do not satisfy the trust policy."""


class SignatureMissing(SignatureError):
    """The list carries no signature."""


class SignatureInvalid(SignatureError):
    """A signature on the list does not verify."""


class UnknownSigner(SignatureError):
    """The list is signed by a key the trust policy does not name."""


class NotEnoughSignatures(SignatureError):
    """Fewer valid trusted signatures than the trust policy's threshold."""


class ListRollback(HashListError):
    """The list's version is lower than the version already trusted."""


class ChainBroken(HashListError):
    """The list's previous_digest does not match the trusted previous version."""


class ListStale(HashListError):
    """The list is not fresh enough for the holder's policy."""


class ListExpired(ListStale):
    """The list's signed expiry (``expires_at_ms``) is not after the holder's clock."""


class ListExpiryMissing(ListStale):
    """The list carries no expiry and the holder's policy accepts only lists with one."""


class IndexQueryError(HashesError, ValueError):
    """The index cannot answer this query (wrong bit length or threshold)."""


class TransparencyError(HashesError):
    """A transparency-log artefact (proof, note, checkpoint, cosignature, tile, leaf) cannot
    be trusted or used."""


class TransparencyFormatError(TransparencyError, ValueError):
    """The bytes do not follow the format; nothing in them can be read."""


class NoteFormatError(TransparencyFormatError):
    """A signed note or a verifier key does not follow c2sp.org/signed-note exactly (or
    exceeds a size or line limit)."""


class CheckpointFormatError(TransparencyFormatError):
    """A note's text is not a c2sp.org/tlog-checkpoint body."""


class LeafFormatError(TransparencyFormatError):
    """A log leaf is not a well-formed Frankly list-version leaf."""


class TileFormatError(TransparencyFormatError):
    """A tile path, a tile or an entry bundle does not follow c2sp.org/tlog-tiles."""


class ProofRangeError(TransparencyError, ValueError):
    """A proof was asked for outside the tree: a leaf index at or past the tree size, or a
    consistency proof from a larger tree to a smaller one."""


class ProofInvalid(TransparencyError):
    """A Merkle proof does not verify against the roots it claims."""


class InclusionProofInvalid(ProofInvalid):
    """The inclusion proof does not show the leaf at that index in the tree with that root."""


class ConsistencyProofInvalid(ProofInvalid):
    """The consistency proof does not show the new tree to be an extension of the old one."""


class NoteSignatureError(TransparencyError):
    """The signature a note needs (the log's) is missing or does not verify."""


class NoteSignatureInvalid(NoteSignatureError):
    """A signature by a known key (name and key id match) does not verify: the note was
    altered or forged."""


class NoteNotSigned(NoteSignatureError):
    """No signature on the note is by the trusted key; the text must be ignored."""


class CosignatureError(TransparencyError):
    """The witnesses' cosignatures do not satisfy the witness policy."""


class CosignatureInvalid(CosignatureError):
    """A cosignature by a trusted witness key does not verify."""


class UntrustedWitness(CosignatureError):
    """The checkpoint is cosigned only by witness keys the policy does not name."""


class TooFewCosignatures(CosignatureError):
    """Fewer distinct trusted witnesses cosigned than the policy's threshold."""


class CosignatureFromFuture(CosignatureError):
    """A trusted witness's cosignature carries a timestamp later than now (plus the allowed
    clock skew)."""


class OriginMismatch(TransparencyError):
    """The checkpoint names another log (origin line) than the one expected."""


class CheckpointRollback(TransparencyError):
    """The checkpoint's tree is smaller than the checkpoint already trusted: a rollback."""


class CheckpointFork(TransparencyError):
    """Two checkpoints of one log that cannot both be true: the same size with different
    roots (a split view, proof that the log misbehaved)."""


class CheckpointReplay(TransparencyError):
    """A checkpoint whose newest trusted cosignature is older than one already seen: an old
    view replayed as new."""


class UnknownLogOrigin(TransparencyError):
    """A witness was asked to cosign a checkpoint of a log (origin) it does not follow."""


class WitnessSizeMismatch(TransparencyError):
    """The request's old size is not the size of the witness's latest cosigned checkpoint;
    ``latest_size`` is that size (tlog-witness answers it with 409)."""

    def __init__(self, message: str, latest_size: int) -> None:
        super().__init__(message)
        self.latest_size = latest_size


class ListNotLogged(TransparencyError):
    """The leaf a proof shows in the log is not this list version (another list id, version
    or digest): the list may be signed, but it is not the one in the public log."""
