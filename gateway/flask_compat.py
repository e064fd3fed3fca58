"""``import gateway.flask_compat`` as the first line of an application's entry
module turns the Flask compatibility switch on (:mod:`gateway.compat`): every
``import flask`` after it, the application's and its extensions', runs on
gateway's core."""

from .compat import enable

enable()
