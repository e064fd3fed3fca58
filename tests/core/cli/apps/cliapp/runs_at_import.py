"""Calls ``app.run()`` at import time, outside a ``__main__`` guard: loading it
from the command line must not start a server."""

from gateway import App

app = App("runs_at_import")


@app.route("/")
def index():
    return "index"


# An unresolvable host makes the test fail fast if run() does not return.
app.run(host="host.invalid", port=5000)
