"""What every figure of the kit shares: matplotlib without a display, and the boxed note in a
panel's upper right corner."""
from __future__ import annotations


def pyplot():
    """matplotlib.pyplot on the Agg backend (jobs run without a display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def corner_note(ax, text: str) -> None:
    """A boxed note in the upper right corner of a panel (the statistic behind it, with n and CI)."""
    ax.text(0.97, 0.95, text, ha="right", va="top", transform=ax.transAxes, fontsize=8.5,
            bbox={"facecolor": "white", "edgecolor": "0.7", "alpha": 0.9})
