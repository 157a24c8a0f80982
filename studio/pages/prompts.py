"""Prompts: each node's versions, diffs, new versions, promotion, and side-by-side replays
on saved checkpoints."""

from __future__ import annotations

import streamlit as st

from chimera.adapters.postgres.prompts import NODES
from chimera.app.runner import Runner
from chimera.studio.logic import prompts as logic
from chimera.studio.logic.threads import ThreadFilter, list_threads
from chimera.studio.ui import call, page

user, be = page(
    "Prompts",
    not_yet="deleting versions.",
)
node = st.selectbox("Node", NODES, key="pr_node")
versions = be.call(be.prompts.versions(node))
numbers = [v.version for v in versions]
default = be.call(be.prompts.defaults())[node]
st.caption(f"default version: v{default} (runs use it unless told otherwise)")
by_number = {v.version: v for v in versions}

shown = st.selectbox("Version", numbers, index=numbers.index(default), key="pr_version")
current = by_number[shown]
st.caption(f"by {current.created_by}, {current.created_at[:19]} ({current.source})")
st.code(current.text, language="markdown")
c1, c2 = st.columns(2)
if c1.button(f"Promote v{shown} to default", key="pr_promote", disabled=shown == default):
    call(logic.promote(be.app, be.prompts, user, node, shown))
    st.rerun()

with st.expander("Diff two versions"):
    d1, d2 = st.columns(2)
    a = d1.selectbox("From", numbers, key="pr_diff_a")
    b = d2.selectbox("To", numbers, index=len(numbers) - 1, key="pr_diff_b")
    st.code(logic.diff(by_number[a], by_number[b]) or "(identical)", language="diff")

with st.expander("Edit: save a new version"):
    edited = st.text_area("Prompt", current.text, height=300, key="pr_edit")
    if st.button("Save as a new version", key="pr_save"):
        saved = call(logic.save_version(be.app, be.prompts, user, node, edited))
        if saved:
            st.session_state["pr_saved"] = f"saved {node} v{saved}"
            st.rerun()
if st.session_state.get("pr_saved"):
    st.success(st.session_state["pr_saved"])

st.subheader("Replay on saved checkpoints")
replay_node = st.selectbox("Node to replay", logic.REPLAYABLE, key="rp_node")
replay_versions = [v.version for v in be.call(be.prompts.versions(replay_node))]
r1, r2 = st.columns(2)
va = r1.selectbox("Version A", replay_versions, key="rp_a")
vb = r2.selectbox("Version B", replay_versions, index=len(replay_versions) - 1, key="rp_b")
recent, _total = be.call(list_threads(be.app.db.pool, ThreadFilter(), 0, 50))
threads = st.multiselect(
    "Threads whose checkpoints to replay",
    [r["thread_id"] for r in recent if r["status"] in ("completed", "interrupted")],
    key="rp_threads",
)
if st.button("Replay A and B", key="rp_run", disabled=not threads):
    runner = Runner.of(be.app)
    points = be.call(logic.replay_points(runner, threads))
    with st.spinner(f"replaying {replay_node} on {len(points or [])} checkpoint(s)"):
        result = call(logic.replay(be.app, be.prompts, user, replay_node, points or [], va, vb))
    if result:
        st.session_state["rp_result"] = result
result = st.session_state.get("rp_result")
if result:
    s1, s2 = st.columns(2)
    for col, label in ((s1, "a"), (s2, "b")):
        summary = result["summary"][label]
        col.metric(f"v{summary['version']} mean confidence", summary["mean_confidence"])
        col.write(f"routes: {summary['routes']}; flags: {summary['flags'] or 'none'}")
    for row in result["rows"]:
        st.markdown(f"**{row['thread_id']} / {row['task_id']}** ({row['topic']})")
        c1, c2 = st.columns(2)
        for col, label in ((c1, "a"), (c2, "b")):
            out = row[label]
            col.caption(f"v{out['version']}: {out['confidence']:.3f}, route {out['route']}")
            col.write(out["text"])
    st.caption("Replays run with a publisher that refuses: nothing was published.")
