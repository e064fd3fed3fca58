"""An ``ssl.SSLContext`` for ``gateway run --cert cliapp.sslctx.context``; the
certificate files come from SSLCTX_CERT and SSLCTX_KEY when set."""

import os
import ssl

context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)

if "SSLCTX_CERT" in os.environ:
    context.load_cert_chain(os.environ["SSLCTX_CERT"], os.environ["SSLCTX_KEY"])
