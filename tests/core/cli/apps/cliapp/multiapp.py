"""Two applications and neither is called ``app``: discovery must refuse."""

from gateway import App

app1 = App("app1")
app2 = App("app2")
