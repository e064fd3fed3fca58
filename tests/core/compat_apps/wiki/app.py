"""A wiki written for Flask: subclasses of the application, request and
response classes, a custom URL converter, configuration from a class and a
mapping, uploads with ``secure_filename`` and ``MAX_CONTENT_LENGTH``, class
based views, lazily imported views, signals, threads with
``copy_current_request_context`` and a CLI group."""

import os
import re
import threading

import click
from flask import (
    Flask,
    Request,
    Response,
    abort,
    copy_current_request_context,
    current_app,
    g,
    redirect,
    render_template,
    request,
    send_from_directory,
    template_rendered,
    url_for,
)
from flask.cli import AppGroup
from flask.views import View
from markupsafe import escape
from werkzeug.routing import BaseConverter
from werkzeug.utils import cached_property, import_string, secure_filename


class DefaultConfig:
    WIKI_TITLE = "Wiki"
    WIKI_FRONT_PAGE = "FrontPage"
    UPLOAD_EXTENSIONS = {"txt", "png"}
    MAX_CONTENT_LENGTH = 512
    SECRET_KEY = "wiki"


class WikiRequest(Request):
    @property
    def wants_raw(self):
        return (
            self.args.get("format") == "raw"
            or self.accept_mimetypes.best == "text/plain"
        )


class WikiResponse(Response):
    default_mimetype = "text/html"

    def set_page_headers(self, title):
        self.headers["X-Wiki-Page"] = title
        return self


class WikiWordConverter(BaseConverter):
    regex = r"(?:[A-Z][a-z0-9]+){2,}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


class WikiApp(Flask):
    request_class = WikiRequest
    response_class = WikiResponse


class LazyView:
    def __init__(self, import_name):
        self.__module__, self.__name__ = import_name.rsplit(".", 1)
        self.import_name = import_name

    @cached_property
    def view(self):
        return import_string(self.import_name)

    def __call__(self, *args, **kwargs):
        return self.view(*args, **kwargs)


class PageList(View):
    methods = ["GET"]

    def __init__(self, template):
        self.template = template

    def dispatch_request(self):
        pages = sorted(current_app.extensions["wiki_pages"])
        return render_template(self.template, pages=pages)


def link_words(text):
    escaped = str(escape(text))
    return re.sub(
        r"\b((?:[A-Z][a-z0-9]+){2,})\b",
        lambda m: f'<a href="{url_for("page", name=m.group(1))}">{m.group(1)}</a>',
        escaped,
    )


def history_view(name):
    return {
        "page": name,
        "revisions": len(current_app.extensions["wiki_pages"].get(name, [])),
    }


def create_app(upload_dir, **config):
    app = WikiApp(__name__)
    app.url_map.converters["wikiword"] = WikiWordConverter
    app.config.from_object(DefaultConfig)
    app.config.from_mapping(config, UPLOAD_DIR=upload_dir)
    app.extensions["wiki_pages"] = {
        "FrontPage": ["Welcome to the WikiWiki. See HelpPage."]
    }
    renders = app.extensions["wiki_renders"] = []

    @template_rendered.connect_via(app)
    def record_render(sender, template, context, **extra):
        renders.append(template.name)

    app.add_url_rule("/pages/", view_func=PageList.as_view("pages", "list.html"))
    app.add_url_rule(
        "/history/<wikiword:name>", view_func=LazyView(f"{__name__}.history_view")
    )

    @app.before_request
    def open_store():
        g.pages = app.extensions["wiki_pages"]

    @app.teardown_request
    def close_store(exc):
        g.pop("pages", None)

    @app.route("/")
    def front():
        return redirect(url_for("page", name=app.config["WIKI_FRONT_PAGE"]))

    @app.route("/<wikiword:name>", methods=["GET", "POST"])
    def page(name):
        if request.method == "POST":
            g.pages.setdefault(name, []).append(request.form["text"])
            return redirect(url_for("page", name=name), code=303)
        revisions = g.pages.get(name)
        if revisions is None:
            return render_template("missing.html", name=name), 404
        if request.wants_raw:
            return revisions[-1], {"Content-Type": "text/plain; charset=utf-8"}
        rv = app.make_response(
            render_template("page.html", name=name, html=link_words(revisions[-1]))
        )
        return rv.set_page_headers(name)

    @app.route("/files/", methods=["POST"])
    def upload():
        file = request.files.get("file")
        if file is None or not file.filename:
            abort(400, "No file was sent.")
        filename = secure_filename(file.filename)
        if filename.rsplit(".", 1)[-1].lower() not in app.config["UPLOAD_EXTENSIONS"]:
            abort(415)
        file.save(os.path.join(app.config["UPLOAD_DIR"], filename))
        return redirect(url_for("download", filename=filename))

    @app.route("/files/<path:filename>")
    def download(filename):
        return send_from_directory(app.config["UPLOAD_DIR"], filename)

    @app.route("/search")
    def search():
        words = request.args.getlist("q")
        found = []

        @copy_current_request_context
        def worker():
            # A copied request context gets a new app context: g is empty.
            assert "pages" not in g
            pages = current_app.extensions["wiki_pages"]
            for name, revisions in sorted(pages.items()):
                if any(w.lower() in revisions[-1].lower() for w in words):
                    found.append(f"{name}@{request.path}")

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        return {"query": words, "found": found}

    @app.route("/renders")
    def render_log():
        return {"renders": list(renders)}

    @app.errorhandler(413)
    def too_large(e):
        return f"Upload too large (limit {app.config['MAX_CONTENT_LENGTH']} bytes)", 413

    wiki_cli = AppGroup("wiki", help="Manage pages.")

    @wiki_cli.command("stats")
    @click.option("--verbose", is_flag=True)
    def stats(verbose):
        pages = current_app.extensions["wiki_pages"]
        click.echo(f"{len(pages)} pages")
        if verbose:
            for name in sorted(pages):
                click.echo(f"{name}: {len(pages[name])}")

    @wiki_cli.command("create")
    @click.argument("name")
    def create(name):
        if not WikiWordConverter.regex or not re.fullmatch(
            WikiWordConverter.regex, name
        ):
            raise click.BadParameter(f"{name!r} is not a WikiWord")
        current_app.extensions["wiki_pages"].setdefault(name, ["New page."])
        click.echo(f"created {name}")

    app.cli.add_command(wiki_cli)
    return app
