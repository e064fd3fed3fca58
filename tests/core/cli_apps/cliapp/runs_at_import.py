"""Calls ``app.run()`` at import time, outside a ``__main__`` guard: loading it
from the command line must not start a server."""

from gateway import App

app = App("runs_at_import")


@app.route("/")
def index():
    return "index"


app.run(port=1)
