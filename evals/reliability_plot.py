"""The reliability diagram both evaluations draw: observed share against confidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_reliability_diagram(
    bins: list[dict[str, Any]],
    path: Path,
    *,
    observed: str,
    bar_label: str,
    xlabel: str,
    ylabel: str,
    title: str,
    annotate_counts: bool = False,
) -> None:
    """Bars of each filled bin's ``bins[i][observed]`` share, dots at its mean
    confidence, the diagonal of perfect calibration; written as a PNG to ``path``."""
    import matplotlib

    matplotlib.use("Agg")  # no display: reports are written by commands and tests
    import matplotlib.pyplot as plt

    filled = [b for b in bins if b["count"]]
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    ax.bar(
        [b["lower"] for b in filled],
        [b[observed] for b in filled],
        width=bins[0]["upper"] - bins[0]["lower"],
        align="edge",
        edgecolor="black",
        alpha=0.7,
        label=bar_label,
    )
    ax.plot(
        [b["confidence"] for b in filled],
        [b[observed] for b in filled],
        "o",
        color="darkred",
        label="mean confidence",
    )
    if annotate_counts:
        for b in filled:
            ax.annotate(str(b["count"]), (b["lower"] + 0.05, 0.02), ha="center", fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
