"""Personas and memory: read and edit a SOUL.md (validated), search memory, see what a
worker recalled."""

from __future__ import annotations

import streamlit as st

from chimera.adapters.persona_files import editable_personas_dir
from chimera.domain.errors import InputError
from chimera.studio.logic import browse
from chimera.studio.ui import call, page

user, be = page(
    "Personas and memory",
    not_yet="creating a persona from scratch, and editing memory items by hand.",
)
ids = [p["id"] for p in browse.personas()]
persona_id = st.selectbox("Persona", ids, key="pe_id")
if persona_id:
    path = browse.soul_path(persona_id)
    text = st.text_area("SOUL.md", path.read_text(encoding="utf-8"), height=300, key="pe_text")
    try:
        browse.validate_soul(text, persona_id)
        st.caption("valid")
    except InputError as exc:
        st.error(str(exc))
    target = editable_personas_dir()
    st.caption(f"Saving writes {target / persona_id / 'SOUL.md'}, which the next runs use.")
    if st.button("Save", key="pe_save"):
        saved = call(browse.save_soul(be.app, user, persona_id, text, target))
        if saved:
            st.success(f"saved to {saved}")

    st.subheader("Search memory")
    m1, m2 = st.columns([1, 3])
    kind = m1.selectbox("Kind", list(browse.MEMORY_KINDS), key="pe_kind")
    query = m2.text_input("Text", key="pe_query")
    if query:
        st.dataframe(
            call(browse.search_memory(be.app.store, persona_id, kind, query)) or [],
            hide_index=True,
        )
    st.subheader("What a worker recalled")
    thread = st.text_input("Thread id", key="pe_thread")
    if thread:
        st.dataframe(call(browse.recalled_by_worker(be.app.db.pool, thread)) or [], hide_index=True)
