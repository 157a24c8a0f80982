"""Run: start a goal for a persona and watch its node events as they happen."""

from __future__ import annotations

import queue
from typing import Any

import streamlit as st

from chimera.adapters.postgres.prompts import NODES
from chimera.domain.errors import InputError
from chimera.studio.logic.browse import personas
from chimera.studio.logic.events import Progress, event_line
from chimera.studio.logic.runs import RunOptions, start_run
from chimera.studio.ui import page

user, be = page(
    "Run a goal",
    not_yet="per-node model choices (one model for every node here) and cancelling a "
    "running goal; a run started here is watched until it finishes or interrupts.",
)
ids = [p["id"] for p in personas()]
defaults = be.call(be.prompts.defaults())
with st.form("run"):
    persona = st.selectbox("Persona", ids, key="run_persona")
    goal = st.text_area(
        "Goal", key="run_goal", placeholder="Posts on: thrifting, capsule wardrobes"
    )
    model = st.text_input(
        "Model (every node)", key="run_model", placeholder="configured (offline unless set)"
    )
    cols = st.columns(len(NODES))
    chosen: dict[str, int] = {}
    for col, node in zip(cols, NODES, strict=True):
        versions = [v.version for v in be.call(be.prompts.versions(node))]
        chosen[node] = col.selectbox(
            f"{node} prompt", versions, index=versions.index(defaults[node]), key=f"run_v_{node}"
        )
    c1, c2 = st.columns(2)
    review_t = c1.number_input("Review below", 0.0, 1.0, 0.7, 0.05, key="run_review")
    publish_t = c2.number_input("Publish above", 0.0, 1.0, 0.9, 0.05, key="run_publish")
    submitted = st.form_submit_button("Start")

if submitted:
    options = RunOptions(
        persona=persona or "",
        goal=goal,
        model=model,
        prompt_versions=chosen,
        review_threshold=review_t,
        publish_threshold=publish_t,
    )
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    future = be.submit(start_run(be.app, be.prompts, user, options, on_progress=events.put))
    tracker = Progress()
    bar = st.progress(0.0, text="planning")
    with st.status("Running", expanded=True) as status:
        while True:
            try:
                event = events.get(timeout=0.1)
            except queue.Empty:
                if future.done():
                    break
                continue
            st.write(event_line(event))
            bar.progress(tracker.add(event), text=event.get("event", ""))
        try:
            view = future.result()
        except InputError as exc:
            status.update(label="Not started", state="error")
            st.error(str(exc))
            st.stop()
        status.update(label=f"Thread {view['thread_id']}: {view['status']}", state="complete")
    st.session_state["last_run"] = view

last = st.session_state.get("last_run")
if last:
    view = last
    st.subheader(f"Thread {view['thread_id']}: {view['status']}")
    st.caption(f"model: {view['model']}")
    if view["published"]:
        st.success(f"Published {len(view['published'])} post(s)")
        st.dataframe(view["published"], hide_index=True)
    if view["interrupts"]:
        st.warning(f"{len(view['interrupts'])} item(s) wait for review in the inbox")
        st.dataframe(
            [
                {k: i[k] for k in ("task_id", "confidence", "flags", "text")}
                for i in view["interrupts"]
            ],
            hide_index=True,
        )
