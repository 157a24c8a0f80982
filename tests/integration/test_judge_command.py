"""``chimera judge``: one draft scored as the judge node scores it, every signal shown with
its reasons; bad input is exit 2 before anything is opened."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CHIMERA = Path(sys.executable).parent / "chimera"
# Shaped like an AWS access key: a hard flag, so the route is review whatever the score.
LEAKY = "dal tonight, $1.40 a serving. my key is AKIAABCDEFGHIJKLMNOP. #budgetmeals #AI"


def _judge(
    *args: str, database_url: str | None = None, home: Path | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CHIMERA_MEMORY_URL="memory")
    if database_url is not None:
        env["CHIMERA_DATABASE_URL"] = database_url
    if home is not None:
        env["CHIMERA_HOME"] = str(home)
    return subprocess.run(
        [str(CHIMERA), "judge", *args], capture_output=True, text=True, timeout=300, env=env,
        input=stdin,
    )  # fmt: skip


@pytest.mark.parametrize("database_url", ["external"], indirect=True)
def test_json_shows_every_signal_flags_confidence_and_route(
    database_url: str, tmp_path: Path
) -> None:
    done = _judge(
        "--persona", "kai", "--text", LEAKY, "--json",
        database_url=database_url, home=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["persona"], result["topic"], result["judge_model"]) == (
        "kai", "plant-based cooking", "offline",
    )  # fmt: skip
    assert result["brief"] == "A post on plant-based cooking."  # kai's first topic
    names = [s["name"] for s in result["signals"]]
    assert {"rubric", "persona_consistency", "policy"} <= set(names)
    for signal in result["signals"]:
        assert 0.0 <= signal["score"] <= 1.0 and signal["reasons"], signal
    assert 0.0 <= result["confidence"] <= 1.0
    assert "secret" in result["flags"] and result["route"] == "review"
    assert result["thresholds"] == {"review": 0.72, "publish": 0.92}  # kai's own
    assert "AKIAABCDEFGHIJKLMNOP" not in json.dumps(result["reasons"])


@pytest.mark.parametrize("database_url", ["external"], indirect=True)
def test_readable_output_reads_the_draft_from_stdin(database_url: str, tmp_path: Path) -> None:
    draft = "#AI · Baja medio bar la presión los días de lluvia: más goma en el suelo."
    topic = "lluvia [/] y [bold]barro"  # shown as written, never read as markup
    done = _judge(
        "--persona", "ren", "--text", "-", "--topic", topic, database_url=database_url,
        home=tmp_path, stdin=draft,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for shown in ("rubric", "persona_consistency", "policy", "flags:", "confidence", "route"):
        assert shown in done.stdout, done.stdout
    assert topic in done.stdout


def test_bad_input_is_exit_2_with_a_clear_message(tmp_path: Path) -> None:
    # No database is named: these must fail before one would be opened.
    unknown = _judge("--persona", "nobody", "--text", "hello #AI", "--json", home=tmp_path)
    assert unknown.returncode == 2 and unknown.stdout == ""
    error = json.loads(unknown.stderr)["error"]
    assert "unknown persona 'nobody'" in error["message"] and error["exit"] == 2
    empty = _judge("--persona", "ava", "--text", "   ", home=tmp_path)
    assert empty.returncode == 2 and "the draft is empty" in empty.stderr
    assert not (tmp_path / "pgdata").exists()
