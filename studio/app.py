"""The studio's entry file (``chimera studio`` runs ``streamlit run`` on it)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from chimera.studio.ui import current_user

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="Chimera studio", layout="wide")
current_user()  # no page is open to someone not signed in
navigation = st.navigation(
    [
        st.Page(PAGES / "run.py", title="Run", default=True),
        st.Page(PAGES / "threads.py", title="Threads"),
        st.Page(PAGES / "inbox.py", title="Review inbox"),
        st.Page(PAGES / "prompts.py", title="Prompts"),
        st.Page(PAGES / "posts.py", title="Posts"),
        st.Page(PAGES / "personas.py", title="Personas and memory"),
        st.Page(PAGES / "audit.py", title="Audit trail"),
        st.Page(PAGES / "evals.py", title="Evals"),
        st.Page(PAGES / "users.py", title="Users"),
    ]
)
navigation.run()
