"""The built wheel works anywhere: installed in a fresh virtual environment and run from
an unrelated folder, ``chimera run`` publishes posts on the zero-config default, with
prompts, personas, migrations and fitted models found as package data."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.environment import subprocess_env

PROJECT_ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _uv() -> str:
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is not on PATH: the wheel cannot be built")
    return uv


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The wheel built from this checkout, installed into a new virtual environment."""
    uv = _uv()
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [uv, "build", "--wheel", "--out-dir", str(dist), str(PROJECT_ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = dist.glob("chimera-*.whl")
    venv = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([uv, "venv", "--python", "3.11", str(venv)], check=True, capture_output=True)
    subprocess.run(
        [uv, "pip", "install", "--python", str(venv / "bin" / "python"), str(wheel)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    yield venv


def test_the_wheel_holds_one_package_and_its_data(installed: Path) -> None:
    wheel = next(Path(p) for p in installed.parent.parent.glob("dist*/chimera-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"chimera", wheel.name.split("-py3")[0] + ".dist-info"}, top
    for data in (
        "chimera/prompts/planner/v1.md",
        "chimera/personas/ava/SOUL.md",
        "chimera/adapters/postgres/migrations/0001_outbox_posts_audit.sql",
        "chimera/adapters/nli/model.npz",
        "chimera/graphs/memory/policies.yaml",
        "chimera/graphs/memory/gate_fit.json",
        "chimera/evals/personagym/LICENSE",
    ):
        assert data in names, f"{data} missing from the wheel"


def test_installed_chimera_runs_from_any_folder(installed: Path) -> None:
    # Not under pytest's tmp folder: as root the embedded PostgreSQL opens every parent
    # of its data folder, and pytest keeps its own tmp root private.
    elsewhere = Path(tempfile.mkdtemp(prefix="chimera-wheel-"))
    home = elsewhere / "home"
    env = subprocess_env()
    env["CHIMERA_HOME"] = str(home)
    chimera = str(installed / "bin" / "chimera")
    try:
        run = subprocess.run(
            [chimera, "run", "--persona", "ava", "--json", "--goal",
             "Posts on this week's sustainable-fashion trends: thrifting, capsule wardrobes"],
            cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        view = json.loads(run.stdout)
        assert view["model"].startswith("offline") and view["tasks"]
        posts = subprocess.run(
            [chimera, "posts", "--json"], cwd=elsewhere, env=env, capture_output=True,
            text=True, timeout=300,
        )  # fmt: skip
        assert posts.returncode == 0, posts.stderr
        published = {p["post_id"] for p in view["published"]}
        assert published and published <= {p["post_id"] for p in json.loads(posts.stdout)}
        # Without CHIMERA_HOME an installed Chimera keeps its data in the user's data
        # folder (/var/lib/chimera as root), never in the working folder.
        probe = subprocess.run(
            [str(installed / "bin" / "python"), "-c",
             "from chimera.settings import default_home; print(default_home())"],
            cwd=elsewhere, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        default = Path(probe.stdout.strip())
        assert elsewhere not in default.parents and PROJECT_ROOT not in default.parents
        assert default.name == "chimera"
    finally:
        subprocess.run([chimera, "db", "stop"], cwd=elsewhere, env=env, capture_output=True)
        shutil.rmtree(elsewhere, ignore_errors=True)
