"""Read at interpreter start by ``gateway-flask-compat.pth``, which gateway's
installation puts in site-packages, when ``GATEWAY_FLASK_COMPAT`` is set.

It must stay cheap: it imports nothing of gateway until something imports
``flask``, so a process that never does (pip, a build) pays nothing more.
"""

import os
import sys

# typing is not imported (it costs at every interpreter start); mypy treats
# this name as true, so the names below exist for it alone.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

ENV_VAR = "GATEWAY_FLASK_COMPAT"


def switch_requested(value: str | None) -> bool:
    """Whether a value of ``GATEWAY_FLASK_COMPAT`` turns the switch on: any
    non-empty value but 0, false, no and off."""
    value = (value or "").strip().lower()
    return bool(value) and value not in {"0", "false", "no", "off"}


class _TurnOnAtFirstFlaskImport:
    """A meta-path finder that, at the first ``import flask``, turns gateway's
    switch on and hands the import to gateway's own finder."""

    def find_spec(
        self,
        fullname: str,
        path: "Sequence[str] | None" = None,
        target: "ModuleType | None" = None,
    ) -> "ModuleSpec | None":
        if fullname != "flask" and not fullname.startswith("flask."):
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        from gateway import compat

        compat.enable()
        return compat.finder.install().find_spec(fullname, path, target)


def install() -> None:
    """Arm the switch if the environment asks for it; idempotent.

    Python's site module can run a .pth file twice: CPython 3.11 processes a
    virtual environment's site-packages from venv() and again from
    addsitepackages(), so this runs twice at every start there.
    """
    if not switch_requested(os.environ.get(ENV_VAR)):
        return
    if any(isinstance(finder, _TurnOnAtFirstFlaskImport) for finder in sys.meta_path):
        return
    sys.meta_path.insert(0, _TurnOnAtFirstFlaskImport())
