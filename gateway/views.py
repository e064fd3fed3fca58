"""Class-based views.

:class:`View` turns a class into a view function with :meth:`View.as_view`;
:class:`MethodView` dispatches each HTTP method to the method of the same name
(``get``, ``post``...). Both can be registered wherever a view function can.
"""

from __future__ import annotations

import typing as t

from werkzeug.exceptions import MethodNotAllowed

from .globals import current_app, request

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

#: The HTTP methods :class:`MethodView` maps to lowercase handler methods.
http_method_funcs = frozenset(
    ["get", "post", "head", "options", "delete", "put", "trace", "patch"]
)


class View:
    """Subclass this and implement :meth:`dispatch_request`, then register
    ``MyView.as_view("endpoint", ...)`` as the view function::

        class Hello(View):
            def __init__(self, greeting):
                self.greeting = greeting

            def dispatch_request(self, name):
                return f"{self.greeting}, {name}!"

        app.add_url_rule("/hi/<name>", view_func=Hello.as_view("hi", "Hi"))

    URL variables arrive as keyword arguments of :meth:`dispatch_request`; the
    extra arguments of :meth:`as_view` go to the constructor.
    """

    #: The HTTP methods the view accepts, used when the rule gives none
    #: (``None`` means the routing default, ``GET``).
    methods: t.ClassVar[t.Collection[str] | None] = None

    #: Whether to add the automatic ``OPTIONS`` handling; ``None`` leaves it to
    #: the application's default.
    provide_automatic_options: t.ClassVar[bool | None] = None

    #: Decorators applied, in order, to the function :meth:`as_view` builds: the
    #: first one is the innermost. Decorating the class itself would not work,
    #: as it is not the view function.
    decorators: t.ClassVar[list[t.Callable[..., t.Any]]] = []

    #: ``True`` creates an instance for every request. ``False`` creates one
    #: when :meth:`as_view` is called and shares it between all requests (and
    #: threads): cheaper, but per-request state must then live in ``g``.
    init_every_request: t.ClassVar[bool] = True

    def dispatch_request(self) -> t.Any:
        """Handle the request and return a response value; URL variables are
        passed as keyword arguments. Subclasses must implement it.
        """
        raise NotImplementedError()

    @classmethod
    def as_view(
        cls, name: str, *class_args: t.Any, **class_kwargs: t.Any
    ) -> t.Callable[..., t.Any]:
        """Build a view function for this class, registered under the endpoint
        ``name``.

        The function creates the instance (``cls(*class_args,
        **class_kwargs)``) for each request, or once up front when
        :attr:`init_every_request` is ``False``, and calls its
        :meth:`dispatch_request` (through ``current_app.ensure_sync``, so it may
        be ``async``). The function carries ``view_class``, ``methods`` and
        ``provide_automatic_options`` for the router; replacing
        ``view.view_class`` changes the class instantiated per request.
        """
        if cls.init_every_request:

            def view(**kwargs: t.Any) -> t.Any:
                self = view.view_class(  # type: ignore[attr-defined]
                    *class_args, **class_kwargs
                )
                return current_app.ensure_sync(self.dispatch_request)(**kwargs)

        else:
            self = cls(*class_args, **class_kwargs)

            def view(**kwargs: t.Any) -> t.Any:
                return current_app.ensure_sync(self.dispatch_request)(**kwargs)

        if cls.decorators:
            # Decorators that use functools.wraps should see the final names.
            view.__name__ = name
            view.__qualname__ = name
            view.__module__ = cls.__module__
            for decorator in cls.decorators:
                view = decorator(view)

        # Attributes Flask puts on the view function (the ignores below).
        view.view_class = cls  # type: ignore[attr-defined]
        view.__name__ = name
        view.__qualname__ = name
        view.__doc__ = cls.__doc__
        view.__module__ = cls.__module__
        view.methods = cls.methods  # type: ignore[attr-defined]
        view.provide_automatic_options = cls.provide_automatic_options  # type: ignore[attr-defined]
        return view


class MethodView(View):
    """Dispatch each request to the method named after its HTTP method::

        class CounterAPI(MethodView):
            def get(self):
                return str(session.get("counter", 0))

            def post(self):
                session["counter"] = session.get("counter", 0) + 1
                return redirect(url_for("counter"))

        app.add_url_rule("/counter", view_func=CounterAPI.as_view("counter"))

    :attr:`methods` is computed when the class is defined: every handler it
    has (its own or inherited) plus the methods of its bases, unless the class
    sets ``methods`` itself. A ``HEAD`` request without a ``head`` handler is
    served by ``get``.
    """

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)

        if "methods" not in cls.__dict__:
            methods: set[str] = set()

            for base in cls.__bases__:
                base_methods = getattr(base, "methods", None)
                if base_methods:
                    methods.update(base_methods)

            for key in http_method_funcs:
                if hasattr(cls, key):
                    methods.add(key.upper())

            if methods:
                cls.methods = methods

    def dispatch_request(self, **kwargs: t.Any) -> t.Any:
        """Call the handler for the request's method with the URL variables."""
        meth = getattr(self, request.method.lower(), None)

        if meth is None and request.method == "HEAD":
            meth = getattr(self, "get", None)

        if meth is None:
            # Only reachable when ``methods`` lists a method with no handler;
            # answer like the router would for an unknown method.
            allowed = sorted(
                m.upper() for m in http_method_funcs if getattr(self, m, None)
            )
            raise MethodNotAllowed(valid_methods=allowed)

        return current_app.ensure_sync(meth)(**kwargs)
