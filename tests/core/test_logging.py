"""``app.logger``: name, level, the default wsgi.errors handler, error logging."""

from __future__ import annotations

import io
import logging

import pytest

import gateway
from gateway.logging import default_handler, has_level_handler, wsgi_errors_stream


@pytest.fixture(autouse=True)
def reset_logging(pytestconfig):
    """Isolate logger state: no root handlers, pytest's capture plugin off.

    The default handler is only added when nothing would otherwise handle the
    app's records, so root handlers installed by pytest must be out of the way.
    """
    root_handlers = logging.root.handlers[:]
    logging.root.handlers = []
    root_level = logging.root.level
    logging_plugin = pytestconfig.pluginmanager.unregister(name="logging-plugin")
    yield
    logging.root.handlers[:] = root_handlers
    logging.root.setLevel(root_level)
    for name in ("core_app", "log_app"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.setLevel(logging.NOTSET)
    if logging_plugin:
        pytestconfig.pluginmanager.register(logging_plugin, "logging-plugin")


def test_logger_is_named_after_the_app(app):
    assert app.logger.name == "core_app"
    assert app.logger is logging.getLogger("core_app")


def test_logger_gets_the_default_handler_when_nothing_handles_records(app):
    assert default_handler in app.logger.handlers


def test_logger_level_is_debug_in_debug_mode():
    app = gateway.App("log_app")
    app.debug = True
    assert app.logger.level == logging.DEBUG


def test_logger_level_is_left_alone_outside_debug():
    app = gateway.App("log_app")
    assert app.logger.level == logging.NOTSET


def test_existing_handler_prevents_the_default_handler():
    logging.root.addHandler(logging.StreamHandler(io.StringIO()))
    app = gateway.App("log_app")
    assert default_handler not in app.logger.handlers
    assert has_level_handler(app.logger)


def test_default_handler_writes_to_wsgi_errors_during_a_request(app, client):
    @app.route("/")
    def index():
        app.logger.error("something to say")
        return "ok"

    stream = io.StringIO()
    client.get("/", errors_stream=stream)
    assert "something to say" in stream.getvalue()
    assert "ERROR" in stream.getvalue()


def test_wsgi_errors_stream_is_stderr_outside_a_request():
    import sys

    assert wsgi_errors_stream._get_current_object() is sys.stderr


def test_unhandled_exception_is_logged_with_traceback_to_wsgi_errors(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/boom")
    def boom():
        raise ValueError("logged failure")

    stream = io.StringIO()
    rv = client.get("/boom", errors_stream=stream)
    output = stream.getvalue()
    assert rv.status_code == 500
    assert "Exception on /boom [GET]" in output
    assert "Traceback" in output
    assert "ValueError: logged failure" in output


def test_handled_errors_are_not_logged(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.register_error_handler(ValueError, lambda e: ("fine", 400))
    app.add_url_rule("/", "index", lambda: (_ for _ in ()).throw(ValueError("x")))

    stream = io.StringIO()
    client.get("/", errors_stream=stream)
    assert stream.getvalue() == ""


def test_log_exception_goes_through_the_app_logger(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record)

    app.logger.addHandler(Collect())
    app.add_url_rule("/", "index", lambda: 1 / 0)

    client.get("/", errors_stream=io.StringIO())
    (record,) = [r for r in records if r.levelno == logging.ERROR]
    assert record.name == "core_app"
    assert record.exc_info[0] is ZeroDivisionError
