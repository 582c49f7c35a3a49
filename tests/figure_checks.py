"""Checks on drawn figures shared by the plot and report tests."""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def misfits(fig: Figure, min_width: float = 0.35) -> list[str]:
    """Titles, axis labels, legends and texts cut off by the figure edge; squeezed axes.

    Tick labels are left out: matplotlib keeps invisible ones outside the view limits.
    """
    if not isinstance(fig.canvas, FigureCanvasAgg):  # a closed figure loses its canvas
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    bad = []
    for artist in [fig._suptitle, *fig.legends]:  # the figure's own title and legends
        if artist is None or not artist.get_visible():
            continue
        box = artist.get_window_extent(renderer)
        if box.x0 < -1 or box.y0 < -1 or box.x1 > width + 1 or box.y1 > height + 1:
            what = artist.get_text() if hasattr(artist, "get_text") else "figure legend"
            bad.append(f"cut off: {what!r}")
    for ax in fig.axes:
        texts = [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        artists = [t for t in texts if t.get_visible() and t.get_text()]
        if ax.get_legend() is not None:
            artists.append(ax.get_legend())
        for artist in artists:
            box = artist.get_window_extent(renderer)
            if box.x0 < -1 or box.y0 < -1 or box.x1 > width + 1 or box.y1 > height + 1:
                what = artist.get_text() if hasattr(artist, "get_text") else "legend"
                bad.append(f"cut off: {what!r}")
        if ax.axison and not hasattr(ax, "_colorbar"):
            share = ax.get_window_extent(renderer).width / width
            if share < min_width:
                bad.append(f"axes only {share:.0%} of the figure's width")
    return bad
