from gwsite.views import make_app


def create_app():
    return make_app("admin")
