"""Server configuration from one gateway.toml: nginx, Apache, lighttpd,
systemd, supervisor, uWSGI and the entry files.

>>> from gateway.toml import load_config
>>> files = render("nginx", load_config("/srv/acme/gateway.toml"))  # doctest: +SKIP
>>> list(files)  # doctest: +SKIP
['acme.nginx.conf']

One model (:mod:`gateway.deploy.model`) feeds every template, so the
forwarded headers a front server sets always match what the gateway's
``[proxy]`` table believes, and every server publishes the same host names,
sub-path and static routes. ``gateway config KIND gateway.toml`` is the
command-line face of :func:`render`.
"""

from __future__ import annotations

from .kinds import DESCRIPTIONS, Plan, kinds
from .model import DeployError, DeployOptions
from .render import make_plan, render, render_plan, template_dir

#: Every kind :func:`render` accepts.
KINDS: tuple[str, ...] = kinds()

__all__ = [
    "DESCRIPTIONS",
    "KINDS",
    "DeployError",
    "DeployOptions",
    "Plan",
    "make_plan",
    "render",
    "render_plan",
    "template_dir",
]
