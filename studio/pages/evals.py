"""Evals: runs, their metrics, and a comparison of two."""

from __future__ import annotations

import streamlit as st

from chimera.studio.logic.browse import compare, eval_runs, metric_series, reliability_rows
from chimera.studio.ui import call, page

user, be = page(
    "Evals",
    not_yet="starting an eval from here (use `chimera eval run` or `chimera eval gate`), and "
    "the persona-consistency plots (written by `chimera eval persona-consistency --out DIR`).",
)
runs = call(eval_runs(be.app.db.pool)) or []
st.caption(f"{len(runs)} run(s)")
st.dataframe(runs, hide_index=True, key="ev_table")
suites = sorted({r["suite"] for r in runs})
if suites:
    suite = st.selectbox("Suite over time", suites, key="ev_suite")
    series = metric_series(runs, suite)
    chosen = st.multiselect("Metrics", sorted(series), default=sorted(series)[:3], key="ev_metrics")
    if chosen:
        st.line_chart({name: series[name] for name in chosen})
ids = [r["run_id"] for r in runs]
if ids:
    picked = st.selectbox("Reliability of run", ids, key="ev_reliability")
    metrics = next(r["metrics"] for r in runs if r["run_id"] == picked) or {}
    rows = reliability_rows(metrics)
    if rows:
        st.caption(f"ECE {metrics.get('ece')}: confidence against the share that should publish")
        st.scatter_chart(rows, x="confidence", y="publish_share", size="count")
    else:
        st.caption("This run has no reliability diagram (only `chimera eval gate` writes one).")
if len(ids) >= 2:
    c1, c2 = st.columns(2)
    a = c1.selectbox("Run A", ids, key="ev_a")
    b = c2.selectbox("Run B", ids, index=1, key="ev_b")
    if a != b:
        compared = call(compare(be.app.db.pool, a, b))
        if compared:
            st.json(compared)
            metrics = compared.get("metrics") or {}
            if metrics:
                st.bar_chart({k: [v.get("a", 0), v.get("b", 0)] for k, v in metrics.items()
                              if isinstance(v, dict)})  # fmt: skip
