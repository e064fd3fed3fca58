"""The session cookie's signature, checked and made in a few C calls.

The cookie format is itsdangerous' :class:`~itsdangerous.URLSafeTimedSerializer`
(``payload.timestamp.signature``, each part URL-safe base64, the payload
zlib-compressed and prefixed with ``.`` when that makes it shorter), signed by
HMAC under a key derived from the secret key and the salt. Going through
itsdangerous builds a signer object per call and runs some fifty Python calls
per request; :class:`CookieSerializer` derives its keys once and does the
common case inline. Its output is byte for byte itsdangerous', and any cookie
it cannot accept on its fast path (bad signature, expired, malformed) is
handed to itsdangerous, so every error is the one itsdangerous raises.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import time
import typing as t
import zlib

from itsdangerous import URLSafeTimedSerializer, signer
from itsdangerous.encoding import bytes_to_int, int_to_bytes
from itsdangerous.signer import HMACAlgorithm


def _lazy_sha1(string: bytes = b"") -> t.Any:
    """SHA-1, looked up on use: FIPS builds of Python may lack it, and that must
    only matter to applications that really sign with it.
    """
    return hashlib.sha1(string)


# itsdangerous' own lazy SHA-1 (private: a release without it only loses the
# OpenSSL shortcut for signers built with its default).
_ITSDANGEROUS_SHA1 = getattr(signer, "_lazy_sha1", None)


def hmac_digestmod(digest_method: t.Any) -> t.Any:
    """What :func:`hmac.digest` is given for ``digest_method``.

    The lazy SHA-1 wrappers hide the hash from :mod:`hmac`, which then falls
    back to its pure-Python implementation; naming it lets OpenSSL do the
    work (same bytes, several times faster). Still resolved on use.
    """
    if digest_method is _lazy_sha1 or digest_method is _ITSDANGEROUS_SHA1:
        return "sha1"
    return digest_method


# itsdangerous' base64_encode and base64_decode, for bytes, as the binascii
# calls that base64.urlsafe_b64encode and urlsafe_b64decode make: the same
# bytes and the same errors, without five Python calls per part (about 350
# bytecodes a session round trip, 7% of it).
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def _encode(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=")


def _decode(data: bytes) -> bytes:
    padded = data + b"=" * (-len(data) % 4)
    return binascii.a2b_base64(padded.translate(_FROM_URLSAFE), strict_mode=False)


def _mac(keyed: hmac.HMAC, value: bytes) -> bytes:
    """The HMAC of ``value`` under ``keyed``'s key."""
    mac = keyed.copy()
    mac.update(value)
    return mac.digest()


class CookieSerializer(URLSafeTimedSerializer):
    """A :class:`~itsdangerous.URLSafeTimedSerializer` whose :meth:`dumps`
    and :meth:`loads` sign and verify without building a signer per call.

    Only the plain case takes the short way: the configured salt, no
    timestamp asked for, an HMAC signer. Everything else, and every cookie
    the short way does not accept, goes through itsdangerous unchanged.
    """

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        signer = self.make_signer(self.salt)
        algorithm = signer.algorithm
        self._fast = False
        if (
            isinstance(algorithm, HMACAlgorithm)
            and not self.fallback_signers
            and signer.sep == b"."
        ):
            self._fast = True
            # Newest key first: the order in which itsdangerous tries them.
            digestmod = hmac_digestmod(algorithm.digest_method)
            # An HMAC keyed once per key, copied for each signature: the key
            # set-up of hmac.digest took a third of its 4 us (two per
            # session round trip). Copying is thread-safe.
            self._macs = [
                hmac.new(signer.derive_key(k), digestmod=digestmod)
                for k in reversed(signer.secret_keys)
            ]
            self._text = self.is_text_serializer

    def dumps(self, obj: t.Any, salt: str | bytes | None = None) -> str:
        if not self._fast or salt is not None:
            return super().dumps(obj, salt)
        data: str | bytes = self.serializer.dumps(obj, **self.serializer_kwargs)
        json = data.encode("utf-8") if isinstance(data, str) else data
        compressed = zlib.compress(json)
        if len(compressed) < len(json) - 1:
            value = b"." + _encode(compressed)
        else:
            value = _encode(json)
        value += b"." + _encode(int_to_bytes(int(time.time())))
        signature = _mac(self._macs[0], value)
        rv = value + b"." + _encode(signature)
        return rv.decode("utf-8") if self._text else rv  # type: ignore[return-value]

    def loads(  # type: ignore[override]
        self,
        s: str | bytes,
        max_age: int | None = None,
        return_timestamp: bool = False,
        salt: str | bytes | None = None,
    ) -> t.Any:
        if self._fast and not return_timestamp and salt is None:
            value = self._verified(s, max_age)
            if value is not None:
                return self.load_payload(value)
        # Not accepted above: itsdangerous decides, and raises its own error.
        return super().loads(s, max_age, return_timestamp, salt)

    def _verified(self, s: str | bytes, max_age: int | None) -> bytes | None:
        """The payload of ``s`` if its signature holds and it has not
        expired; ``None`` for anything else."""
        if isinstance(s, str):
            s = s.encode("utf-8")
        signed, sep, signature = s.rpartition(b".")
        if not sep:
            return None
        try:
            expected = _decode(signature)
        except Exception:
            return None
        for mac in self._macs:
            if hmac.compare_digest(expected, _mac(mac, signed)):
                break
        else:
            return None
        payload, sep, timestamp = signed.rpartition(b".")
        if not sep:
            return None
        try:
            signed_at = bytes_to_int(_decode(timestamp))
        except Exception:
            return None
        if max_age is not None and not 0 <= int(time.time()) - signed_at <= max_age:
            return None
        return payload
