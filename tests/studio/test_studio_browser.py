"""The studio in a real browser: Debian's Chromium, headless, driven by Playwright.

Zero configuration, as a new user would have it: no CHIMERA_DATABASE_URL, so
``chimera user add`` and ``chimera studio`` share an embedded PostgreSQL in a
CHIMERA_HOME of the test's own. The test signs in, starts a goal that interrupts (a
sensitive topic is flagged whatever the score), approves the item in the inbox, sees
the thread completed and the post listed, replays the worker with two prompt versions,
and saves a screenshot of every page in its output folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.environment import subprocess_env

# A real PostgreSQL (the embedded one the CLI starts) and a browser: integration, and slow.
pytestmark = [pytest.mark.integration, pytest.mark.slow]
CHIMERA = Path(sys.executable).parent / "chimera"
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
PASSWORD = "browser-test-pw"
GOAL = "Posts on: thrifting, vaccines for kids"
WAIT_MS = 45_000


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        message = "Debian's chromium is not installed (apt-get install -y chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def studio_url() -> Iterator[str]:
    home = Path(tempfile.mkdtemp(prefix="chimera-studio-"))  # not under a home folder
    env = subprocess_env()
    env.update(CHIMERA_HOME=str(home), CHIMERA_MEMORY_URL="memory")
    added = subprocess.run(
        [str(CHIMERA), "user", "add", "ada", "--admin", "--password-stdin"],
        input=PASSWORD + "\n", capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    port = free_port()
    server = subprocess.Popen(
        [str(CHIMERA), "studio", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.read() == b"ok":
                        break
            except OSError:
                pass
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, "the studio did not come up in 60 s"
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        subprocess.run([str(CHIMERA), "db", "stop"], env=env, capture_output=True, timeout=60)
        shutil.rmtree(home, ignore_errors=True)


def test_sign_in_run_approve_replay_in_a_browser(studio_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    executable = chromium()
    expect.set_options(timeout=WAIT_MS)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(WAIT_MS)

        def shot(name: str) -> None:
            page.wait_for_timeout(500)  # let the last rerun paint
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

        def go(title: str) -> None:
            page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
            expect(page.get_by_role("heading", name=title)).to_be_visible()

        page.goto(studio_url)
        page.get_by_role("textbox", name="User name").fill("ada")
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        shot("sign-in")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Run a goal")).to_be_visible()

        page.get_by_role("textbox", name="Goal").fill(GOAL)
        page.get_by_role("button", name="Start").click()
        waiting = page.get_by_text("1 item(s) wait for review in the inbox")
        expect(waiting).to_be_visible()
        heading = page.get_by_role("heading", name="Thread th-").first.inner_text()
        thread = heading.split()[1].rstrip(":")
        shot("run")

        go("Review inbox")
        page.get_by_test_id("stSelectbox").filter(has_text="Open an item").click()
        page.get_by_role("option", name=f"{thread}:t2:1").click()
        expect(page.get_by_text(f"ava / {thread}:t2:1: confidence")).to_be_visible()
        shot("inbox-pending")
        page.get_by_role("button", name="Approve", exact=True).click()
        expect(page.get_by_text(f"{thread}:t2:1: approve, thread completed")).to_be_visible()
        shot("inbox")

        go("Threads")
        page.get_by_test_id("stSelectbox").filter(has_text="Open a thread").click()
        page.get_by_role("option", name=thread).click()
        expect(page.get_by_role("heading", name=f"{thread}: completed")).to_be_visible()
        expect(page.get_by_test_id("stGraphVizChart")).to_be_visible()
        shot("threads")

        go("Posts")
        expect(page.get_by_test_id("stTable").get_by_text(thread).first).to_be_visible()
        shot("posts")

        go("Prompts")
        page.get_by_test_id("stMultiSelect").filter(has_text="Threads whose").click()
        page.keyboard.type(thread)
        page.keyboard.press("Enter")
        page.keyboard.press("Escape")
        page.get_by_role("button", name="Replay A and B").click()
        expect(page.get_by_text("v1 mean confidence")).to_be_visible()
        expect(page.get_by_text("v2 mean confidence")).to_be_visible()
        expect(page.get_by_text("nothing was published")).to_be_visible()
        shot("prompts")

        for title in ("Personas and memory", "Audit trail", "Evals", "Users"):
            go(title)
            shot(title.split()[0].lower())
        browser.close()
    assert sorted(p.name for p in shots.iterdir()) == sorted(
        f"{n}.png" for n in ("sign-in", "run", "inbox-pending", "inbox", "threads", "posts",
                             "prompts", "personas", "audit", "evals", "users")
    )  # fmt: skip
