"""Routes for ``gateway routes``: a plain app, one with subdomains and one
matching hosts, plus one without any rule."""

from gateway import App

app = App("routesapp")


@app.route("/")
def index():
    return "index"


@app.route("/post", methods=["POST", "PUT"])
def yyy_post():
    return "post"


@app.route("/get/<int:item>", methods=["GET", "DELETE"])
def aaa_get(item):
    return str(item)


def create_subdomain_app():
    sub = App("subapp", subdomain_matching=True)
    sub.config["SERVER_NAME"] = "example.test"

    @sub.route("/", subdomain="admin")
    def admin_index():
        return "admin"

    @sub.route("/plain")
    def plain():
        return "plain"

    return sub


def create_host_app():
    hosted = App("hostapp", host_matching=True, static_host="static.example.test")

    @hosted.route("/", host="api.example.test")
    def api_index():
        return "api"

    return hosted


def create_empty_app():
    return App("emptyapp", static_folder=None)
