"""Review inbox: pending interrupts across threads, decided one by one or in bulk; and
posts published under asynchronous review, confirmed or retracted."""

from __future__ import annotations

import streamlit as st

from chimera.studio.logic import inbox as logic
from chimera.studio.logic.runs import runner_for_thread
from chimera.studio.ui import call, page

user, be = page(
    "Review inbox",
    not_yet="assigning items to reviewers and sorting by anything but age.",
)
pool = be.app.db.pool
page_no = int(st.session_state.get("ib_page", 0))
rows, total = be.call(logic.pending_reviews(pool, page_no))
st.caption(f"{total} item(s) waiting for a decision")
p1, p2, _ = st.columns([1, 1, 6])
if p1.button("Previous", disabled=page_no == 0, key="ib_prev"):
    st.session_state["ib_page"] = page_no - 1
    st.rerun()
if p2.button("Next", disabled=(page_no + 1) * logic.PAGE_SIZE >= total, key="ib_next"):
    st.session_state["ib_page"] = page_no + 1
    st.rerun()

# One line per item (for bulk decisions) and the opened item in full: a page of 50 costs
# one history query, not 50.
refs = {f"{r['thread_id']}:{r['task_id']}:{r['attempt']}": r for r in rows}
selected: list[logic.ItemRef] = []
for key, row in refs.items():
    flags = ", ".join(row["flags"] or []) or "no flags"
    label = f"{row['persona_id']} / {key}: {row['confidence']:.3f}, {flags}"
    if st.checkbox(label, key=f"sel_{key}"):
        selected.append(logic.ItemRef(row["thread_id"], row["task_id"], row["attempt"]))

opened = st.selectbox("Open an item", list(refs), key="ib_open") if refs else None
if opened:
    row = refs[opened]
    ref = logic.ItemRef(row["thread_id"], row["task_id"], row["attempt"])
    with st.container(border=True):
        st.markdown(f"**{row['persona_id']} / {ref.key}**: confidence {row['confidence']:.3f}")
        st.write(f"**Goal:** {row['goal']}")
        st.write(f"**Draft:** {row['text']}")
        st.write(f"**Flags:** {', '.join(row['flags'] or []) or 'none'}")
        for reason in row["reasons"] or []:
            st.write(f"- {reason}")
        history = be.call(logic.item_history(pool, ref))
        verdict = history["verdict"] or {}
        if verdict.get("signals"):
            st.dataframe(
                [{"signal": s["name"], "score": s["score"], "weight": s["weight"],
                  "reasons": "; ".join(s["reasons"])} for s in verdict["signals"]],
                hide_index=True,
            )  # fmt: skip
        for earlier in history["earlier"]:
            st.caption(
                f"attempt {earlier['attempt']}: {earlier.get('draft', '')} "
                f"-> {earlier.get('decision', {}).get('decision', '?')}"
                f" ({earlier.get('decision', {}).get('feedback') or 'no feedback'})"
            )
        text = st.text_area("Edited text", row["text"], key=f"text_{ref.key}")
        if text != row["text"]:
            st.code(logic.edit_diff(row["text"], text), language="diff")
        feedback = st.text_input("Feedback (retry or reject)", key=f"fb_{ref.key}")
        b1, b2, b3, b4 = st.columns(4)
        decision: tuple[str, str | None, str | None] | None = None
        if b1.button("Approve", key=f"approve_{ref.key}"):
            decision = ("approve", None, None)
        if b2.button("Save edit", key=f"edit_{ref.key}"):
            decision = ("edit", text, None)
        if b3.button("Reject", key=f"reject_{ref.key}"):
            decision = ("reject", None, feedback or None)
        if b4.button("Retry", key=f"retry_{ref.key}"):
            decision = ("retry", None, feedback)
        if decision:
            runner = be.call(runner_for_thread(be.app, be.prompts, ref.thread_id))
            view = call(logic.decide(runner, user, ref, decision[0], text=decision[1],
                                     feedback=decision[2]))  # fmt: skip
            if view:
                st.session_state["ib_last"] = f"{ref.key}: {decision[0]}, thread {view['status']}"
                st.rerun()

if st.session_state.get("ib_last"):
    st.success(st.session_state["ib_last"])
b1, b2, _ = st.columns([1, 1, 4])
bulk = None
if b1.button(f"Approve selected ({len(selected)})", key="bulk_approve", disabled=not selected):
    bulk = "approve"
if b2.button(f"Reject selected ({len(selected)})", key="bulk_reject", disabled=not selected):
    bulk = "reject"
if bulk:
    outcomes = call(
        logic.decide_many(
            lambda tid: runner_for_thread(be.app, be.prompts, tid), user, selected, bulk
        )
    )
    if outcomes:
        st.session_state["ib_last"] = f"bulk {bulk}: {sum(o['ok'] for o in outcomes)} done"
        st.rerun()

st.subheader("Published under asynchronous review (0.7-0.9)")
for post in be.call(logic.async_review_list(pool)):
    with st.container(border=True):
        st.write(
            f"`{post['post_id']}` {post['persona_id']} {post['confidence']:.3f}: {post['text']}"
        )
        c1, c2, c3 = st.columns([1, 3, 1])
        if c1.button("Confirm", key=f"confirm_{post['post_id']}"):
            call(logic.confirm_post(be.app, user, post["post_id"]))
            st.rerun()
        reason = c2.text_input("Why retract", key=f"why_{post['post_id']}")
        retract = c3.button("Retract", key=f"retract_{post['post_id']}")
        if retract and call(logic.retract_post(be.app, user, post["post_id"], reason)) is not None:
            st.rerun()
