"""Test helpers: an environ builder that knows the app's URL settings, a
test client that keeps cookies and can keep the last request's context, and
a CLI runner."""

from __future__ import annotations

import importlib.metadata
import typing as t
from contextlib import ExitStack, contextmanager
from copy import copy
from types import TracebackType
from urllib.parse import urlsplit

import werkzeug.test
from click.testing import CliRunner, Result
from werkzeug.test import Client
from werkzeug.wrappers import Request as BaseRequest

from .sessions import SessionMixin

if t.TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import WSGIEnvironment
    from werkzeug.test import TestResponse

    from .app import App


class EnvironBuilder(werkzeug.test.EnvironBuilder):
    """Werkzeug's environ builder with the base URL taken from the app:
    ``SERVER_NAME`` (else ``localhost``), ``APPLICATION_ROOT`` and
    ``PREFERRED_URL_SCHEME``; JSON bodies use the app's JSON provider.

    :param subdomain: prepended to the server name.
    :param url_scheme: overrides ``PREFERRED_URL_SCHEME``.
    """

    def __init__(
        self,
        app: App,
        path: str = "/",
        base_url: str | None = None,
        subdomain: str | None = None,
        url_scheme: str | None = None,
        *args: t.Any,
        **kwargs: t.Any,
    ) -> None:
        if base_url is not None and (subdomain or url_scheme):
            raise ValueError('Cannot pass "subdomain" or "url_scheme" with "base_url".')
        if base_url is None:
            http_host = app.config.get("SERVER_NAME") or "localhost"
            app_root = app.config["APPLICATION_ROOT"]
            if subdomain:
                http_host = f"{subdomain}.{http_host}"
            if url_scheme is None:
                url_scheme = app.config["PREFERRED_URL_SCHEME"]
            url = urlsplit(path)
            base_url = (
                f"{url.scheme or url_scheme}://{url.netloc or http_host}"
                f"/{app_root.lstrip('/')}"
            )
            path = url.path
            if url.query:
                path = f"{path}?{url.query}"
        self.app = app
        super().__init__(path, base_url, *args, **kwargs)

    def json_dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialize a ``json=`` body with the app's provider."""
        return self.app.json.dumps(obj, **kwargs)


_werkzeug_version = ""


def _get_werkzeug_version() -> str:
    global _werkzeug_version
    if not _werkzeug_version:
        _werkzeug_version = importlib.metadata.version("werkzeug")
    return _werkzeug_version


class AppClient(Client):
    """Sends requests to the app in-process (``app.test_client()``).

    Cookies are kept between requests. Inside ``with client:`` the contexts
    of the last request stay pushed until the next request or the end of the
    block, so ``request`` and ``session`` can be inspected after a call.
    """

    application: App

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.preserve_context = False
        self._new_contexts: list[t.ContextManager[t.Any]] = []
        self._context_stack = ExitStack()
        self.environ_base = {
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_USER_AGENT": f"Werkzeug/{_get_werkzeug_version()}",
        }

    @contextmanager
    def session_transaction(
        self, *args: t.Any, **kwargs: t.Any
    ) -> t.Iterator[SessionMixin]:
        """Open the session the next request would see, let the block change
        it, and store it back in the client's cookies. Arguments describe the
        request as for :meth:`open` (e.g. another path or subdomain)."""
        if self._cookies is None:
            raise TypeError(
                "Cookies are disabled. Create a client with 'use_cookies=True'."
            )
        app = self.application
        ctx = app.test_request_context(*args, **kwargs)
        self._add_cookies_to_wsgi(ctx.request.environ)
        with ctx:
            sess = app.session_interface.open_session(app, ctx.request)
        if sess is None:
            raise RuntimeError("Session backend did not open a session.")
        yield sess
        resp = app.response_class()
        if app.session_interface.is_null_session(sess):
            return
        with ctx:
            app.session_interface.save_session(app, sess, resp)
        self._update_cookies_from_response(
            ctx.request.host.partition(":")[0],
            ctx.request.path,
            resp.headers.getlist("Set-Cookie"),
        )

    def _copy_environ(self, other: t.Mapping[str, t.Any]) -> WSGIEnvironment:
        out = {**self.environ_base, **other}
        if self.preserve_context:
            out["werkzeug.debug.preserve_context"] = self._new_contexts.append
        return out

    def _request_from_builder_args(
        self, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]
    ) -> BaseRequest:
        kwargs["environ_base"] = self._copy_environ(kwargs.get("environ_base", {}))
        builder = EnvironBuilder(self.application, *args, **kwargs)
        try:
            return builder.get_request()
        finally:
            builder.close()

    def open(
        self,
        *args: t.Any,
        buffered: bool = False,
        follow_redirects: bool = False,
        **kwargs: t.Any,
    ) -> TestResponse:
        if args and isinstance(
            args[0], (werkzeug.test.EnvironBuilder, dict, BaseRequest)
        ):
            if isinstance(args[0], werkzeug.test.EnvironBuilder):
                builder = copy(args[0])
                builder.environ_base = self._copy_environ(builder.environ_base or {})
                request = builder.get_request()
            elif isinstance(args[0], dict):
                request = EnvironBuilder.from_environ(
                    args[0], app=self.application, environ_base=self._copy_environ({})
                ).get_request()
            else:
                request = copy(args[0])
                request.environ = self._copy_environ(request.environ)
        else:
            request = self._request_from_builder_args(args, kwargs)

        # Contexts kept from the previous request end before the next one.
        self._context_stack.close()
        response = super().open(
            request, buffered=buffered, follow_redirects=follow_redirects
        )
        # The app's JSON provider, whose loads() stands in for the json module's.
        response.json_module = self.application.json  # type: ignore[assignment]
        # Re-push the kept contexts in the order the request pushed them (each
        # app context before its request context); after redirects the last
        # request's contexts end up on top.
        for cm in self._new_contexts:
            self._context_stack.enter_context(cm)
        self._new_contexts.clear()
        return response

    def __enter__(self) -> AppClient:
        if self.preserve_context:
            raise RuntimeError("Cannot nest client invocations")
        self.preserve_context = True
        return self

    def __exit__(
        self,
        exc_type: type | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.preserve_context = False
        self._context_stack.close()


class AppCliRunner(CliRunner):
    """Invokes the app's CLI commands in isolation (``app.test_cli_runner()``)."""

    def __init__(self, app: App, **kwargs: t.Any) -> None:
        self.app = app
        super().__init__(**kwargs)

    def invoke(  # type: ignore[override]  # cli is optional: the app's group
        self, cli: t.Any = None, args: t.Any = None, **kwargs: t.Any
    ) -> Result:
        """Run ``cli`` (default: the app's command group) with ``args``; the
        app is provided through a :class:`~gateway.cli.ScriptInfo`."""
        if cli is None:
            cli = self.app.cli
        if "obj" not in kwargs:
            from .cli import ScriptInfo

            kwargs["obj"] = ScriptInfo(create_app=lambda: self.app)
        return super().invoke(cli, args, **kwargs)
