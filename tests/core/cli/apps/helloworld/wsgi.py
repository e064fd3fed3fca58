"""Found without --app because the working directory holds ``wsgi.py``."""

from gateway import App

app = App("helloworld")


@app.route("/")
def index():
    return "Hello from wsgi.py"
