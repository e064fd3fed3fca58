"""A shop written for Flask, module-level app (no factory): language codes in
URLs through URL processors, a session cart, the ``templated`` view
decorator, custom error pages, streamed exports, file downloads, cookies set
with ``after_this_request`` and flashed messages filtered by category."""

import csv
import io
from functools import wraps

from flask import (
    Blueprint,
    Flask,
    abort,
    after_this_request,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    session,
    stream_template,
    stream_with_context,
    url_for,
)
from markupsafe import Markup

PRODUCTS = {
    "tea": {"name": "Green <Tea>", "price": 450},
    "mug": {"name": "Mug", "price": 1200},
    "pot": {"name": "Tea pot", "price": 3999},
}
LANGUAGES = ["en", "de", "fr"]

app = Flask(__name__)
app.config.update(SECRET_KEY="shop-secret", PROPAGATE_EXCEPTIONS=False)

shop = Blueprint("shop", __name__, url_prefix="/<lang_code>")


def templated(template=None):
    def decorator(f):
        @wraps(f)
        def decorated_function(*args, **kwargs):
            template_name = template
            if template_name is None:
                template_name = f"{request.endpoint.replace('.', '/')}.html"
            ctx = f(*args, **kwargs)
            if ctx is None:
                ctx = {}
            elif not isinstance(ctx, dict):
                return ctx
            return render_template(template_name, **ctx)

        return decorated_function

    return decorator


@shop.url_defaults
def add_language_code(endpoint, values):
    if "lang_code" in values or not g.get("lang_code"):
        return
    if app.url_map.is_endpoint_expecting(endpoint, "lang_code"):
        values["lang_code"] = g.lang_code


@shop.url_value_preprocessor
def pull_lang_code(endpoint, values):
    g.lang_code = values.pop("lang_code")
    if g.lang_code not in LANGUAGES:
        abort(404)


@shop.context_processor
def cart_info():
    cart = session.get("cart", {})
    return {"cart_count": sum(cart.values()), "languages": LANGUAGES}


@app.template_filter("money")
def money(cents):
    return f"{cents // 100}.{cents % 100:02d} EUR"


@app.template_global()
def product_url(slug):
    return url_for("shop.product", slug=slug)


@shop.route("/")
@templated()
def index():
    return {"products": PRODUCTS}


@shop.route("/p/<slug>")
@templated("shop/product.html")
def product(slug):
    if slug not in PRODUCTS:
        abort(404)

    @after_this_request
    def remember(response):
        response.set_cookie("last_seen", slug, httponly=True, samesite="Lax")
        return response

    return {"slug": slug, "product": PRODUCTS[slug]}


@shop.post("/cart/add/<slug>")
def add_to_cart(slug):
    if slug not in PRODUCTS:
        flash(f"Unknown product {slug}.", "error")
        return redirect(url_for(".index"))
    cart = session.setdefault("cart", {})
    cart[slug] = cart.get(slug, 0) + request.form.get("qty", 1, type=int)
    session.modified = True
    flash(Markup("Added <b>%s</b>.") % PRODUCTS[slug]["name"], "success")
    return redirect(request.form.get("next") or url_for(".cart"))


@shop.route("/cart")
@templated()
def cart():
    items = [
        (slug, PRODUCTS[slug], qty)
        for slug, qty in sorted(session.get("cart", {}).items())
    ]
    total = sum(p["price"] * qty for _, p, qty in items)
    return {"items": items, "total": total}


@shop.post("/cart/clear")
def clear_cart():
    session.pop("cart", None)
    flash("Cart emptied.", "info")
    return redirect(url_for(".cart"))


@shop.route("/checkout")
def checkout():
    if not session.get("cart"):
        flash("Your cart is empty.", "error")
        return redirect(url_for(".cart", next=request.url))
    return redirect(url_for(".invoice"))


@shop.route("/invoice.csv")
def invoice():
    out = io.StringIO()
    writer = csv.writer(out)
    for slug, qty in sorted(session.get("cart", {}).items()):
        writer.writerow([slug, qty, PRODUCTS[slug]["price"] * qty])
    data = io.BytesIO(out.getvalue().encode())
    return send_file(
        data, mimetype="text/csv", as_attachment=True, download_name="invoice ü.csv"
    )


@shop.route("/export")
def export():
    def rows():
        yield f"lang={g.lang_code}\n"
        for slug in PRODUCTS:
            yield f"{slug},{request.args.get('sep', ';')}{PRODUCTS[slug]['price']}\n"

    return stream_with_context(rows()), {"Content-Type": "text/plain"}


@shop.route("/catalogue")
def catalogue():
    return stream_template("shop/catalogue.html", products=PRODUCTS)


@shop.route("/boom")
def boom():
    raise RuntimeError("broken")


app.register_blueprint(shop)


@app.route("/")
def root():
    lang = request.accept_languages.best_match(LANGUAGES) or "en"
    return redirect(url_for("shop.index", lang_code=lang))


@app.errorhandler(404)
def not_found(e):
    return render_template("404.html"), 404


@app.errorhandler(500)
def server_error(e):
    original = getattr(e, "original_exception", None)
    response = make_response(
        render_template("500.html", kind=type(original).__name__), 500
    )
    response.headers["Retry-After"] = "30"
    return response
