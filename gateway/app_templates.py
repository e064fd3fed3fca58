"""The template side of :class:`~gateway.App`: its Jinja environment, the
context every template gets, and template filters, tests and globals."""

from __future__ import annotations

import typing as t
from itertools import chain

from .globals import _cv_app, _cv_request, g, request, session
from .helpers import get_flashed_messages
from .scaffold import setupmethod

if t.TYPE_CHECKING:  # pragma: no cover
    from . import typing as ft
    from .app import App
    from .config import Config
    from .json.provider import JSONProvider
    from .templating import DispatchingJinjaLoader, Environment

T_template_filter = t.TypeVar("T_template_filter", bound="ft.TemplateFilterCallable")
T_template_global = t.TypeVar("T_template_global", bound="ft.TemplateGlobalCallable")
T_template_test = t.TypeVar("T_template_test", bound="ft.TemplateTestCallable")


def _default_template_ctx_processor() -> dict[str, t.Any]:
    """Put the objects behind ``g`` and ``request`` into every template
    context. ``session`` stays the proxy (a global of the environment):
    resolving it here would open the session cookie for every render."""
    appctx = _cv_app.get(None)
    reqctx = _cv_request.get(None)
    rv: dict[str, t.Any] = {}
    if appctx is not None:
        rv["g"] = appctx.g
    if reqctx is not None:
        rv["request"] = reqctx.request
    return rv


class TemplatesMixin:
    """Jinja set-up of an application (mixed into :class:`~gateway.App`).

    Needs from the class it is mixed into (declared below): the config, the
    ``debug`` flag, the JSON provider, the Jinja options, environment class
    and environment, ``ensure_sync`` and the set-up check of
    :func:`~gateway.scaffold.setupmethod` (all from :class:`~gateway.App`),
    the context processors (from :class:`~gateway.scaffold.Scaffold`) and
    ``url_for`` (from :class:`~gateway.app_urls.URLsMixin`). The environment
    and its loader are handed the application itself: only
    :class:`~gateway.App` mixes this in.
    """

    config: Config
    debug: bool
    json: JSONProvider
    jinja_options: dict[str, t.Any]
    jinja_environment: type[Environment]
    jinja_env: Environment
    template_context_processors: dict[
        ft.AppOrBlueprintKey, list[ft.TemplateContextProcessorCallable]
    ]

    if t.TYPE_CHECKING:  # pragma: no cover
        # Declarations only: at run time these would shadow the real methods
        # of App, Scaffold and URLsMixin, which come later in App's MRO.
        def url_for(
            self,
            /,
            endpoint: str,
            *,
            _anchor: str | None = None,
            _method: str | None = None,
            _scheme: str | None = None,
            _external: bool | None = None,
            **values: t.Any,
        ) -> str: ...

        def ensure_sync(
            self, func: t.Callable[..., t.Any]
        ) -> t.Callable[..., t.Any]: ...

        def _check_setup_finished(self, f_name: str) -> None: ...

    def create_jinja_environment(self) -> Environment:
        """Create the Jinja environment from :attr:`jinja_options`, with the
        app's globals (``url_for``, ``config``, ``request``, ...) and the
        JSON provider behind the ``tojson`` filter."""
        options = dict(self.jinja_options)
        if "autoescape" not in options:
            options["autoescape"] = self.select_jinja_autoescape
        if "auto_reload" not in options:
            auto_reload = self.config["TEMPLATES_AUTO_RELOAD"]
            if auto_reload is None:
                auto_reload = self.debug
            options["auto_reload"] = auto_reload
        rv = self.jinja_environment(t.cast("App", self), **options)
        rv.globals.update(
            url_for=self.url_for,
            get_flashed_messages=get_flashed_messages,
            config=self.config,
            request=request,
            session=session,
            g=g,
        )
        rv.policies["json.dumps_function"] = self.json.dumps
        return rv

    def create_global_jinja_loader(self) -> DispatchingJinjaLoader:
        """The loader of :attr:`jinja_env`: it searches the app's template
        folder, then each blueprint's. To change where the app's own
        templates come from, override :attr:`jinja_loader` instead."""
        from .templating import DispatchingJinjaLoader

        return DispatchingJinjaLoader(t.cast("App", self))

    def select_jinja_autoescape(self, filename: str | None) -> bool:
        """Autoescape template strings and ``.html``, ``.htm``, ``.xml``,
        ``.xhtml`` and ``.svg`` files."""
        if filename is None:
            return True
        return filename.endswith((".html", ".htm", ".xml", ".xhtml", ".svg"))

    def update_template_context(self, context: dict[str, t.Any]) -> None:
        """Add what the context processors return (app first, then the
        request's blueprints), without overriding values passed explicitly."""
        names: t.Iterable[str | None] = (None,)
        reqctx = _cv_request.get(None)
        if reqctx is not None:
            names = chain(names, reversed(reqctx.request.blueprints))
        orig_ctx = context.copy()
        for name in names:
            if name in self.template_context_processors:
                for func in self.template_context_processors[name]:
                    context.update(self.ensure_sync(func)())
        context.update(orig_ctx)

    @setupmethod
    def template_filter(
        self, name: str | None = None
    ) -> t.Callable[[T_template_filter], T_template_filter]:
        """Register the decorated function as a Jinja filter."""

        def decorator(f: T_template_filter) -> T_template_filter:
            self.add_template_filter(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_template_filter(
        self, f: ft.TemplateFilterCallable, name: str | None = None
    ) -> None:
        """Register a Jinja filter, named after the function by default."""
        self.jinja_env.filters[name or f.__name__] = f

    @setupmethod
    def template_test(
        self, name: str | None = None
    ) -> t.Callable[[T_template_test], T_template_test]:
        """Register the decorated function as a Jinja test."""

        def decorator(f: T_template_test) -> T_template_test:
            self.add_template_test(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_template_test(
        self, f: ft.TemplateTestCallable, name: str | None = None
    ) -> None:
        """Register a Jinja test, named after the function by default."""
        self.jinja_env.tests[name or f.__name__] = f

    @setupmethod
    def template_global(
        self, name: str | None = None
    ) -> t.Callable[[T_template_global], T_template_global]:
        """Register the decorated function as a Jinja global."""

        def decorator(f: T_template_global) -> T_template_global:
            self.add_template_global(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_template_global(
        self, f: ft.TemplateGlobalCallable, name: str | None = None
    ) -> None:
        """Register a Jinja global, named after the function by default."""
        self.jinja_env.globals[name or f.__name__] = f
