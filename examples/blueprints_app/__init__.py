"""An example application split into blueprints.

It exists to show (and, through tests/examples/test_blueprints_app.py, to
prove) every kind of blueprint registration working together:

- ``site``: app-wide hooks, handlers, context processors, template filters,
  tests and globals, and the URL processors that carry the language code;
- ``accounts``: blueprint-scoped hooks, an error handler, method shortcuts,
  a context processor and template filter/test/global;
- ``blog``: its own templates and static files, mounted under a URL prefix
  with a variable (``/<lang_code>/blog``), URL processors, ``record`` and
  ``record_once``;
- ``api``: nested blueprints, the same child registered twice under
  different names, prefixes and URL defaults, JSON error handlers;
- ``admin``: one blueprint registered twice (``name=`` override and
  ``url_defaults``);
- ``status``: a blueprint on a subdomain (needs ``SERVER_NAME``).

Run it with ``python -m blueprints_app`` from the ``examples`` directory.
"""

from __future__ import annotations

import typing as t

from gateway import App


def create_app(test_config: t.Mapping[str, t.Any] | None = None) -> App:
    """Build the application; ``test_config`` overrides the defaults."""
    app = App(__name__, subdomain_matching=True)
    app.config.from_mapping(
        SECRET_KEY="dev-only-secret",
        BLOG_POSTS={
            "hello": {"en": "Hello, blueprints!", "fr": "Bonjour, blueprints !"},
            "nested": {"en": "Blueprints inside blueprints."},
        },
    )
    if test_config is not None:
        app.config.from_mapping(test_config)

    from . import accounts, admin, api, blog, site, status

    app.register_blueprint(site.bp)
    app.register_blueprint(accounts.bp)  # the blueprint's own url_prefix
    app.register_blueprint(blog.bp, url_prefix="/<lang_code>/blog")
    app.register_blueprint(api.bp)  # brings its nested children along
    app.register_blueprint(admin.bp, url_prefix="/admin")
    app.register_blueprint(
        admin.bp,
        name="moderation",
        url_prefix="/moderation",
        url_defaults={"role": "moderator"},
    )
    app.register_blueprint(status.bp, subdomain="status")
    return app
