"""``python -m gateway``: the same as the ``gateway`` command."""

from .cli import main

main()
