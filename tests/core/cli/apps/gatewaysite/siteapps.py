"""The applications of ``gatewaysite/gateway.toml``."""

from gateway import App

main = App("main")


@main.route("/")
def index():
    return "main"


def create_admin():
    admin = App("admin")

    @admin.route("/users")
    def users():
        return "users"

    return admin


def raw_wsgi(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"raw"]


def create_tenant(key):
    if key == "nobody":
        return None

    if key == "explode":
        raise RuntimeError("tenant factory exploded")

    tenant = App(f"tenant-{key}")

    @tenant.route("/dashboard")
    def dashboard():
        return key

    return tenant
