"""Canaries: the private internals of Jinja, itsdangerous, click, blinker and
the server libraries that gateway relies on."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import inspect
import os
import typing as t
from collections import ChainMap
from concurrent.futures import ThreadPoolExecutor
from inspect import Parameter

import pytest
from canary import require, upstream, wsgi_app

# -- jinja2 --------------------------------------------------------------------


def test_jinja_pass_arg_mark() -> None:
    import jinja2

    with upstream(
        "jinja2",
        "jinja2.utils._PassArg.from_obj (the pass_* mark)",
        "pass_context, pass_eval_context and pass_environment store the mark"
        " as 'jinja_pass_arg' in the function's __dict__, which"
        " _PassArg.from_obj reads; an unmarked function has none",
        "templating.py Context.call",
    ):
        from jinja2.utils import _PassArg

        for decorator, member in [
            (jinja2.pass_context, "context"),
            (jinja2.pass_eval_context, "eval_context"),
            (jinja2.pass_environment, "environment"),
        ]:

            def marked() -> None:
                pass

            decorator(marked)
            assert "jinja_pass_arg" in marked.__dict__
            assert _PassArg.from_obj(marked) is _PassArg[member]

        def plain() -> None:
            pass

        assert _PassArg.from_obj(plain) is None


def test_jinja_context_call() -> None:
    import jinja2
    from jinja2.runtime import Context

    seen = []

    class Probe(Context):
        def call(__self, __obj: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
            seen.append(sorted(kwargs))
            return Context.call(__self, __obj, *args, **kwargs)

    class Env(jinja2.Environment):
        context_class = Probe

    with upstream(
        "jinja2",
        "Context.call (_loop_vars, _block_vars)",
        "Context.call(__self, __obj, *args, **kwargs); compiled templates call"
        " it on the environment's context_class for every call, adding no"
        " keyword but _loop_vars inside a loop and _block_vars inside a block",
        "templating.py Context.call",
    ):
        kinds = [p.kind for p in inspect.signature(Context.call).parameters.values()]
        assert kinds == [
            Parameter.POSITIONAL_OR_KEYWORD,
            Parameter.POSITIONAL_OR_KEYWORD,
            Parameter.VAR_POSITIONAL,
            Parameter.VAR_KEYWORD,
        ]
        template = Env().from_string(
            "{{ f(1) }}{% for i in [1] %}{{ f(2) }}{% endfor %}"
            "{% block b %}{{ f(3) }}{% endblock %}"
        )
        assert template.render(f=lambda n: n) == "123"
        assert len(seen) == 3 and seen[0] == []
        assert set(seen[1]) <= {"_loop_vars"}, seen[1]
        assert set(seen[2]) <= {"_block_vars"}, seen[2]


def test_jinja_internalcode() -> None:
    from jinja2 import utils

    def function() -> None:
        pass

    with upstream(
        "jinja2",
        "jinja2.utils.internalcode",
        "a decorator returning the function itself and adding its __code__"
        " to jinja2.utils.internal_code (frames hidden from template tracebacks)",
        "templating.py Context.call",
    ):
        assert utils.internalcode(function) is function
        assert function.__code__ in utils.internal_code


def test_jinja_make_globals() -> None:
    import jinja2

    seen = []

    class Env(jinja2.Environment):
        def make_globals(self, d: t.Any) -> t.Any:
            rv = {"x": "from make_globals"}
            seen.append((d, rv))
            return rv

    with upstream(
        "jinja2",
        "Environment.make_globals",
        "make_globals(d) gives ChainMap(d or {}, env.globals); Jinja calls it"
        " for every template it creates (from_string, get_template with"
        " globals=d) and renders with what it returns, kept as"
        " template.globals",
        "templating.py Environment.make_globals, template_globals.py",
    ):
        plain = jinja2.Environment()
        chain = plain.make_globals({"a": 1})
        assert isinstance(chain, ChainMap)
        assert chain.maps == [{"a": 1}, plain.globals]
        assert plain.make_globals(None).maps == [{}, plain.globals]

        env = Env(loader=jinja2.DictLoader({"t.html": "{{ x }}"}))
        template = env.from_string("{{ x }}")
        assert template.render() == "from make_globals"
        assert template.globals is seen[-1][1]
        template = env.get_template("t.html", globals={"y": 1})
        assert template.render() == "from make_globals"
        assert seen[-1][0] == {"y": 1}


def test_jinja_environment_getattr() -> None:
    import jinja2

    seen = []

    class Env(jinja2.Environment):
        def getattr(self, obj: t.Any, attribute: str) -> t.Any:
            seen.append(attribute)
            return super().getattr(obj, attribute)

    with upstream(
        "jinja2",
        "Environment.getattr",
        "compiled templates look up {{ a.b }} through environment.getattr(a, 'b')",
        "templating.py Environment.getattr",
    ):
        assert Env().from_string("{{ d.key }}").render(d={"key": "v"}) == "v"
        assert seen == ["key"]


# -- itsdangerous --------------------------------------------------------------


def test_itsdangerous_signer_key_derivation() -> None:
    from itsdangerous import TimestampSigner

    with upstream(
        "itsdangerous",
        "Signer.secret_keys / salt / key_derivation / digest_method",
        "a signer keeps its keys as a list of bytes (newest last), salt as"
        " bytes, key_derivation and digest_method as given; the 'hmac'"
        " derivation is HMAC(secret_key, salt)",
        "sessions.py _SessionSigner.derive_key",
    ):
        signer = TimestampSigner(
            ["old", "new"],
            salt="cookie-session",
            key_derivation="hmac",
            digest_method=hashlib.sha1,
        )
        assert signer.secret_keys == [b"old", b"new"]
        assert signer.salt == b"cookie-session"
        assert signer.key_derivation == "hmac"
        assert signer.digest_method is hashlib.sha1
        assert signer.derive_key() == hmac.digest(b"new", b"cookie-session", "sha1")
        assert signer.derive_key(b"old") == hmac.digest(
            b"old", b"cookie-session", "sha1"
        )


def test_itsdangerous_derive_key_calls() -> None:
    from itsdangerous import TimestampSigner

    calls = []

    class Probe(TimestampSigner):
        # Exactly the signature of gateway's override.
        def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
            calls.append(secret_key)
            return super().derive_key(secret_key)

    with upstream(
        "itsdangerous",
        "Signer.derive_key (how it is called)",
        "signing calls self.derive_key() or derive_key(key), verifying calls"
        " it for each key, newest first, including the fallback keys",
        "sessions.py _SessionSigner.derive_key",
    ):
        value = Probe("old", salt="s").sign("payload")
        calls.clear()
        assert Probe(["old", "new"], salt="s").unsign(value) == b"payload"
        assert b"old" in calls


def test_itsdangerous_hmac_algorithm() -> None:
    from itsdangerous.signer import HMACAlgorithm

    with upstream(
        "itsdangerous",
        "HMACAlgorithm.digest_method",
        "HMACAlgorithm(digest) keeps it as .digest_method, and get_signature"
        " is HMAC(key, value) with it",
        "sessions.py _SessionHMAC.get_signature",
    ):
        algorithm = HMACAlgorithm(hashlib.sha1)
        assert algorithm.digest_method is hashlib.sha1
        assert algorithm.get_signature(b"key", b"value") == hmac.digest(
            b"key", b"value", "sha1"
        )


# -- click ---------------------------------------------------------------------


def test_click_handle_parse_result_outside_parsing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import click

    seen = []
    monkeypatch.setenv("CANARY_APP", "module:app")
    with upstream(
        "click",
        "Parameter.handle_parse_result",
        "called by hand as handle_parse_result(ctx, {}, []) before parsing,"
        " it reads the option's auto envvar, runs its callback and returns"
        " (value, args)",
        "cli/__init__.py GatewayGroup.parse_args",
    ):
        option = click.Option(
            ["--app"],
            is_eager=True,
            expose_value=False,
            callback=lambda ctx, param, value: seen.append(value),
        )
        command = click.Command("canary", params=[option])
        ctx = click.Context(command, auto_envvar_prefix="CANARY")
        _value, args = option.handle_parse_result(ctx, {}, [])
        assert args == []
        assert seen == ["module:app"]


# -- blinker -------------------------------------------------------------------


def test_blinker_send_async_wrapper() -> None:
    from blinker import Signal

    async def receiver(sender: t.Any, **kwargs: t.Any) -> str:
        return "async"

    wrapped = []

    def wrapper(func: t.Any) -> t.Any:
        wrapped.append(func)
        return lambda sender, **kwargs: "sync"

    with upstream(
        "blinker",
        "Signal.send(_async_wrapper=...)",
        "send(sender, *, _async_wrapper=f, **kwargs) calls"
        " f(receiver)(sender, **kwargs) for a coroutine receiver",
        "ctx.py AppContext.push, templating.py _render (every signal sent)",
    ):
        signal = Signal()
        signal.connect(receiver)
        param = inspect.signature(Signal.send).parameters["_async_wrapper"]
        assert param.kind is Parameter.KEYWORD_ONLY
        assert signal.send("app", _async_wrapper=wrapper, x=1) == [(receiver, "sync")]
        assert wrapped == [receiver]


# -- server libraries ----------------------------------------------------------


def test_gevent_pywsgi_internals() -> None:
    require("gevent")
    with upstream(
        "gevent",
        "pywsgi.WSGIHandler.read_requestline / read_request / close_connection,"
        " WSGIServer.pool",
        "handle_one_request reads through self.read_requestline() and"
        " self.read_request(line) and honours self.close_connection (False by"
        " default); a server made with spawn=Pool() keeps it as .pool",
        "adapters/gevent.py GatewayHandler, GatewayServer.graceful_stop",
    ):
        from gevent import pywsgi
        from gevent.pool import Pool

        source = inspect.getsource(pywsgi.WSGIHandler.handle_one_request)
        assert "self.read_requestline()" in source
        assert "self.read_request(" in source
        assert pywsgi.WSGIHandler.close_connection is False
        pool = Pool()
        server = pywsgi.WSGIServer(
            ("127.0.0.1", 0), wsgi_app, spawn=pool, log=None, error_log=None
        )
        assert server.pool is pool


def test_tornado_wsgi_container_internals() -> None:
    require("tornado")
    seen = []

    with upstream(
        "tornado",
        "WSGIContainer.wsgi_application / executor / handle_request",
        "WSGIContainer(app, executor=e) keeps them as .wsgi_application and"
        " .executor; calling the container schedules the coroutine"
        " self.handle_request(request) on the IOLoop",
        "adapters/tornado.py GatewayContainer.handle_request, _respond",
    ):
        from tornado.wsgi import WSGIContainer

        class Probe(WSGIContainer):  # type: ignore[misc]
            async def handle_request(self, request: t.Any) -> None:
                seen.append(request)

        executor = ThreadPoolExecutor(max_workers=1)
        try:
            container = WSGIContainer(wsgi_app, executor=executor)
            assert container.wsgi_application is wsgi_app
            assert container.executor is executor
        finally:
            executor.shutdown()
        assert inspect.iscoroutinefunction(WSGIContainer.handle_request)

        async def call_once() -> None:
            Probe(wsgi_app)("request")
            for _ in range(20):
                if seen:
                    break
                await asyncio.sleep(0)

        asyncio.run(call_once())
        assert seen == ["request"]


def test_gunicorn_custom_application() -> None:
    require("gunicorn")
    from gateway.adapters.gunicorn import _NEWER_SETTINGS, gunicorn_settings

    settings = {
        **gunicorn_settings(
            bind=("127.0.0.1", 8000), workers=2, threads=4, graceful_timeout=5
        ),
        **gunicorn_settings(
            bind="/tmp/gateway.sock", workers=1, threads=1, graceful_timeout=5
        ),
    }
    with upstream(
        "gunicorn",
        "BaseApplication (load_config, load, cfg.set) and setting names",
        "BaseApplication() calls self.load_config(), where self.cfg.set(name,"
        f" value) accepts every setting gateway passes ({', '.join(settings)});"
        " wsgi() returns self.load()",
        "adapters/gunicorn.py GatewayApplication, gunicorn_settings",
    ):
        from gunicorn.app.base import BaseApplication
        from gunicorn.config import Config

        known = Config().settings
        unknown = [n for n in settings if n not in known and n not in _NEWER_SETTINGS]
        assert not unknown, f"no such settings: {unknown}"
        calls = []

        class Probe(BaseApplication):  # type: ignore[misc]
            def load_config(self) -> None:
                calls.append("load_config")
                for key, value in settings.items():
                    if key in self.cfg.settings or key not in _NEWER_SETTINGS:
                        self.cfg.set(key, value)

            def load(self) -> t.Any:
                return wsgi_app

        application = Probe()
        assert calls == ["load_config"]
        assert application.cfg.header_map == "drop"
        assert application.wsgi() is wsgi_app


def test_flup_wsgi_server_arguments() -> None:
    require("flup")
    with upstream(
        "flup",
        "server.fcgi.WSGIServer / ThreadedServer / ThreadPool keywords",
        "fcgi.WSGIServer(app, bindAddress=, umask=, multithreaded=,"
        " multiprocess=, debug=, **kw) is a ThreadedServer that passes **kw"
        " (maxThreads, maxSpare) on to ThreadPool",
        "adapters/fastcgi.py serve",
    ):
        from flup.server import fcgi
        from flup.server.threadedserver import ThreadedServer
        from flup.server.threadpool import ThreadPool

        params = inspect.signature(fcgi.WSGIServer.__init__).parameters
        for name in ("bindAddress", "umask", "multithreaded", "multiprocess", "debug"):
            assert name in params, name
        assert any(p.kind is Parameter.VAR_KEYWORD for p in params.values())
        assert issubclass(fcgi.WSGIServer, ThreadedServer)
        threaded = inspect.signature(ThreadedServer.__init__).parameters.values()
        assert any(p.kind is Parameter.VAR_KEYWORD for p in threaded)
        pool = inspect.signature(ThreadPool.__init__).parameters
        assert "maxThreads" in pool and "maxSpare" in pool


def test_flup_thread_pool_queue_and_shutdown() -> None:
    require("flup")
    with upstream(
        "flup",
        "ThreadedServer._threadPool / ThreadPool._workQueue, shutdown",
        "a ThreadedServer keeps its ThreadPool as ._threadPool; the pool queues"
        " accepted connections in the list ._workQueue; ThreadedServer.shutdown()"
        " calls the pool's shutdown()",
        "adapters/fastcgi.py GatewayFCGIServer.shutdown",
    ):
        from flup.server.threadedserver import ThreadedServer
        from flup.server.threadpool import ThreadPool

        # Built, a ThreadPool starts threads (with a deprecated call): read.
        assert "self._threadPool = ThreadPool(" in inspect.getsource(
            ThreadedServer.__init__
        )
        assert "self._workQueue = []" in inspect.getsource(ThreadPool.__init__)
        assert "self._threadPool.shutdown()" in inspect.getsource(
            ThreadedServer.shutdown
        )


def test_flup_accept_loop_hook_and_idle_count() -> None:
    require("flup")
    with upstream(
        "flup",
        "ThreadedServer._mainloopPeriodic, ._keepGoing / ThreadPool._idleCount",
        "ThreadedServer.run calls self._mainloopPeriodic() once per turn of its"
        " accept loop while ._keepGoing, and hands each accepted connection to"
        " the pool's addJob(conn, allowQueuing=False); the pool's ._idleCount"
        " is what addJob checks, dropping only when a thread takes a job",
        "adapters/fastcgi.py GatewayFCGIServer._mainloopPeriodic",
    ):
        from flup.server.threadedserver import ThreadedServer
        from flup.server.threadpool import ThreadPool

        run = inspect.getsource(ThreadedServer.run)
        assert "while self._keepGoing:" in run
        assert "self._mainloopPeriodic()" in run
        assert "addJob(conn, allowQueuing=False)" in run
        add_job = inspect.getsource(ThreadPool.addJob)
        assert "if self._idleCount or allowQueuing:" in add_job
        assert "self._idleCount -= 1" in inspect.getsource(ThreadPool._worker)


def test_tornado_connection_parameters_per_request() -> None:
    require("tornado")
    with upstream(
        "tornado",
        "HTTPServer.conn_params / HTTP1ServerConnection.params, .stream",
        "HTTPServer(idle_connection_timeout=s) keeps .conn_params (an"
        " HTTP1ConnectionParameters with .header_timeout = s) and hands it to each"
        " HTTP1ServerConnection as .params, which builds every request's"
        " HTTP1Connection from self.params after start_request; the head timer"
        " reads params.header_timeout",
        "adapters/tornado.py GatewayHTTPServer.start_request, _serve",
    ):
        from tornado import http1connection
        from tornado.httpserver import HTTPServer

        server = HTTPServer(lambda request: None, idle_connection_timeout=7)
        assert server.conn_params.header_timeout == 7
        assert "HTTP1ServerConnection(stream, self.conn_params" in inspect.getsource(
            HTTPServer.handle_stream
        )
        loop = inspect.getsource(
            http1connection.HTTP1ServerConnection._server_request_loop
        )
        assert loop.index("HTTP1Connection(self.stream, False, self.params") < (
            loop.index("delegate.start_request(")
        )
        read = inspect.getsource(http1connection.HTTP1Connection._read_message_inner)
        assert "self.params.header_timeout" in read


def test_gevent_timeout_raises_the_exception_it_was_given() -> None:
    require("gevent")
    with upstream(
        "gevent",
        "Timeout(seconds, exception).exception",
        "a Timeout built with an exception instance keeps it as .exception and"
        " raises that very instance in the greenlet that started it",
        "adapters/gevent.py GatewayHandler.read_requestline",
    ):
        import gevent

        marker = ValueError(0.01)
        timer = gevent.Timeout(0.01, marker)
        assert timer.exception is marker
        timer.start()
        try:
            gevent.sleep(1)
        except ValueError as e:
            assert e is marker
        else:
            raise AssertionError("the timeout did not fire")
        finally:
            timer.cancel()


def test_granian_takes_the_keywords_the_adapter_passes() -> None:
    """adapters/granian.py builds granian's Server with granian_settings()
    and calls serve(target_loader=...)."""
    require("granian")
    from granian import Granian

    from gateway.adapters.granian import granian_settings

    used = set(
        granian_settings(
            bind=("127.0.0.1", 1), workers=1, threads=1, graceful_timeout=1
        )
    )
    used |= set(
        granian_settings(bind="/tmp/x.sock", workers=1, threads=1, graceful_timeout=1)
    )
    with upstream(
        "granian",
        "Server keywords / serve(target_loader=)",
        f"accepts {sorted(used | {'target'})} and serve(target_loader=)",
        "adapters/granian.py serve",
    ):
        accepted = set(inspect.signature(Granian.__init__).parameters)
        assert used <= accepted, sorted(used - accepted)
        assert "target_loader" in inspect.signature(Granian.serve).parameters
        from granian.http import HTTP1Settings

        http1 = granian_settings(
            bind=("127.0.0.1", 1), workers=1, threads=1, graceful_timeout=1
        )["http1_settings"]
        HTTP1Settings(**http1)


def test_granian_still_builds_the_environ_on_the_process_environment() -> None:
    """adapters/granian.py without_process_environ() removes request-shaped
    variables of the process environment; granian's WSGI wrapper copies
    os.environ under every environ. If it stops, the wrapper can go."""
    require("granian")
    from granian import wsgi

    with upstream(
        "granian",
        "wsgi._callback_wrapper",
        "the environ is os.environ, then the request scope on top",
        "adapters/granian.py without_process_environ",
    ):
        seen: list[dict[str, t.Any]] = []

        def app(environ: t.Any, start_response: t.Any) -> list[bytes]:
            seen.append(environ)
            start_response("200 OK", [])
            return [b""]

        class Proto:
            def response_bytes(self, *args: t.Any) -> None:
                pass

        os.environ["HTTP_X_GATEWAY_CANARY"] = "from-the-process"
        try:
            runner = wsgi._callback_wrapper(app, {}, None)
        finally:
            del os.environ["HTTP_X_GATEWAY_CANARY"]
        runner(Proto(), {"PATH_INFO": "/", "HTTP_HOST": "x"})
        assert seen[0]["HTTP_X_GATEWAY_CANARY"] == "from-the-process"
        assert seen[0]["HTTP_HOST"] == "x"


def test_itsdangerous_default_digest_is_its_lazy_sha1() -> None:
    from itsdangerous.signer import HMACAlgorithm

    with upstream(
        "itsdangerous",
        "itsdangerous.signer._lazy_sha1",
        "HMACAlgorithm's default digest is the module's _lazy_sha1 (SHA-1)",
        "signing.py hmac_digestmod",
    ):
        from itsdangerous.signer import _lazy_sha1

        assert HMACAlgorithm.default_digest_method is _lazy_sha1
        assert _lazy_sha1(b"x").digest() == hashlib.sha1(b"x").digest()


# -- werkzeug ------------------------------------------------------------------


def test_werkzeug_request_cookies_parse_the_cookie_header() -> None:
    from werkzeug.sansio.http import parse_cookie
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    with upstream(
        "werkzeug",
        "Request.cookies",
        "the cookies are sansio parse_cookie of the Cookie header values joined"
        " by ';', in the request's dict_storage_class",
        "wrappers.py Request.cookies",
    ):
        environ = EnvironBuilder(headers={"Cookie": 'a=1; b="x y"; a=2'}).get_environ()
        request = Request(environ)
        expected = parse_cookie(environ["HTTP_COOKIE"], cls=request.dict_storage_class)
        assert request.cookies == expected
        assert request.cookies.getlist("a") == ["1", "2"]
        assert type(request.cookies) is request.dict_storage_class


def test_werkzeug_http_exception_default_page() -> None:
    from werkzeug.exceptions import HTTPException, NotFound

    with upstream(
        "werkzeug",
        "HTTPException.get_response",
        "get_response builds Response(get_body(), code, get_headers()) from the"
        " class's page methods, and __init__ keeps only 'response' in the"
        " instance dict when no description is given",
        "_responses.py http_error_response",
    ):
        e = NotFound()
        assert e.__dict__.keys() == {"response"}
        response = e.get_response({})
        assert response.get_data(as_text=True) == e.get_body({})
        assert response.headers.to_wsgi_list() == [
            *e.get_headers({}),
            ("Content-Length", str(len(e.get_body({}).encode()))),
        ]
        assert response.status_code == 404
        assert HTTPException.get_response.__qualname__ == "HTTPException.get_response"


def test_jinja_output_escape_is_a_namespace_global() -> None:
    import jinja2
    import markupsafe
    from jinja2 import Template

    seen = []

    class Probe(Template):
        @classmethod
        def _from_namespace(cls, environment, namespace, globals):  # type: ignore[no-untyped-def]
            seen.append(namespace.get("escape"))
            return super()._from_namespace(environment, namespace, globals)

    with upstream(
        "jinja2",
        "Template._from_namespace / the 'escape' global of compiled code",
        "every compiled template goes through _from_namespace(environment,"
        " namespace, globals) with markupsafe.escape as the namespace's"
        " 'escape', which autoescaped output calls at render time",
        "templating.py OutputTemplate._from_namespace",
    ):
        env = jinja2.Environment(autoescape=True)
        env.template_class = Probe
        template = env.from_string("{{ v }}")
        assert seen == [markupsafe.escape]
        template.root_render_func.__globals__["escape"] = lambda s: "swapped"
        assert template.render(v="<") == "swapped"

    with upstream(
        "markupsafe",
        "markupsafe._escape_inner",
        "_escape_inner(s) is the text of escape(s) for a str, as a plain str",
        "templating.py _escape_output",
    ):
        text = "<a href='x'>&\"</a>"
        assert type(markupsafe._escape_inner(text)) is str
        assert markupsafe._escape_inner(text) == str(markupsafe.escape(text))
