"""LangGraph's own server (``langgraph dev``) runs Chimera with its real services.

The server is started as a subprocess from the project folder, on each PostgreSQL
(CHIMERA_DATABASE_URL names a fresh database; long-term memory is that database where it
has pgvector, else a fresh database on the embedded server), and driven over HTTP with
langgraph-sdk: schemas, a goal that interrupts, malformed resumes answered by the
interrupt asking again, a good resume, then the post in ``chimera posts``. Its output
goes to a log file, shown when something fails.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from chimera.adapters.embedded_postgres.uris import ensure_database
from support.environment import subprocess_env

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STARTUP_TIMEOUT = 180  # seconds: imports, the embedder, migrations and seeding, on 2 cores
# t1 is sensitive (health): the gate interrupts whatever its score; t2 is ava's own topic.
GOAL = "posts on: vaccines for kids and thrifting"
FOREIGN_ENV_PREFIXES = ("CHIMERA_", "OPENAI_", "LANGSMITH_", "LANGCHAIN_", "LANGGRAPH_")


@dataclass
class Server:
    url: str
    env: dict[str, str]
    log: Path
    database_url: str

    def client(self) -> LangGraphClient:
        return get_client(url=self.url)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def chimera(self, *args: str) -> Any:
        done = subprocess.run(
            [str(BIN / "chimera"), *args, "--json"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"chimera {args}: {done.stderr[-2000:]}"
        return json.loads(done.stdout)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _has_pgvector(url: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
        return row.fetchone() is not None


def _server_env(home: Path, database_url: str) -> dict[str, str]:
    env = subprocess_env(FOREIGN_ENV_PREFIXES)
    env |= {"CHIMERA_DATABASE_URL": database_url, "CHIMERA_HOME": str(home)}
    env["LANGSMITH_TRACING"] = "false"
    return env


def _start(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``langgraph dev`` from the project folder, as a developer starts it."""
    port = _free_port()
    command = [str(BIN / "langgraph"), "dev", "--no-browser", "--no-reload", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as one
        )  # fmt: skip
    return process, f"http://127.0.0.1:{port}"


def _wait_until_up(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"langgraph dev exited with {process.returncode}:\n{log.read_text()[-4000:]}"
            )
        try:
            with urllib.request.urlopen(f"{url}/ok", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"langgraph dev not up after {STARTUP_TIMEOUT}s:\n{log.read_text()[-4000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(
    database_url: str, embedded_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    memory_db = None
    home = tmp_path_factory.mktemp("chimera-home")
    env = _server_env(home, database_url)
    if not _has_pgvector(database_url):
        memory_db = f"chimera_server_memory_{secrets.token_hex(4)}"
        env["CHIMERA_MEMORY_URL"] = ensure_database(embedded_server, memory_db)
    log = home / "langgraph-dev.log"
    process, url = _start(env, log)
    try:
        _wait_until_up(process, url, log)
        yield Server(url=url, env=env, log=log, database_url=database_url)
    finally:
        _stop(process)
        if memory_db is not None:
            with psycopg.connect(embedded_server, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{memory_db}" WITH (FORCE)')


def _outbox_tasks(server: Server, thread: str) -> list[str]:
    with psycopg.connect(server.database_url) as conn:
        rows = conn.execute(
            "SELECT task_id FROM chimera_outbox WHERE thread_id = %s ORDER BY task_id", (thread,)
        ).fetchall()
    return [task_id for (task_id,) in rows]


async def _assistant(client: LangGraphClient) -> str:
    (assistant,) = await client.assistants.search(graph_id="chimera")
    return str(assistant["assistant_id"])


async def test_schemas_show_the_context_fields(server: Server) -> None:
    client = server.client()
    schemas = await client.assistants.get_schemas(await _assistant(client))
    context = schemas["context_schema"]["properties"]
    assert context["review_threshold"]["default"] == 0.7
    assert "interrupts for human review" in context["review_threshold"]["description"]
    assert context["max_attempts"]["default"] == 3
    assert context["worker_model"]["__template_metadata__"] == {"kind": "llm"}
    assert "services" not in context  # live collaborators never travel in JSON
    persona = schemas["input_schema"]["properties"]["persona"]
    assert {"type": "string"} in persona["anyOf"]  # an id or a path


async def test_a_review_survives_malformed_resumes_and_publishes(server: Server) -> None:
    client = server.client()
    assistant = await _assistant(client)
    thread = (await client.threads.create())["thread_id"]

    out = await client.runs.wait(thread, assistant, input={"persona": "ava", "goal": GOAL})
    assert isinstance(out, dict), out
    (asked,) = out["__interrupt__"]
    assert asked["value"]["task_id"] == "t1" and "sensitive:health" in asked["value"]["flags"]
    # t2 passed the gate and is in the outbox already, while t1 waits for its reviewer.
    assert _outbox_tasks(server, thread) == ["t2"]

    mistakes = [
        ("approve", "a decision is a mapping"),
        ({"decision": "aprove"}, "decision must be one of approve, edit, reject, retry"),
        ({"decision": "edit"}, "'edit' needs the new text"),
    ]
    for value, message in mistakes:
        await client.runs.wait(thread, assistant, command={"resume": {asked["id"]: value}})
        state = await client.threads.get_state(thread)
        (again,) = state["interrupts"]
        assert message in again["value"]["error"], server.tail()
        assert again["value"]["text"] == asked["value"]["text"]  # the same item, asked again
        assert again["id"] != asked["id"]
        asked = again

    decision = {"decision": "approve", "reviewer": "rae"}
    done = await client.runs.wait(thread, assistant, command={"resume": {asked["id"]: decision}})
    assert isinstance(done, dict) and "__interrupt__" not in done, done
    assert {p["task_id"]: p["review"] for p in done["published"]} == {"t1": "human", "t2": "none"}
    assert (await client.threads.get(thread))["status"] == "idle"

    # Chimera's outbox has the posts, as the CLI shows them.
    posts = {p["task_id"]: p for p in server.chimera("posts") if p["thread_id"] == thread}
    assert set(posts) == {"t1", "t2"}
    assert posts["t1"]["review_status"] == "approved"
    assert posts["t1"]["text"] == asked["value"]["text"]
    assert {p["post_id"] for p in posts.values()} == {p["post_id"] for p in done["published"]}

    # The audit trail is in Chimera's PostgreSQL: each refusal once, one decision.
    with psycopg.connect(server.database_url) as conn:
        rows = conn.execute(
            "SELECT event, actor FROM chimera_audit WHERE thread_id = %s AND task_id = 't1'"
            " ORDER BY id",
            (thread,),
        ).fetchall()
        # One durable decision for the item, under the id the server surfaced, as the
        # CLI records its own: a rival answer to this interrupt would not be applied.
        recorded = conn.execute(
            "SELECT interrupt_id, kind, reviewer FROM chimera_review_decisions"
            " WHERE thread_id = %s",
            (thread,),
        ).fetchall()
    assert recorded == [(asked["id"], "approve", "rae")]
    events = [event for event, _actor in rows]
    assert events.count("decision_refused") == 3
    assert events.count("decided") == 1 and ("decided", "human:rae") in rows
    assert events.count("review_requested") == 1


async def test_the_servers_store_is_chimeras_memory(server: Server) -> None:
    client = server.client()
    assistant = await _assistant(client)
    thread = (await client.threads.create())["thread_id"]
    await client.runs.wait(
        thread, assistant, input={"persona": "kai", "goal": "posts on: meal prep"}
    )
    # The run seeded kai's facts into Chimera's store, and the server's store API searches
    # them semantically (pgvector): no word of the query is in the fact it finds.
    found = await client.store.search_items(
        ["personas", "kai", "facts"], query="why did he stop eating meat?", limit=3
    )
    texts = [item["value"]["text"] for item in found["items"]]
    assert any("beans cost less than beef" in text for text in texts), (texts, server.tail())
    assert all(item["score"] is not None for item in found["items"])


@pytest.mark.parametrize(
    ("given", "error", "message"),
    [
        ({"persona": "nobody", "goal": GOAL}, "PersonaError", "unknown persona 'nobody'"),
        ({"persona": "nobody", "goal": GOAL}, "PersonaError", "known personas: ava, kai, ren"),
        ({"persona": "ava", "goal": "  "}, "InputError", "the goal is empty"),
    ],
)
async def test_bad_input_says_what_is_wrong_over_http(
    server: Server, given: dict[str, str], error: str, message: str
) -> None:
    client = server.client()
    assistant = await _assistant(client)
    thread = (await client.threads.create())["thread_id"]
    out = await client.runs.wait(thread, assistant, input=given, raise_error=False)
    assert isinstance(out, dict)
    assert out["__error__"]["error"] == error
    assert message in out["__error__"]["message"]
    assert (await client.threads.get(thread))["status"] == "error"
    assert _outbox_tasks(server, thread) == []


@pytest.mark.slow  # the connection pool gives up after 15 s
def test_a_database_that_cannot_be_opened_stops_the_server(tmp_path: Path) -> None:
    nowhere = f"postgresql://postgres@127.0.0.1:{_free_port()}/chimera"
    log = tmp_path / "langgraph-dev.log"
    process, _url = _start(_server_env(tmp_path, nowhere), log)
    try:
        returncode = process.wait(timeout=STARTUP_TIMEOUT)
    finally:
        _stop(process)
    text = log.read_text(errors="replace")
    assert returncode != 0, text[-4000:]
    # Said plainly, and no in-memory store or services took its place.
    assert "LangGraph's server cannot open Chimera's database and memory" in text
    assert "cannot connect to CHIMERA_DATABASE_URL" in text
    assert "Application startup failed" in text
