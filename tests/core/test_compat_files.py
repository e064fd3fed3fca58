"""Static files, ``send_file`` / ``send_from_directory`` (conditional and
range requests, path traversal), cache ages and uploads side by side with
Flask 3.1, with the file-upload and favicon patterns of Flask's
documentation."""

from __future__ import annotations

import io
import os
import shutil
import typing as t
from pathlib import Path

import pytest
from compat_support import (
    Case,
    Framework,
    call,
    case_tests,
    req,
)
from werkzeug.utils import secure_filename

APPS = Path(__file__).resolve().parent / "compat_apps"
STATIC_ROOT = APPS / "static_root"

# -- static files and file sending ------------------------------------------------------


def static_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(f"compat_static_{fw.name}", root_path=str(STATIC_ROOT))

    @app.route("/send-file")
    def send_file():
        return F.send_file("static/hello.txt")

    @app.route("/send-bytes")
    def send_bytes():
        return F.send_file(
            io.BytesIO(b"data"), mimetype="text/csv", as_attachment=True,
            download_name="report ü.csv",
        )  # fmt: skip

    @app.route("/send-bytes-no-type")
    def send_bytes_no_type():
        return F.send_file(io.BytesIO(b"data"), download_name="x.json")

    @app.route("/from-dir/<path:name>")
    def from_dir(name):
        return F.send_from_directory(STATIC_ROOT / "static", name)

    @app.route("/from-relative-dir/<path:name>")
    def from_relative_dir(name):
        return F.send_from_directory("static", name, max_age=30)

    @app.route("/static-file")
    def static_file():
        return F.current_app.send_static_file("hello.txt")

    @app.route("/favicon.ico")
    def favicon():
        return F.send_from_directory(
            os.path.join(app.root_path, "static"),
            "hello.txt",
            mimetype="image/vnd.microsoft.icon",
        )

    return app


STATIC = Case(
    static_app,
    req("GET", "/static/hello.txt", 200),
    req("HEAD", "/static/hello.txt", 200),
    req("GET", "/static/hello.txt", 206, headers={"Range": "bytes=0-4"}),
    req("GET", "/static/hello.txt", 416, headers={"Range": "bytes=500-"}),
    req("GET", "/static/app.js", 200),
    req("GET", "/static/nope.txt", 404),
    req("GET", "/static/../static_root/static/hello.txt", 404),
    req("GET", "/send-file", 200),
    req("GET", "/send-bytes", 200),
    req("GET", "/send-bytes-no-type", 200),
    req("GET", "/from-dir/hello.txt", 200),
    req("GET", "/from-dir/..%2f..%2fbp_root/bp_static/b.css", 404),
    req("GET", "/from-dir/%2Fetc/passwd", 308),  # slashes merged by routing
    req("GET", "/from-dir/etc/passwd", 404),
    req("GET", "/from-dir/a%00b", 404),
    req("GET", "/from-relative-dir/hello.txt", 200),
    req("GET", "/static-file", 200),
    req("GET", "/favicon.ico", 200),
)


def _conditional(app: t.Any, client: t.Any, fw: Framework) -> list[t.Any]:
    first = client.get("/static/hello.txt")
    etag = client.get(
        "/static/hello.txt", headers={"If-None-Match": first.headers["ETag"]}
    )
    since = client.get(
        "/static/hello.txt",
        headers={"If-Modified-Since": first.headers["Last-Modified"]},
    )
    out = [first.headers["Cache-Control"], etag.status_code, since.status_code]
    for rv in (first, etag, since):
        rv.close()
    return out


CONDITIONAL = Case(static_app, call(_conditional, expect=["no-cache", 304, 304]))


def static_config_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(
        f"compat_static_cfg_{fw.name}",
        root_path=str(STATIC_ROOT),
        static_url_path="/assets",
    )
    app.config.update(SEND_FILE_MAX_AGE_DEFAULT=60, USE_X_SENDFILE=True)

    @app.route("/url")
    def url():
        return F.url_for("static", filename="hello.txt")

    return app


STATIC_CONFIG = Case(
    static_config_app,
    req("GET", "/assets/hello.txt", 200),
    req("GET", "/url", 200),
    req("GET", "/static/hello.txt", 404),
)


def max_age_app(fw: Framework) -> t.Any:
    class CacheJS(fw.App):  # type: ignore[name-defined,misc]
        def get_send_file_max_age(self, filename):
            if filename and filename.lower().endswith(".js"):
                return 600
            return super().get_send_file_max_age(filename)

    return CacheJS(f"compat_max_age_{fw.name}", root_path=str(STATIC_ROOT))


MAX_AGE = Case(
    max_age_app,
    req("GET", "/static/app.js", 200),
    req("GET", "/static/hello.txt", 200),
)


def no_static_app(fw: Framework) -> t.Any:
    F = fw.F
    app = fw.App(
        f"compat_no_static_{fw.name}", root_path=str(STATIC_ROOT), static_folder=None
    )

    @app.route("/info")
    def info():
        return repr(
            (
                F.current_app.has_static_folder,
                F.current_app.static_url_path,
                sorted(r.rule for r in F.current_app.url_map.iter_rules()),
            )
        )

    return app


NO_STATIC = Case(
    no_static_app, req("GET", "/static/hello.txt", 404), req("GET", "/info", 200)
)

# -- uploads ------------------------------------------------------------------------


def uploads_app(fw: Framework, upload_dir: str) -> t.Any:
    """The documented upload recipe: extension whitelist, secure_filename,
    a size limit, and the stored file served back."""
    F = fw.F
    app = fw.App(f"compat_uploads_{fw.name}")
    app.config.update(UPLOAD_FOLDER=upload_dir, MAX_CONTENT_LENGTH=1024, SECRET_KEY="k")
    allowed = {"txt", "png"}

    def allowed_file(filename):
        return "." in filename and filename.rsplit(".", 1)[1].lower() in allowed

    @app.route("/upload", methods=["GET", "POST"])
    def upload():
        if F.request.method == "POST":
            if "file" not in F.request.files:
                F.flash("No file part")
                return F.redirect(F.request.url)
            file = F.request.files["file"]
            if file.filename == "":
                return "No selected file", 400
            if file and allowed_file(file.filename):
                filename = secure_filename(file.filename)
                file.save(os.path.join(app.config["UPLOAD_FOLDER"], filename))
                return F.redirect(F.url_for("uploaded", name=filename))
            return "Extension not allowed", 400
        return "<form method=post enctype=multipart/form-data><input type=file name=file></form>"

    @app.route("/uploads/<name>")
    def uploaded(name):
        return F.send_from_directory(
            app.config["UPLOAD_FOLDER"], name, as_attachment=True
        )

    @app.route("/meta", methods=["POST"])
    def meta():
        f = F.request.files["file"]
        return repr(
            (f.filename, f.mimetype, f.name, f.read(), F.request.form.to_dict())
        )

    return app


def _uploads(app: t.Any, client: t.Any, fw: Framework) -> list[t.Any]:
    out = []
    rv = client.post(
        "/upload", data={"file": (io.BytesIO(b"hello"), "../../etc/ev il.txt")}
    )
    out.append((rv.status_code, rv.headers["Location"]))
    stored = Path(app.config["UPLOAD_FOLDER"], "etc_ev_il.txt")
    os.utime(stored, (1_700_000_000, 1_700_000_000))
    rv = client.get("/uploads/etc_ev_il.txt")
    out.append(
        (rv.data, rv.headers["Content-Disposition"], rv.headers["Last-Modified"])
    )
    rv.close()
    for data in (
        {"file": (io.BytesIO(b"x" * 2000), "big.txt")},
        {"file": (io.BytesIO(b"x"), "x.exe")},
        {"file": (io.BytesIO(b""), "")},
        {"other": "1"},
    ):
        rv = client.post("/upload", data=data)
        out.append((rv.status_code, rv.headers.get("Location")))
    rv = client.post(
        "/meta",
        data={"file": (io.BytesIO(b"PNG"), "a.png", "image/png"), "field": "v"},
    )
    out.append(rv.data)
    return out


def _remove_upload_dir(app: t.Any, client: t.Any, fw: Framework) -> bool:
    shutil.rmtree(app.config["UPLOAD_FOLDER"])
    return True


def _upload_dir(fw: Framework) -> str:
    import tempfile

    return tempfile.mkdtemp(prefix=f"compat-uploads-{fw.name}-")


UPLOADS = Case(
    lambda fw: uploads_app(fw, _upload_dir(fw)),
    req("GET", "/upload", 200),
    call(
        _uploads,
        expect=[
            (302, "/uploads/etc_ev_il.txt"),
            (b"hello", "attachment; filename=etc_ev_il.txt", "Tue, 14 Nov 2023 22:13:20 GMT"),
            (413, None),
            (400, None),
            (400, None),
            (302, "http://localhost/upload"),
            b"('a.png', 'image/png', 'file', b'PNG', {'field': 'v'})",
        ],
    ),
    call(_remove_upload_dir),
)  # fmt: skip


CASES = [
    pytest.param(STATIC, id="static-and-send-file"),
    pytest.param(CONDITIONAL, id="conditional-requests"),
    pytest.param(STATIC_CONFIG, id="static-config"),
    pytest.param(MAX_AGE, id="send-file-max-age"),
    pytest.param(NO_STATIC, id="no-static-folder"),
    pytest.param(UPLOADS, id="uploads"),
]


# Each case runs on both frameworks, then their observations are compared.
test_case, test_case_matches_flask = case_tests(CASES)
