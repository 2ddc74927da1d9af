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
    │   └── ChainBroken            previous_digest does not match the trusted previous version
    └── IndexQueryError            a query the index cannot answer (wrong bit length, bad t)
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


class IndexQueryError(HashesError, ValueError):
    """The index cannot answer this query (wrong bit length or threshold)."""
