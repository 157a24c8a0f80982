"""The reliability diagram shared by the persona-consistency and gate reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from chimera.evals.reliability_plot import plot_reliability_diagram

BINS = [
    {"lower": 0.0, "upper": 0.5, "count": 0, "confidence": None, "share": None},
    {"lower": 0.5, "upper": 1.0, "count": 3, "confidence": 0.8, "share": 2 / 3},
]


@pytest.mark.parametrize("annotate_counts", [False, True])
def test_writes_a_png_and_skips_empty_bins(tmp_path: Path, annotate_counts: bool) -> None:
    path = tmp_path / "reliability.png"
    plot_reliability_diagram(
        BINS, path, observed="share", bar_label="b", xlabel="x", ylabel="y", title="t",
        annotate_counts=annotate_counts,
    )  # fmt: skip
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_names_the_missing_observed_key(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="accuracy"):
        plot_reliability_diagram(
            BINS, tmp_path / "r.png", observed="accuracy", bar_label="b", xlabel="x",
            ylabel="y", title="t",
        )  # fmt: skip
