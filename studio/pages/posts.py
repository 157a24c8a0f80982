"""Posts: published, retracted and under review."""

from __future__ import annotations

import streamlit as st

from chimera.studio.logic.browse import POST_STATUSES, posts
from chimera.studio.ui import call, page

user, be = page("Posts", not_yet="paging past the newest 100 and searching post text.")
status = st.selectbox("Review status", ["any", *POST_STATUSES], key="po_status")
rows = call(posts(be.app.db.pool, None if status == "any" else status)) or []
st.caption(f"{len(rows)} post(s)")
# A plain table (not a canvas grid): readable text, also to screen readers and browser tests.
st.table(
    [{k: r[k] for k in ("post_id", "thread_id", "task_id", "persona_id", "review",
                        "review_status", "confidence", "text")} for r in rows]
)  # fmt: skip
