"""The developer's tools of :class:`~gateway.App`: the development
server, the test client and CLI runner, and the namespace of the shell."""

from __future__ import annotations

import typing as t

from werkzeug.serving import is_running_from_reloader

from . import _names
from .globals import g
from .helpers import get_debug_flag, get_load_dotenv

if t.TYPE_CHECKING:  # pragma: no cover
    from . import typing as ft
    from .app import App
    from .config import Config
    from .testing import AppClient, AppCliRunner
    from .wrappers import Response


class ToolsMixin:
    """What a developer runs an application with (mixed into
    :class:`~gateway.App`).

    Needs from the class it is mixed into (declared below): the config, the
    name and ``debug`` flag, the shell context processors, the response
    class and the test classes (all from :class:`~gateway.App`).
    """

    config: Config
    name: str
    debug: bool
    shell_context_processors: list[ft.ShellContextProcessorCallable]
    response_class: type[Response]
    test_client_class: type[AppClient] | None
    test_cli_runner_class: type[AppCliRunner] | None
    _got_first_request: bool

    def make_shell_context(self) -> dict[str, t.Any]:
        """The namespace of ``gateway shell``: ``app``, ``g`` and what the
        shell context processors add."""
        rv: dict[str, t.Any] = {"app": self, "g": g}
        for processor in self.shell_context_processors:
            rv.update(processor())
        return rv

    def run(
        self,
        host: str | None = None,
        port: int | None = None,
        debug: bool | None = None,
        load_dotenv: bool = True,
        **options: t.Any,
    ) -> None:
        """Serve the app on Werkzeug's development server (not for
        production). Host and port default to ``SERVER_NAME``'s, else
        127.0.0.1:5000; debug mode turns on the reloader and debugger.
        Options go to :func:`werkzeug.serving.run_simple`."""
        if _names.getenv("RUN_FROM_CLI") == "true":
            import click

            if not is_running_from_reloader():
                click.secho(
                    " * Ignoring a call to 'app.run()' that would block"
                    f" the current '{_names.command()}' CLI command.\n"
                    "   Only call 'app.run()' in an 'if __name__ =="
                    ' "__main__"\' guard.',
                    fg="red",
                )
            return
        from . import cli

        if get_load_dotenv(load_dotenv):
            cli.load_dotenv()
            if _names.getenv("DEBUG") is not None:
                self.debug = get_debug_flag()
        if debug is not None:
            self.debug = bool(debug)

        server_name = self.config.get("SERVER_NAME")
        sn_host = sn_port = None
        if server_name:
            sn_host, _, sn_port = server_name.partition(":")
        if not host:
            host = sn_host or "127.0.0.1"
        if port or port == 0:
            port = int(port)
        elif sn_port:
            port = int(sn_port)
        else:
            port = 5000
        options.setdefault("use_reloader", self.debug)
        options.setdefault("use_debugger", self.debug)
        options.setdefault("threaded", True)
        cli.show_server_banner(self.debug, self.name)

        from werkzeug.serving import run_simple

        try:
            run_simple(t.cast(str, host), port, t.cast("App", self), **options)
        finally:
            self._got_first_request = False

    def test_client(self, use_cookies: bool = True, **kwargs: t.Any) -> AppClient:
        """A client that sends requests to the app without a server,
        keeping cookies between requests (see :class:`~gateway.testing.AppClient`)."""
        cls = self.test_client_class
        if cls is None:
            from .testing import AppClient

            cls = AppClient
        return cls(
            t.cast("App", self), self.response_class, use_cookies=use_cookies, **kwargs
        )

    def test_cli_runner(self, **kwargs: t.Any) -> AppCliRunner:
        """A runner that invokes the app's CLI commands in tests."""
        cls = self.test_cli_runner_class
        if cls is None:
            from .testing import AppCliRunner

            cls = AppCliRunner
        return cls(t.cast("App", self), **kwargs)
