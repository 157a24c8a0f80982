"""Evals: runs, their metrics, and a comparison of two."""

from __future__ import annotations

import streamlit as st

from chimera.studio.logic.browse import compare, eval_runs
from chimera.studio.ui import call, page

user, be = page(
    "Evals",
    not_yet="starting an eval from here (use `chimera eval run`) and the reliability plots "
    "(written by `chimera eval persona-consistency --out DIR`).",
)
runs = call(eval_runs(be.app.db.pool)) or []
st.caption(f"{len(runs)} run(s)")
st.dataframe(runs, hide_index=True, key="ev_table")
ids = [r["run_id"] for r in runs]
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
