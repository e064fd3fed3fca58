"""Installs ``gateway-flask-compat.pth`` beside the package, in regular and
editable installs alike; everything else is in pyproject.toml.

The .pth file holds one line that Python's site module runs at every start:
when GATEWAY_FLASK_COMPAT is set it arms the Flask compatibility switch
(_gateway_flask_compat.py), otherwise it costs one environment lookup.
"""

import os

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

PTH_NAME = "gateway-flask-compat.pth"
PTH_LINE = (
    "import os; os.environ.get('GATEWAY_FLASK_COMPAT', '').strip()"
    " and __import__('_gateway_flask_compat').install()\n"
)


class build_py_with_pth(build_py):
    """A wheel's build_lib root is site-packages once installed."""

    def run(self):
        super().run()
        os.makedirs(self.build_lib, exist_ok=True)
        with open(os.path.join(self.build_lib, PTH_NAME), "w") as f:
            f.write(PTH_LINE)

    def get_outputs(self, include_bytecode=True):
        return [
            *super().get_outputs(include_bytecode),
            os.path.join(self.build_lib, PTH_NAME),
        ]


class _StrategyWithPth:
    """Wraps setuptools' editable strategy to add the .pth to its wheel."""

    def __init__(self, strategy):
        self.strategy = strategy

    def __call__(self, wheel, files, mapping):
        self.strategy(wheel, files, mapping)
        wheel.writestr(PTH_NAME, PTH_LINE)

    def __enter__(self):
        self.strategy.__enter__()
        return self

    def __exit__(self, *exc):
        return self.strategy.__exit__(*exc)


class editable_wheel_with_pth(editable_wheel):
    """pip install -e: the editable wheel carries the .pth file too."""

    def _select_strategy(self, *args, **kwargs):
        return _StrategyWithPth(super()._select_strategy(*args, **kwargs))


cmdclass = {"build_py": build_py_with_pth}
# A private hook of setuptools' editable installs (setuptools 64 and later);
# without it an editable install lacks the .pth, which tests/compat reports.
if hasattr(editable_wheel, "_select_strategy"):
    cmdclass["editable_wheel"] = editable_wheel_with_pth

setup(cmdclass=cmdclass)
