"""What every studio page shares: the process's backend, the sign-in gate, error display."""

from __future__ import annotations

import os
from collections.abc import Coroutine
from typing import Any, TypeVar

import streamlit as st

from chimera.adapters.postgres.users import SignInError, User
from chimera.domain.errors import InputError
from chimera.studio.backend import Backend, open_backend
from chimera.studio.logic.actions import record

T = TypeVar("T")
TOKEN = "studio_token"


@st.cache_resource(show_spinner="Opening Chimera's database...")
def _backend(database_url: str, home: str, memory_url: str) -> Backend:
    # The arguments key the cache: one backend per database this process is pointed at.
    return open_backend()


def backend() -> Backend:
    env = os.environ.get
    return _backend(
        env("CHIMERA_DATABASE_URL", ""), env("CHIMERA_HOME", ""), env("CHIMERA_MEMORY_URL", "")
    )


def call(coro: Coroutine[Any, Any, T]) -> T | None:
    """Runs a page action; bad input (a refused role included) is shown, not raised."""
    try:
        return backend().call(coro)
    except InputError as exc:
        st.error(str(exc))
        return None


def _sign_in_form(be: Backend) -> None:
    st.title("Chimera studio")
    st.caption("Sign in to drive, inspect and review Chimera's threads.")
    if be.call(be.users.count()) == 0:
        st.warning("No users yet: create the first admin with `chimera user add NAME --admin`.")
    with st.form("sign_in"):
        name = st.text_input("User name", key="signin_name")
        password = st.text_input("Password", type="password", key="signin_password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        try:
            user, token = be.call(be.users.sign_in(name.strip(), password))
        except SignInError as exc:
            st.error(str(exc))
            return
        st.session_state[TOKEN] = token
        be.call(record(be.app, user, "signed_in"))
        st.rerun()


def current_user() -> User:
    """The signed-in user; otherwise the sign-in form, and the page stops here."""
    be = backend()
    user = be.call(be.users.session_user(st.session_state.get(TOKEN)))
    if user is None:
        if st.session_state.get(TOKEN):
            st.info("Your session has expired: sign in again.")
            del st.session_state[TOKEN]
        _sign_in_form(be)
        st.stop()
    assert user is not None
    return user


def page(title: str, not_yet: str | None = None) -> tuple[User, Backend]:
    """Header of a page: sign-in gate, who is signed in, and what is not there yet."""
    user = current_user()
    be = backend()
    with st.sidebar:
        st.caption(f"Signed in as **{user.name}** ({', '.join(user.roles)})")
        if st.button("Sign out", key="sign_out"):
            be.call(be.users.sign_out(st.session_state.pop(TOKEN)))
            st.rerun()
    st.header(title)
    if not_yet:
        st.info(f"Not there yet: {not_yet}")
    return user, be
