"""A module two packages deep, loaded through its file path."""

from gateway import App

app = App(__name__)
