"""The module uWSGI imports under ``gateway serve --adapter uwsgi``.

It builds the gateway named by ``$GATEWAY_CONFIG`` when imported (uWSGI looks
``application`` up in the module's namespace, so it must exist at import).
"""

from gateway.adapters.uwsgi import application_from_environment

application = application_from_environment()
