"""Audit trail: every node run, verdict and human decision, filtered by thread, actor, event."""

from __future__ import annotations

import streamlit as st

from chimera.studio.logic.browse import audit_trail
from chimera.studio.ui import call, page

user, be = page("Audit trail", not_yet="export and date filters; the newest 200 events show.")
c1, c2, c3 = st.columns(3)
thread = c1.text_input("Thread", key="au_thread")
actor = c2.text_input("Actor contains", key="au_actor")
event = c3.text_input("Event", key="au_event")
rows = call(audit_trail(be.app.db.pool, thread, actor, event)) or []
st.caption(f"{len(rows)} event(s)")
st.dataframe(rows, hide_index=True, key="au_table")
