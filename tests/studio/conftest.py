"""Studio fixtures: the app pointed at the test database, signed-in users, AppTest pages.

The studio opens its own Chimera (its own pool, on its own event loop) from
CHIMERA_DATABASE_URL, exactly as ``chimera studio`` would; tests read and set up the same
database through the session's ``database`` fixture.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from chimera.adapters.postgres.database import Database
from chimera.adapters.postgres.users import UserStore

PAGES = Path(str(files("chimera") / "studio" / "pages"))
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def studio_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One folder for the session: it keys the studio's cached backend, one per database.
    return tmp_path_factory.mktemp("studio-home")


@pytest.fixture
def studio_env(
    database: Database, database_url: str, monkeypatch: pytest.MonkeyPatch, studio_home: Path
) -> Iterator[None]:
    monkeypatch.setenv("CHIMERA_DATABASE_URL", database_url)
    monkeypatch.setenv("CHIMERA_MEMORY_URL", "memory")
    monkeypatch.setenv("CHIMERA_HOME", str(studio_home))
    yield


@dataclass
class SignedIn:
    name: str
    token: str


@pytest.fixture
def sign_in(database: Database) -> Callable[..., object]:
    async def make(*roles: str) -> SignedIn:
        users = UserStore(database.pool)
        name = f"u{secrets.token_hex(4)}"
        await users.add(name, PASSWORD, list(roles))
        _user, token = await users.sign_in(name, PASSWORD)
        return SignedIn(name, token)

    return make


_components: list[object] = []


@pytest.fixture
def open_page(studio_env: None) -> Callable[[str, SignedIn | None], AppTest]:
    def make(page: str, who: SignedIn | None) -> AppTest:
        at = AppTest.from_file(str(PAGES / f"{page}.py"), default_timeout=120)
        # Each new AppTest scans every installed package for Streamlit components (about
        # a second here); the scan's result is the same for the whole session.
        if _components:
            at._bidi_component_manager = _components[0]  # type: ignore[assignment]
        if who is not None:
            at.session_state["studio_token"] = who.token
        at.run()
        if not _components and at._bidi_component_manager is not None:
            _components.append(at._bidi_component_manager)
        assert not at.exception, [e.value for e in at.exception]
        return at

    return make
