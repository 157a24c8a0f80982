"""The pure rules behind the fault handling: text hygiene, redaction, secret detection,
decision conflicts, and the redacting checkpoint serializer."""

from __future__ import annotations

import pytest

from chimera.adapters.postgres.serde import RedactingSerializer
from chimera.domain.decisions import RecordedDecision, check_not_decided, same_decision
from chimera.domain.errors import InputError
from chimera.domain.hygiene import CONTROL_FLAG, HIDDEN_FLAG, check_thread_id, clean, for_display
from chimera.domain.redaction import redact_text, secret_values, url_passwords
from chimera.domain.signals.policy import policy_signal
from chimera.domain.signals.secrets import SECRET_FLAG, secret_findings
from chimera.domain.types import Decision

CANARY = "sk-canary-0123456789abcdef"


def test_clean_strips_escapes_and_hidden_characters_and_flags_them() -> None:
    text = "buy \x1b[31mred\x1b[0m \x1b]8;;http://x\x07link\x1b]8;;\x07 now\u202e\u200b\U000e0041"
    cleaned = clean(text, what="the goal")
    assert cleaned.text == "buy red link now"
    assert set(cleaned.flags) == {CONTROL_FLAG, HIDDEN_FLAG}
    assert clean("plain\nline\ttab", what="x").flags == []


def test_clean_refuses_nul_with_a_clear_error() -> None:
    with pytest.raises(InputError, match="the goal contains a NUL character"):
        clean("a\x00b", what="the goal")


def test_for_display_shows_invisible_characters_and_drops_escapes() -> None:
    assert for_display("a\x1b[2Jb\u202ec\x07") == "ab<U+202E>c"


@pytest.mark.parametrize("bad", ["../../etc/x", "a/b", "", "-x", "a b", "x" * 129, "a..b", "a\x1b"])
def test_thread_ids_are_validated(bad: str) -> None:
    with pytest.raises(InputError, match="thread id"):
        check_thread_id(bad)


def test_good_thread_ids_pass() -> None:
    for good in ("th-0123abcd", "calib-3-t=5432", "user@host:1"):
        assert check_thread_id(good) == good


def test_url_passwords_of_any_scheme_are_masked() -> None:
    for url in ("mysql://user:pw-9876543@db:3306/x", "redis://:hunter2-long@cache/0"):
        masked = redact_text(f"cannot reach {url}", [])
        assert "pw-9876543" not in masked and "hunter2-long" not in masked, masked
        assert "[REDACTED]@" in masked
    assert url_passwords("amqp://u:p%40ss-word1@h") == ["p%40ss-word1", "p@ss-word1"]


def test_secret_values_come_from_secret_names_and_url_passwords() -> None:
    env = {
        "OPENAI_API_KEY": CANARY,
        "CHIMERA_DATABASE_URL": "postgresql://u:db-password-1@h/d",
        "HOME": "/root-not-a-secret",
        "SHORT_TOKEN": "abc",
    }
    assert secret_values(env) == [CANARY, "db-password-1"]


def test_secret_in_a_draft_is_flagged_by_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_PROVIDER_API_KEY", "plain-words-but-secret")
    _signal, flags = policy_signal("my key is plain-words-but-secret #AI", "brief", "#AI")
    assert SECRET_FLAG in flags
    assert secret_findings("AKIAABCDEFGHIJKLMNOP in text", known=[]) == ["AWS access key"]
    assert secret_findings("a plain post about thrifting #AI", known=[]) == []


def _recorded(decision: Decision) -> RecordedDecision:
    return RecordedDecision("t", "i", "t1", 1, decision, "recorded", "2026-01-01T00:00:00")


def test_a_rival_decision_is_refused_naming_the_one_that_stands() -> None:
    standing = _recorded(Decision(decision="approve", reviewer="ann"))
    with pytest.raises(InputError, match="already decided: approve by ann"):
        check_not_decided(standing, Decision(decision="reject", reviewer="bob"))
    with pytest.raises(InputError, match="already decided"):
        check_not_decided(standing, Decision(decision="approve", reviewer="bob"))
    # The same decision again completes a resume that was cut short.
    check_not_decided(standing, Decision(decision="approve", reviewer="ann"))
    assert same_decision(standing.decision, Decision(decision="approve", reviewer="ann"))


def test_redacting_serializer_masks_known_secrets_and_still_loads() -> None:
    serde = RedactingSerializer([CANARY])
    error = RuntimeError(f"401 from provider: invalid key {CANARY}")
    for value in (error, {"text": f"draft {CANARY}", "n": [1, CANARY]}):
        kind, data = serde.dumps_typed(value)
        assert CANARY.encode() not in data
        loaded = serde.loads_typed((kind, data))
        assert CANARY not in str(loaded) and "*" * len(CANARY) in str(loaded)


def test_a_lease_holder_is_dead_only_when_its_process_on_this_host_is_gone() -> None:
    import os
    import socket
    import subprocess
    import sys

    from chimera.app.runner import _holder_is_dead

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    host = socket.gethostname()
    assert _holder_is_dead(f"{host}:{gone}:abc")
    assert not _holder_is_dead(f"{host}:{os.getpid()}:abc")  # alive: this very process
    assert not _holder_is_dead(f"elsewhere:{gone}:abc")  # another machine: its lease lapses
    assert not _holder_is_dead("garbled")


def test_clean_can_leave_hidden_characters_for_a_later_step() -> None:
    from chimera.domain.hygiene import clean

    kept = clean("a\u200bb\x1b[31m", what="x", keep_hidden=True)
    assert kept.text == "a\u200bb" and kept.flags == ["control_characters"]
    assert clean(kept.text, what="x").flags == ["hidden_characters"]


def test_the_process_secrets_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # They are remembered between calls (every audit row asks), never past a change.
    monkeypatch.setenv("CHIMERA_TEST_API_KEY", "a-secret-value-1")
    assert "a-secret-value-1" in secret_values()
    monkeypatch.setenv("CHIMERA_TEST_API_KEY", "a-secret-value-2")
    assert "a-secret-value-2" in secret_values() and "a-secret-value-1" not in secret_values()
    monkeypatch.delenv("CHIMERA_TEST_API_KEY")
    assert "a-secret-value-2" not in secret_values()
