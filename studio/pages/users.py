"""Users: admins add reviewers, prompt engineers and admins."""

from __future__ import annotations

import streamlit as st

from chimera.domain.roles import ROLES
from chimera.studio.logic.actions import allow, record
from chimera.studio.ui import call, page

user, be = page("Users", not_yet="removing users, changing roles and resetting passwords.")
try:
    allow(user, "manage_users")
except Exception as exc:
    st.error(str(exc))
    st.stop()
st.dataframe(
    [{"name": u.name, "roles": ", ".join(u.roles)} for u in be.call(be.users.list())],
    hide_index=True,
)
with st.form("add_user"):
    name = st.text_input("Name", key="us_name")
    password = st.text_input("Password", type="password", key="us_password")
    roles = st.multiselect("Roles", ROLES, key="us_roles")
    if st.form_submit_button("Add"):

        async def add() -> None:
            added = await be.users.add(name.strip(), password, list(roles))
            await record(
                be.app, user, "user_added", payload={"name": added.name, "roles": list(added.roles)}
            )

        if call(add()) is None and name:
            st.success(f"added {name}")
