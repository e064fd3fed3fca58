"""What a tenant instance knows about itself, kept in ``app.extensions``."""

from __future__ import annotations

import os
import typing as t
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gateway import current_app

from ..store import Store, Tenant


@dataclass
class SiteState:
    """The tenant row this instance was built from, the store answering its
    queries, and when and where (process id) the instance was created."""

    tenant: Tenant
    store: Store
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    pid: int = field(default_factory=os.getpid)


def state() -> SiteState:
    """The current tenant instance's :class:`SiteState`."""
    return t.cast(SiteState, current_app.extensions["hosting"])
