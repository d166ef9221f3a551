"""One plotting style for the whole book (needs matplotlib, an optional dependency)."""
from __future__ import annotations

__all__ = ["use_book_style", "COLORS"]

# Okabe-Ito: distinguishable with the common colour-vision deficiencies (and in greyscale
# the first ones differ in lightness)
COLORS = ["#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#000000"]


def use_book_style():
    """Set a clean, deterministic matplotlib style (PNG output, fixed size and DPI,
    fonts that can show Chinese labels when such a font is installed)."""
    import matplotlib

    if not _in_notebook():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "figure.figsize": (6.4, 3.6),
        "figure.dpi": 100,
        "savefig.dpi": 100,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": matplotlib.cycler(color=COLORS),
        "font.size": 10,
        "legend.frameon": False,
        "svg.hashsalt": "dlcore",
    })
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
        set_matplotlib_formats("png")
    except ImportError:
        pass
    return plt


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None
