"""JSON providers: how an application turns Python objects into JSON and back.

Every application owns one provider instance as ``app.json``. The
:class:`DefaultJSONProvider` wraps the standard library :mod:`json` module and
knows a few more types (dates, UUIDs, decimals, dataclasses and anything with an
``__html__`` method). Swap it by setting ``App.json_provider_class`` or by
assigning another :class:`JSONProvider` to ``app.json``.
"""

from __future__ import annotations

import json
import sys
import typing as t
import weakref
from datetime import date

from werkzeug.http import http_date

from .._responses import text_response

if t.TYPE_CHECKING:  # pragma: no cover
    from werkzeug.sansio.response import Response

    from ..app import App


class JSONProvider:
    """The JSON operations one application uses.

    Subclasses implement at least :meth:`dumps` and :meth:`loads`; the file
    variants and :meth:`response` are built on those two. The application is
    held through a :func:`weakref.proxy` (as ``_app``) so the provider never
    keeps a discarded application alive.
    """

    def __init__(self, app: App) -> None:
        # The proxy stands for the app (and raises once the app is gone).
        self._app: App = t.cast("App", weakref.proxy(app))

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialize ``obj`` to a JSON string; ``kwargs`` go to the library."""
        raise NotImplementedError

    def dump(self, obj: t.Any, fp: t.IO[str], **kwargs: t.Any) -> None:
        """Serialize ``obj`` and write it to the text file ``fp``."""
        fp.write(self.dumps(obj, **kwargs))

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        """Parse JSON from text or UTF-8 bytes."""
        raise NotImplementedError

    def load(self, fp: t.IO[t.AnyStr], **kwargs: t.Any) -> t.Any:
        """Parse JSON read from the file ``fp`` (text or UTF-8 bytes)."""
        return self.loads(fp.read(), **kwargs)

    def _prepare_response_obj(
        self, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]
    ) -> t.Any:
        """Pick the value :meth:`response` serializes from its arguments.

        Positional and keyword arguments are mutually exclusive: one positional
        value is used as is, several become a list, keywords become a dict, and
        nothing at all serializes ``None``.
        """
        if args and kwargs:
            raise TypeError("app.json.response() takes either args or kwargs, not both")
        if not args and not kwargs:
            return None
        if len(args) == 1:
            return args[0]
        return args or kwargs

    def response(self, *args: t.Any, **kwargs: t.Any) -> Response:
        """Serialize the arguments and wrap them in an ``application/json``
        response of the application's ``response_class``.
        """
        obj = self._prepare_response_obj(args, kwargs)
        return text_response(
            self._app.response_class, self.dumps(obj), "application/json"
        )


def _default(o: t.Any) -> t.Any:
    """Convert a value the standard encoder does not know into a JSON type.

    Dates become HTTP dates (RFC 822, UTC), decimals and UUIDs strings,
    dataclass instances dicts, and HTML-safe objects their markup string.
    """
    if isinstance(o, date):
        return http_date(o)
    # decimal, uuid and dataclasses are looked up, not imported: until a
    # module is loaded no value can be one of its types, and not importing
    # them keeps ``import gateway`` quicker.
    modules = sys.modules
    decimal, uuid = modules.get("decimal"), modules.get("uuid")
    if (decimal is not None and isinstance(o, decimal.Decimal)) or (
        uuid is not None and isinstance(o, uuid.UUID)
    ):
        return str(o)
    dataclasses = modules.get("dataclasses")
    if (
        dataclasses is not None
        and dataclasses.is_dataclass(o)
        and not isinstance(o, type)
    ):
        return dataclasses.asdict(o)
    if hasattr(o, "__html__"):
        return str(o.__html__())
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


class DefaultJSONProvider(JSONProvider):
    """A provider on the standard library's :mod:`json`.

    Beyond the types :mod:`json` handles it serializes :class:`datetime.date`
    and :class:`datetime.datetime` (as HTTP date strings), :class:`uuid.UUID`,
    :class:`decimal.Decimal`, dataclass instances and objects with an
    ``__html__`` method such as :class:`markupsafe.Markup`. The class
    attributes below can be changed on the class or on ``app.json``.
    """

    #: Called for objects the encoder cannot serialize; returns a JSON-able
    #: value or raises :exc:`TypeError`.
    default: t.Callable[[t.Any], t.Any] = staticmethod(_default)

    #: Escape every non-ASCII character as ``\\uXXXX``.
    ensure_ascii = True

    #: Sort the keys of every object in the output (keys must be strings).
    sort_keys = True

    #: ``True`` (or ``None`` outside debug mode) makes :meth:`response` write
    #: the most compact form; ``False`` (or ``None`` in debug mode) indents it.
    compact: bool | None = None

    #: The mimetype of the responses :meth:`response` builds.
    mimetype = "application/json"

    # Encoders are stateless once built, so one per distinct set of options is
    # shared by every call (and thread); building one costs more than a small
    # encode. Keyed by the options, so changing an attribute takes effect at once.
    _encoder_cache_size = 32

    def __init__(self, app: App) -> None:
        super().__init__(app)
        self._encoders: dict[tuple[t.Any, ...], json.JSONEncoder] = {}

    def _encoder(
        self, indent: int | None, separators: tuple[str, str] | None
    ) -> json.JSONEncoder:
        key = (self.default, self.ensure_ascii, self.sort_keys, indent, separators)
        try:
            return self._encoders[key]
        except KeyError:
            pass
        encoder = json.JSONEncoder(
            default=self.default,
            ensure_ascii=self.ensure_ascii,
            sort_keys=self.sort_keys,
            indent=indent,
            separators=separators,
        )
        if len(self._encoders) >= self._encoder_cache_size:
            self._encoders.clear()
        self._encoders[key] = encoder
        return encoder

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialize ``obj`` with :func:`json.dumps`.

        :attr:`default`, :attr:`ensure_ascii` and :attr:`sort_keys` are used
        unless given in ``kwargs``; other keywords go to :func:`json.dumps`.
        """
        if not kwargs or kwargs.keys() <= {"indent", "separators"}:
            return self._encoder(kwargs.get("indent"), kwargs.get("separators")).encode(
                obj
            )
        kwargs.setdefault("default", self.default)
        kwargs.setdefault("ensure_ascii", self.ensure_ascii)
        kwargs.setdefault("sort_keys", self.sort_keys)
        return json.dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        """Parse JSON text or UTF-8 bytes with :func:`json.loads`."""
        return json.loads(s, **kwargs)

    def response(self, *args: t.Any, **kwargs: t.Any) -> Response:
        """Serialize the arguments into a response with :attr:`mimetype`.

        The body is indented when :attr:`compact` is ``False``, or ``None``
        while the application is in debug mode; otherwise it has no spaces at
        all. A newline always ends the body.
        """
        obj = self._prepare_response_obj(args, kwargs)
        if self.compact is False or (self.compact is None and self._app.debug):
            body = self.dumps(obj, indent=2)
        else:
            body = self.dumps(obj, separators=(",", ":"))
        return text_response(self._app.response_class, f"{body}\n", self.mimetype)
