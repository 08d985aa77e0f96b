"""The one house style every lab figure shares, so the labs look alike and a figure
function says only what is particular to its plot."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go


def finish(fig: go.Figure, title: str, height: int, right: int = 10, **layout: Any) -> go.Figure:
    """Title, size and margins in the labs' common style; `layout` carries the axes.
    `right` widens the right margin for figures with a second y axis."""
    fig.update_layout(
        title=title,
        height=height,
        margin=dict(l=40, r=right, t=40, b=40),
        **layout,
    )
    return fig
