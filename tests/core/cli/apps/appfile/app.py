"""Found without --app because the working directory holds ``app.py``."""

from gateway import App

app = App("appfile")


@app.route("/")
def index():
    return "Hello from app.py"
