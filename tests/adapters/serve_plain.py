"""Run one adapter's ``serve()`` on plain_app: ``serve_plain.py ADAPTER JSON``.

JSON holds serve()'s keyword arguments; a ``bind`` list becomes a tuple.
gevent is patched before anything else is imported, as its adapter requires.
"""

import sys

if sys.argv[1] == "gevent":
    from gevent import monkey

    monkey.patch_all()

import json  # noqa: E402
import os  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from plain_app import application  # noqa: E402

from gateway.adapters import get_adapter  # noqa: E402

options = json.loads(sys.argv[2])
for key in ("bind",):
    if isinstance(options.get(key), list):
        options[key] = tuple(options[key])
get_adapter(sys.argv[1]).serve(application, **options)
