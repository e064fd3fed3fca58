"""One application under a name discovery does not guess (``testapp``)."""

from gateway import App

testapp = App("testapp")
