"""Template rendering per request: a template string and a template file,
gateway against Flask, in-process through each app's WSGI callable.

Run: ``python benchmarks/templates.py``.
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _util import Table, interleave, per_call_us  # noqa: E402

SOURCE = """<!doctype html>
<title>{{ title }}</title>
<ul>{% for item in items %}<li class="{{ loop.cycle('odd', 'even') }}">
{{ item.name | title }}: {{ item.price | round(2) }}</li>{% endfor %}</ul>
<p>{{ url_for('string') }} {{ user }}</p>"""


def build(fw, App, template_dir: str):  # type: ignore[no-untyped-def]
    app = App("bench_templates", template_folder=template_dir, static_folder=None)
    items = [{"name": f"item {i}", "price": i * 1.2345} for i in range(10)]

    @app.route("/string")
    def string():  # type: ignore[no-untyped-def]
        return fw.render_template_string(
            SOURCE, title="Hi", items=items, user="<b>x</b>"
        )

    @app.route("/file")
    def file():  # type: ignore[no-untyped-def]
        return fw.render_template("page.html", title="Hi", items=items, user="<b>x</b>")

    return app


def environ(path: str) -> dict:  # type: ignore[type-arg]
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
    }


def call(app, path: str) -> bytes:  # type: ignore[no-untyped-def]
    result = app(environ(path), lambda s, h, e=None: None)
    try:
        return b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()


def main() -> None:
    import flask

    import gateway

    with tempfile.TemporaryDirectory() as template_dir:
        Path(template_dir, "page.html").write_text(SOURCE)
        fa = build(flask, flask.Flask, template_dir)
        ga = build(gateway, gateway.App, template_dir)
        for path in ("/string", "/file"):
            if call(fa, path) != call(ga, path):
                raise SystemExit(f"{path}: gateway and Flask render differently")
        table = Table("Templates, per request (same output checked first)")
        for path, what, target in (
            ("/string", "render_template_string", "<= 0.2"),
            ("/file", "render_template (file)", "<= 0.5"),
        ):
            times = interleave(
                {
                    "flask": lambda p=path: per_call_us(lambda: call(fa, p), 300),
                    "gateway": lambda p=path: per_call_us(lambda: call(ga, p), 300),
                },
                repeats=7,
            )
            table.add(what, times["flask"], times["gateway"], "µs", target)
        table.print()


if __name__ == "__main__":
    main()
