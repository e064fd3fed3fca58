"""The themes a tenant can pick.

Each theme is a directory ``hosting/site/themes/<name>/`` holding its
stylesheet (CSS custom properties read by the shared stylesheet) and its
images; a tenant application serves its own theme's directory at ``/theme/``.
The colours here are only the swatches the admin shows.
"""

from __future__ import annotations

import typing as t


class Theme(t.NamedTuple):
    label: str
    primary: str
    accent: str


THEMES: dict[str, Theme] = {
    "ocean": Theme("Ocean", "#1d4ed8", "#06b6d4"),
    "sunset": Theme("Sunset", "#c2410c", "#e11d48"),
    "forest": Theme("Forest", "#047857", "#84cc16"),
    "grape": Theme("Grape", "#6d28d9", "#db2777"),
}
