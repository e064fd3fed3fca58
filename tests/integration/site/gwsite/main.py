from gwsite.views import make_app

app = make_app("main")
