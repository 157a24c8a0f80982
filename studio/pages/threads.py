"""Threads: list, filter and search (paged), and one thread's graph, checkpoints, state
and forks."""

from __future__ import annotations

import json

import streamlit as st

from chimera.adapters.postgres.threads import STATUSES
from chimera.app.runner import Runner
from chimera.studio.logic import threads as logic
from chimera.studio.ui import call, page

user, be = page(
    "Threads",
    not_yet="deleting or pruning threads; a fork may edit only the goal and the tasks.",
)
pool = be.app.db.pool
runner = Runner.of(be.app)

c1, c2, c3, c4, c5 = st.columns([1, 1, 1, 1, 2])
status = c1.selectbox("Status", ["any", *STATUSES], key="th_status")
persona = c2.selectbox("Persona", ["any", *be.call(logic.personas_seen(pool))], key="th_persona")
since = c3.date_input("From", value=None, key="th_since")
until = c4.date_input("To", value=None, key="th_until")
search = c5.text_input("Search goal or id", key="th_search")
filt = logic.ThreadFilter(
    status=None if status == "any" else status,
    persona=None if persona == "any" else persona,
    since=since,
    until=until,
    search=search,
)
page_no = int(st.session_state.get("th_page", 0))
listed = call(logic.list_threads(pool, filt, page_no))
rows, total = listed if listed else ([], 0)
pages = max(1, -(-total // logic.PAGE_SIZE))
st.caption(f"{total} thread(s); page {page_no + 1} of {pages}")
p1, p2, _ = st.columns([1, 1, 6])
if p1.button("Previous", disabled=page_no == 0, key="th_prev"):
    st.session_state["th_page"] = page_no - 1
    st.rerun()
if p2.button("Next", disabled=page_no + 1 >= pages, key="th_next"):
    st.session_state["th_page"] = page_no + 1
    st.rerun()
st.dataframe(
    [{k: r[k] for k in ("thread_id", "status", "persona_id", "goal", "updated_at")} for r in rows],
    hide_index=True,
    key="th_table",
)

ids = [r["thread_id"] for r in rows]
chosen = st.selectbox("Open a thread", ["", *ids], key="th_open")
if chosen:
    view = be.call(runner.show(chosen))
    st.subheader(f"{chosen}: {view['status']}")
    st.write(view["goal"])
    marks = be.call(logic.current_nodes(runner, chosen))
    st.graphviz_chart(logic.graph_dot(runner.graph, marks))
    st.caption("Filled: where each task stands now (task ids beside the node).")
    timeline = be.call(logic.checkpoints(runner, chosen))
    st.markdown("**Checkpoints** (newest first; a fork is an `update` with its parent named)")
    st.dataframe(timeline, hide_index=True, key="th_checkpoints")
    cp = st.selectbox(
        "State at checkpoint", [c["checkpoint_id"] for c in timeline], key="th_checkpoint"
    )
    if cp:
        state = be.call(logic.state_at(runner, chosen, cp))
        readable, raw = st.tabs(["Readable", "JSON"])
        with readable:
            st.write(f"**Goal:** {state.get('goal', '')}")
            for task in state.get("tasks", []):
                st.write(f"- `{task['id']}` {task['kind']} on {task['topic']}: {task['brief']}")
            for result in state.get("results", []):
                st.write(
                    f"- `{result['task_id']}` attempt {result['attempt']}: "
                    f"{result['confidence']:.3f} -> {result['route']}: {result['text']}"
                )
        with raw:
            st.json(state)
        with st.expander("Fork from this checkpoint"):
            editable = {k: state[k] for k in logic.EDITABLE if k in state}
            edited = st.text_area(
                "Edited state (goal, tasks)", json.dumps(editable, indent=2), key="th_fork_text"
            )
            if st.button("Fork and run on", key="th_fork"):
                try:
                    edits = json.loads(edited)
                except json.JSONDecodeError as exc:
                    st.error(f"not JSON: {exc}")
                else:
                    forked = call(logic.fork(be.app, runner, user, chosen, cp, edits))
                    if forked:
                        st.success(f"forked as {forked['checkpoint_id']}: {forked['status']}")
