"""A plain WSGI application (no framework) the adapter tests serve, plus a
small gateway.App for the context-isolation checks. Started in a server
process by serve_plain.py."""

from __future__ import annotations

import hashlib
import json
import os
import time
from urllib.parse import parse_qs

from gateway import App, g, request

framework = App("plain_framework")


@framework.route("/g")
def g_probe() -> str:
    # Each concurrent request must see only its own g, however they interleave.
    g.value = request.args["value"]
    time.sleep(float(request.args.get("seconds", "0.2")))
    return g.value


def _json(start_response, data, status="200 OK"):
    body = json.dumps(data).encode()
    start_response(
        status,
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    if path == "/env":
        keys = {k: v for k, v in environ.items() if isinstance(v, str)}
        keys["pid"] = str(os.getpid())
        keys["wsgi.url_scheme"] = environ["wsgi.url_scheme"]
        return _json(start_response, keys)
    if path == "/echo":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        data = environ["wsgi.input"].read(length) if length else b""
        return _json(
            start_response,
            {"length": len(data), "sha256": hashlib.sha256(data).hexdigest()},
        )
    if path == "/ignore-body":
        body = b"ignored " * 2000
        start_response(
            "200 OK",
            [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
        )
        return [body]
    if path == "/slow":
        time.sleep(float(query.get("seconds", "1")))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"slept"]
    if path == "/stream":
        gate = query.get("gate", "")

        def generate():
            yield b"chunk-1\n"
            deadline = time.monotonic() + 10
            while not os.path.exists(gate):
                if time.monotonic() > deadline:
                    yield b"timed-out\n"
                    return
                time.sleep(0.02)
            yield b"released\n"

        start_response("200 OK", [("Content-Type", "text/plain")])
        return generate()
    if path == "/print":
        print("noise from print() in the application")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"printed"]
    if path == "/fail":
        raise RuntimeError("boom: this traceback belongs in the log only")
    if path.startswith("/g"):
        return framework(environ, start_response)
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]
