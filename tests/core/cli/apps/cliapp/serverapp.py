"""Served by the real ``gateway run`` tests."""

import os
import threading

from gateway import App, request

app = App("serverapp")
release = threading.Event()
waiting = threading.Event()


@app.route("/")
def index():
    return f"served by {app.name} debug={app.debug}"


@app.route("/env")
def env():
    return os.environ.get("SERVERAPP_MESSAGE", "unset")


@app.route("/wait")
def wait():
    # Answers only once /release has been requested: proves that a second
    # request is handled while this one is still running.
    waiting.set()
    released = release.wait(timeout=20)
    return "released" if released else "never released"


@app.route("/waiting")
def is_waiting():
    return "yes" if waiting.is_set() else "no"


@app.route("/release")
def do_release():
    release.set()
    return "ok"


@app.route("/crash")
def crash():
    raise RuntimeError("crash requested")


@app.route("/multithread")
def multithread():
    return str(request.environ["wsgi.multithread"])
