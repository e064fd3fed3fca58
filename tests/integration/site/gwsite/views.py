"""One application factory for every app of the site; each app answers the
same probes, labelled, so a test can tell which app a request reached."""

from __future__ import annotations

import hashlib
import os
import pwd
import sys
import time

from gateway import App, Response, g, jsonify, redirect, request, session, url_for

#: Seconds /stream waits for the test's gate file before giving up.
GATE_TIMEOUT = 10.0


def make_app(label: str) -> App:
    app = App(f"gwsite.{label}")

    @app.route("/")
    def index() -> str:
        return f"{label} index"

    @app.route("/whoami")
    def whoami() -> Response:
        return jsonify(
            label=label,
            remote_addr=request.remote_addr,
            scheme=request.scheme,
            host=request.host,
            script_root=request.script_root,
            path=request.path,
            index_url=url_for("index", _external=True),
            x_forwarded_for=request.environ.get("HTTP_X_FORWARDED_FOR"),
            x_forwarded_proto=request.environ.get("HTTP_X_FORWARDED_PROTO"),
            probe=request.environ.get("HTTP_X_PROBE"),
            pid=os.getpid(),
            user=pwd.getpwuid(os.geteuid()).pw_name,
            python=sys.base_prefix,
        )

    @app.route("/go")
    def go() -> Response:
        return redirect(url_for("index"))

    @app.post("/echo")
    def echo() -> Response:
        data = request.get_data()
        return jsonify(
            length=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            form=request.form.to_dict(),
        )

    @app.post("/ignore-body")
    def ignore_body() -> str:
        # Answers without reading the body: the server must cope.
        return "ignored " * 2000

    @app.route("/stream")
    def stream() -> Response:
        gate = request.args.get("gate", "")

        def generate():
            yield "chunk-1\n"
            deadline = time.monotonic() + GATE_TIMEOUT
            while gate and not os.path.exists(gate):
                if time.monotonic() > deadline:
                    yield "timed-out\n"
                    break
                time.sleep(0.02)
            else:
                yield "released\n"
            yield "end\n"

        # nginx buffers upstream responses unless told otherwise.
        return Response(
            generate(), mimetype="text/plain", headers={"X-Accel-Buffering": "no"}
        )

    @app.route("/session/set")
    def session_set() -> str:
        session["value"] = request.args["value"]
        return "stored"

    @app.route("/session/get")
    def session_get() -> str:
        return session.get("value", "<none>")

    @app.route("/print")
    def noisy() -> str:
        print("noise from print() in a view")
        return "printed"

    @app.route("/slow")
    def slow() -> str:
        time.sleep(float(request.args.get("seconds", "1")))
        return "slept"

    @app.route("/g")
    def g_probe() -> Response:
        # Concurrent requests (threads or greenlets) each keep their own g.
        g.value = request.args["value"]
        time.sleep(float(request.args.get("seconds", "0.3")))
        return jsonify(label=label, value=g.value)

    @app.route("/fail")
    def fail() -> str:
        raise RuntimeError("boom: this traceback belongs in the log only")

    return app
