"""Jinja2 integration: the application's environment, its template loader and
the render functions.

One :class:`Environment` per application (``app.jinja_env``) loads templates
through a :class:`DispatchingJinjaLoader`: the application's template folder
first, then each blueprint's, in registration order. Templates compiled from
strings are kept in a bounded cache on the environment, so rendering the same
source again costs a render, not a compile.
"""

from __future__ import annotations

import threading
import typing as t
from collections import OrderedDict
from types import FunctionType, MethodType

import markupsafe
from jinja2 import BaseLoader, Template, TemplateNotFound
from jinja2 import Environment as BaseEnvironment
from jinja2.runtime import Context as BaseContext
from jinja2.utils import internalcode
from markupsafe import escape as _escape

from . import debughelpers
from .globals import _cv_app, _cv_request, current_app, request
from .signals import before_render_template, template_rendered
from .template_globals import EnvironmentGlobals

if t.TYPE_CHECKING:  # pragma: no cover
    from .app import App
    from .scaffold import Scaffold

_SourceTriple = tuple[str, "str | None", "t.Callable[[], bool] | None"]


def _default_template_ctx_processor() -> dict[str, t.Any]:
    """Put the real ``g`` and ``request`` objects in the template context.

    The environment globals hold proxies; the concrete objects are faster to
    use in a template. ``session`` stays a proxy on purpose: looking it up
    through the request context marks it accessed (``Vary: Cookie``).
    """
    rv: dict[str, t.Any] = {}
    appctx = _cv_app.get(None)
    if appctx is not None:
        rv["g"] = appctx.g
    reqctx = _cv_request.get(None)
    if reqctx is not None:
        rv["request"] = reqctx.request
    return rv


# Names a plain dict answers as attributes (``items``, ``get``, dunders...):
# ``{{ d.items }}`` is the method, any other ``{{ d.name }}`` is the key.
_DICT_ATTRS = frozenset(dir(dict))
_jinja_getattr = BaseEnvironment.getattr
_jinja_call = BaseContext.call


class Context(BaseContext):
    """Jinja's template context, with a shorter way to call plain functions
    and methods from a template (``{{ url_for(...) }}``, ``loop.cycle(...)``).

    Such callables need no context, environment or eval context passed in
    unless they carry Jinja's ``pass_*`` mark, which lives in the function's
    ``__dict__``; the mark is checked there, and everything else (marked
    functions, callable objects, builtins) goes through Jinja's own ``call``.
    """

    @internalcode
    def call(__self, __obj: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:  # noqa: N805
        kind = type(__obj)
        if kind is MethodType:
            func = __obj.__func__
            if type(func) is not FunctionType or "jinja_pass_arg" in func.__dict__:
                return _jinja_call(__self, __obj, *args, **kwargs)
        elif kind is not FunctionType or "jinja_pass_arg" in __obj.__dict__:
            return _jinja_call(__self, __obj, *args, **kwargs)
        if kwargs:
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
        try:
            return __obj(*args, **kwargs)
        except StopIteration:
            return __self.environment.undefined(
                "value was undefined because a callable raised a"
                " StopIteration exception"
            )


# markupsafe's escaping without the Markup wrapper (private: without it,
# templates keep Jinja's escape).
_escape_inner: t.Callable[[str], str] | None = getattr(
    markupsafe, "_escape_inner", None
)


def _escape_output(s: t.Any, /) -> str:
    """What a template outputs for ``{{ s }}`` under autoescaping: the
    characters of :func:`markupsafe.escape`, as a plain ``str`` when ``s`` is
    one (the output is only ever joined into the page, so the ``Markup``
    wrapper of each piece only cost its construction: about 1,000 of the
    7,200 bytecodes of the template-file request of benchmarks/templates.py).
    """
    kind = type(s)
    if kind is str:
        return _escape_inner(s)  # type: ignore[misc]  # installed only when set
    if kind is int or kind is float:  # digits, sign, ".", "e", "inf", "nan"
        return str(s)
    return _escape(s)


class OutputTemplate(Template):
    """A Jinja template whose compiled code escapes its output with
    :func:`_escape_output`. Rendered pages are Jinja's, character for
    character; the pieces :meth:`generate` yields are ``str`` (as its
    template text already is) where Jinja would yield ``Markup``."""

    @classmethod
    def _from_namespace(
        cls,
        environment: BaseEnvironment,
        namespace: t.MutableMapping[str, t.Any],
        globals: t.MutableMapping[str, t.Any],
    ) -> Template:
        # Compiled code looks "escape" up in its module's namespace at each
        # call; only Jinja's own is replaced.
        if _escape_inner is not None and namespace.get("escape") is _escape:
            namespace["escape"] = _escape_output
        return super()._from_namespace(environment, namespace, globals)


# Attributes that only this class sets; assigning them must not reset the cache.
_OWN_ATTRS = frozenset({"_string_templates", "_string_lock", "app"})


class Environment(BaseEnvironment):
    """A Jinja environment that belongs to one application.

    Without an explicit ``loader`` it uses the application's global loader
    (``app.create_global_jinja_loader()``), which searches the application's
    and the blueprints' template folders.

    :meth:`from_string` keeps the compiled template of each distinct source
    (up to :attr:`string_cache_size`, least recently used dropped first).
    Setting any attribute of the environment (``autoescape``, delimiters,
    ``finalize``...) empties that cache, so the output is always what a fresh
    compile would give.
    """

    #: How many compiled template strings to keep; 0 turns the cache off.
    string_cache_size = 512

    context_class = Context
    template_class = OutputTemplate

    def __init__(self, app: App, **options: t.Any) -> None:
        if "loader" not in options:
            create = getattr(app, "create_global_jinja_loader", None)
            options["loader"] = (
                create() if create is not None else DispatchingJinjaLoader(app)
            )
        self._string_lock = threading.Lock()
        self._string_templates: OrderedDict[str, Template] = OrderedDict()
        super().__init__(**options)
        self.globals = EnvironmentGlobals(self.globals)
        self.app = app

    def make_globals(
        self, d: t.MutableMapping[str, t.Any] | None
    ) -> t.MutableMapping[str, t.Any]:
        """A template's globals: ``d`` over the environment's, as one flat
        dict kept in step with both (see :mod:`gateway.template_globals`)."""
        if type(self.globals) is EnvironmentGlobals:
            return self.globals.derive(d)
        return super().make_globals(d)

    def getattr(self, obj: t.Any, attribute: str) -> t.Any:
        """``obj.attribute`` in a template: the attribute, else the item.

        For a plain dict and a name that is not a dict attribute the answer
        is known to be the item (or undefined), so it is looked up directly
        instead of first failing an attribute lookup.
        """
        if (
            type(obj) is dict
            and type(attribute) is str
            and attribute not in _DICT_ATTRS
        ):
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return _jinja_getattr(self, obj, attribute)

    def __setattr__(self, name: str, value: t.Any) -> None:
        object.__setattr__(self, name, value)
        if name not in _OWN_ATTRS:
            # Compile options may have changed: forget compiled strings. A new
            # dict (not .clear()) so an overlay never empties its parent's.
            object.__setattr__(self, "_string_templates", OrderedDict())

    def from_string(
        self,
        source: t.Any,
        globals: t.MutableMapping[str, t.Any] | None = None,
        template_class: type[Template] | None = None,
    ) -> Template:
        """Compile ``source`` into a template, reusing an earlier compile of the
        same string when there are no per-template ``globals`` and no custom
        ``template_class``.
        """
        if (
            globals is not None
            or template_class is not None
            or type(source) is not str
            or not self.string_cache_size
        ):
            return super().from_string(source, globals, template_class)

        cache = self._string_templates
        template = cache.get(source)
        if template is not None:
            try:
                cache.move_to_end(source)
            except KeyError:  # evicted by another thread meanwhile
                pass
            return template

        template = super().from_string(source)
        with self._string_lock:
            cache[source] = template
            while len(cache) > self.string_cache_size:
                cache.popitem(last=False)
        return template


class DispatchingJinjaLoader(BaseLoader):
    """Find templates in the application's loader, then in each blueprint's
    loader in the order ``app.iter_blueprints()`` gives.

    With ``EXPLAIN_TEMPLATE_LOADING`` on, every lookup tries all loaders and
    logs (at INFO, on ``app.logger``) which ones were tried and what matched.
    """

    def __init__(self, app: App) -> None:
        self.app = app

    def get_source(self, environment: BaseEnvironment, template: str) -> _SourceTriple:
        if self.app.config["EXPLAIN_TEMPLATE_LOADING"]:
            return self._get_source_explained(environment, template)
        return self._get_source_fast(environment, template)

    def _get_source_explained(
        self, environment: BaseEnvironment, template: str
    ) -> _SourceTriple:
        attempts: list[tuple[BaseLoader, Scaffold, _SourceTriple | None]] = []
        first: _SourceTriple | None = None

        for srcobj, loader in self._iter_loaders(template):
            try:
                rv: _SourceTriple | None = loader.get_source(environment, template)
            except TemplateNotFound:
                rv = None
            else:
                if first is None:
                    first = rv
            attempts.append((loader, srcobj, rv))

        # Through the module, so a patch of debughelpers (or of
        # flask.debughelpers under the switch) is what runs.
        debughelpers.explain_template_loading_attempts(self.app, template, attempts)

        if first is not None:
            return first
        raise TemplateNotFound(template)

    def _get_source_fast(
        self, environment: BaseEnvironment, template: str
    ) -> _SourceTriple:
        for _srcobj, loader in self._iter_loaders(template):
            try:
                return loader.get_source(environment, template)
            except TemplateNotFound:
                continue
        raise TemplateNotFound(template)

    def _iter_loaders(self, template: str) -> t.Iterator[tuple[Scaffold, BaseLoader]]:
        loader = self.app.jinja_loader
        if loader is not None:
            yield self.app, loader

        for blueprint in self.app.iter_blueprints():
            loader = blueprint.jinja_loader
            if loader is not None:
                yield blueprint, loader

    def list_templates(self) -> list[str]:
        """Every template name any of the loaders can find."""
        result: set[str] = set()
        loader = self.app.jinja_loader
        if loader is not None:
            result.update(loader.list_templates())

        for blueprint in self.app.iter_blueprints():
            loader = blueprint.jinja_loader
            if loader is not None:
                result.update(loader.list_templates())

        return list(result)


def _render(app: App, template: Template, context: dict[str, t.Any]) -> str:
    app.update_template_context(context)
    if before_render_template.receivers:
        before_render_template.send(
            app, _async_wrapper=app.ensure_sync, template=template, context=context
        )
    rv = template.render(context)
    if template_rendered.receivers:
        template_rendered.send(
            app, _async_wrapper=app.ensure_sync, template=template, context=context
        )
    return rv


def render_template(
    template_name_or_list: str | Template | list[str | Template],
    **context: t.Any,
) -> str:
    """Render the named template with ``context`` and return the text.

    :param template_name_or_list: A template name, a :class:`~jinja2.Template`,
        or a list of them: the first one that exists is rendered.
    :param context: Variables for the template, on top of the standard context
        (``config``, ``request``, ``session``, ``g``, ``url_for``,
        ``get_flashed_messages``) and the context processors' values.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy method
    template = app.jinja_env.get_or_select_template(template_name_or_list)
    return _render(app, template, context)


def render_template_string(source: str, **context: t.Any) -> str:
    """Render the template source ``source`` with ``context``.

    Autoescaping is on, as for ``.html`` files. The compiled form of each
    source is cached by the environment, so a fixed source string is compiled
    once.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy method
    template = app.jinja_env.from_string(source)
    return _render(app, template, context)


def _stream(app: App, template: Template, context: dict[str, t.Any]) -> t.Iterator[str]:
    app.update_template_context(context)
    before_render_template.send(
        app, _async_wrapper=app.ensure_sync, template=template, context=context
    )

    def generate() -> t.Iterator[str]:
        yield from template.generate(context)
        template_rendered.send(
            app, _async_wrapper=app.ensure_sync, template=template, context=context
        )

    rv = generate()

    # The response body is consumed after the view returns; keep the request
    # context alive until then so the template can still use it.
    if request:
        from .helpers import stream_with_context

        rv = stream_with_context(rv)

    return rv


def stream_template(
    template_name_or_list: str | Template | list[str | Template],
    **context: t.Any,
) -> t.Iterator[str]:
    """Like :func:`render_template`, but return an iterator of text chunks to
    use as a streamed response body. ``template_rendered`` is sent once the
    last chunk has been produced.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy method
    template = app.jinja_env.get_or_select_template(template_name_or_list)
    return _stream(app, template, context)


def stream_template_string(source: str, **context: t.Any) -> t.Iterator[str]:
    """Like :func:`render_template_string`, but return an iterator of text
    chunks to use as a streamed response body.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy method
    template = app.jinja_env.from_string(source)
    return _stream(app, template, context)
