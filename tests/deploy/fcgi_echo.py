"""A FastCGI (flup) application that answers with the CGI environment it
received, as JSON: what a front server's FastCGI parameters really deliver.

Usage: python fcgi_echo.py SOCKET_PATH
"""

import json
import sys

from flup.server.fcgi import WSGIServer


def application(environ, start_response):
    seen = {k: v for k, v in environ.items() if isinstance(v, str)}
    seen["wsgi.url_scheme"] = environ["wsgi.url_scheme"]
    body = json.dumps(seen).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


if __name__ == "__main__":
    WSGIServer(application, bindAddress=sys.argv[1], umask=0).run()
