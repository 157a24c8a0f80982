"""Persona loading: the example SOUL.md files, lookup rules and every malformed case."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from chimera.adapters.persona_files import PERSONAS_DIR, list_personas, load_persona
from chimera.domain.errors import InputError, PersonaError
from chimera.domain.personas import parse_persona

VALID_FRONT = """\
id: zoe
name: Zoe Park
handle: "@zoe.plants"
platforms: [x]
topics: [houseplants, propagation]
"""

VALID_BODY = """\
# Zoe Park

## Backstory
Zoe keeps 140 houseplants in a studio flat.

## Voice and tone
Cheerful and nerdy.

## Core beliefs
- Every plant deserves a second chance.

## Directives
- Always end posts with the AI-disclosure label #AI.

## Example posts
- Pothos cutting rooted in 9 days. 🌱 #propagation #AI
"""


def soul(front: str = VALID_FRONT, body: str = VALID_BODY) -> str:
    return f"---\n{front}---\n{body}"


def write_persona(root: Path, text: str, folder: str = "zoe") -> Path:
    path = root / folder / "SOUL.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> tuple[str, str]:
    """(message, file path) of the PersonaError that loading ``text`` from a file raises."""
    path = write_persona(tmp_path, text)
    with pytest.raises(PersonaError) as info:
        load_persona(str(path))
    message = str(info.value)
    assert str(path) in message
    return message, str(path)


@pytest.fixture(autouse=True)
def _no_env_dirs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHIMERA_PERSONAS_DIR", raising=False)


# --- the example personas ------------------------------------------------------------


def test_ava_loads_by_id() -> None:
    ava = load_persona("ava")
    assert ava["id"] == "ava"
    assert ava["name"] == "Ava Reyes"
    assert ava["handle"] == "@ava.rewears"
    assert ava["platforms"] == ["x", "instagram"]
    assert "sustainable fashion" in ava["topics"]
    assert "thrifting" in ava["topics"]
    assert ava["thresholds"] == {}
    assert ava["source"] == str(PERSONAS_DIR / "ava" / "SOUL.md")
    assert "Always end posts with the AI-disclosure label #AI." in ava["directives"]
    assert "Never give financial, medical or legal advice." in ava["directives"]
    assert any("never" in b.lower() and "fast-fashion" in b for b in ava["beliefs"])
    assert any(b.startswith("I am against greenwashing") for b in ava["beliefs"])
    # A bullet wrapped onto an indented line is one belief with a space, not a newline.
    assert all("\n" not in b for b in ava["beliefs"])
    assert ava["backstory"].startswith("Ava Reyes is 29")
    assert "♻️" in ava["voice"]


def test_kai_loads_by_id_with_threshold_override() -> None:
    kai = load_persona("kai")
    assert kai["name"] == "Kai Nakamura"
    assert kai["handle"] == "@kai.cooks.cheap"
    assert kai["platforms"] == ["x", "tiktok"]
    assert "plant-based cooking" in kai["topics"]
    assert kai["thresholds"] == {"review": 0.72, "publish": 0.92}
    assert any("never promote diet pills" in b for b in kai["beliefs"])
    assert "Always end posts with the AI-disclosure label #AI." in kai["directives"]
    assert any("medical advice" in d for d in kai["directives"])


@pytest.mark.parametrize("persona_id", ["ava", "kai"])
def test_example_posts_fit_x_and_carry_the_label(persona_id: str) -> None:
    persona = load_persona(persona_id)
    assert 4 <= len(persona["examples"]) <= 5
    for post in persona["examples"]:
        assert len(post) < 280, post
        assert post.endswith("#AI"), post
        assert re.search(r"#(?!AI\b)\w+ ", post), f"no topic hashtag before #AI: {post}"


def test_ren_posts_are_spanish_and_start_with_the_label() -> None:
    ren = load_persona("ren")
    assert "Empieza cada publicación con la etiqueta de divulgación #AI" in ren["directives"][0]
    for post in ren["examples"]:
        assert len(post) < 500, post
        assert post.startswith("#AI · "), post
        assert not post.endswith("#AI"), post


def test_kai_posts_are_lowercase_and_ava_posts_use_one_recycling_emoji() -> None:
    for post in load_persona("kai")["examples"]:
        assert post.removesuffix("#AI") == post.removesuffix("#AI").lower(), post
    for post in load_persona("ava")["examples"]:
        assert post.count("♻️") == 1, post


@pytest.mark.parametrize("persona_id", ["ava", "kai", "ren"])
def test_load_by_file_and_by_folder_match_load_by_id(persona_id: str) -> None:
    by_id = load_persona(persona_id)
    folder = PERSONAS_DIR / persona_id
    by_file = load_persona(str(folder / "SOUL.md"))
    by_folder = load_persona(str(folder))
    assert by_file == by_id
    assert by_folder == by_id
    assert by_folder["source"] == str(folder / "SOUL.md")


def test_list_personas_returns_the_shipped_ones_sorted() -> None:
    personas = list_personas()
    assert [p["id"] for p in personas] == ["ava", "kai", "ren"]
    assert personas[1]["thresholds"]["publish"] == 0.92


# --- search dirs ---------------------------------------------------------------------


def test_env_var_adds_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra, empty = tmp_path / "extra", tmp_path / "empty"
    empty.mkdir()
    path = write_persona(extra, soul())
    monkeypatch.setenv("CHIMERA_PERSONAS_DIR", f"{empty}{os.pathsep}{extra}")
    zoe = load_persona("zoe")
    assert zoe["name"] == "Zoe Park"
    assert zoe["source"] == str(path)
    assert [p["id"] for p in list_personas()] == ["ava", "kai", "ren", "zoe"]


def test_env_folder_shadows_the_repository_persona(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    front = VALID_FRONT.replace("id: zoe", "id: ava").replace("Zoe Park", "Ava Local")
    write_persona(tmp_path, soul(front), folder="ava")
    monkeypatch.setenv("CHIMERA_PERSONAS_DIR", str(tmp_path))
    assert load_persona("ava")["name"] == "Ava Local"
    assert [p["name"] for p in list_personas()] == ["Ava Local", "Kai Nakamura", "Ren Ibáñez"]


def test_explicit_search_dirs_replace_the_defaults(tmp_path: Path) -> None:
    write_persona(tmp_path, soul())
    assert [p["id"] for p in list_personas([tmp_path])] == ["zoe"]
    assert load_persona("zoe", [tmp_path])["handle"] == "@zoe.plants"
    assert list_personas([tmp_path / "missing"]) == []


def test_unknown_id_lists_known_personas() -> None:
    with pytest.raises(PersonaError) as info:
        load_persona("zed")
    message = str(info.value)
    assert "unknown persona 'zed'" in message
    assert str(PERSONAS_DIR / "zed" / "SOUL.md") in message
    assert message.endswith("known personas: ava, kai, ren")


def test_unknown_id_with_no_personas_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(PersonaError, match=r"known personas: none \(searched .+\)"):
        load_persona("zed", [tmp_path])


def test_missing_path_that_is_not_an_id(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "SOUL.md"
    with pytest.raises(PersonaError) as info:
        load_persona(str(missing))
    known = "known personas: ava, kai, ren"
    assert str(info.value) == f"{missing}: no such persona file or folder; {known}"


def test_capitalised_id_is_not_looked_up() -> None:
    with pytest.raises(PersonaError) as info:
        load_persona("Ava")
    assert "unknown persona 'Ava'" in str(info.value)
    assert "lowercase letters" in str(info.value)


def test_folder_without_soul_file(tmp_path: Path) -> None:
    with pytest.raises(PersonaError) as info:
        load_persona(str(tmp_path))
    assert str(info.value) == (
        f"{tmp_path / 'SOUL.md'}: no such file (a persona folder must hold a SOUL.md)"
    )


def test_soul_path_that_cannot_be_read(tmp_path: Path) -> None:
    # A SOUL.md that is itself a folder exists but cannot be read as a file.
    (tmp_path / "SOUL.md").mkdir()
    with pytest.raises(PersonaError) as info:
        load_persona(str(tmp_path))
    assert str(info.value).startswith(f"{tmp_path / 'SOUL.md'}: cannot read persona file: ")


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "SOUL.md"
    path.write_bytes(soul().encode("utf-8") + b"\xff\xfe caf\xe9")
    with pytest.raises(PersonaError) as info:
        load_persona(str(path))
    assert str(path) in str(info.value)
    assert "not UTF-8" in str(info.value)


def test_id_must_match_its_folder(tmp_path: Path) -> None:
    path = write_persona(tmp_path, soul(), folder="zara")
    with pytest.raises(PersonaError) as info:
        load_persona("zara", [tmp_path])
    assert str(path) in str(info.value)
    assert "field 'id' is 'zoe' but the folder is named 'zara'" in str(info.value)
    # The same file loaded by path is fine: only lookups by id rely on the folder name.
    assert load_persona(str(path))["id"] == "zoe"


def test_list_personas_raises_on_a_broken_file(tmp_path: Path) -> None:
    write_persona(tmp_path, soul(), folder="zoe")
    broken = write_persona(tmp_path, "no front matter", folder="bad")
    with pytest.raises(PersonaError) as info:
        list_personas([tmp_path])
    assert str(broken) in str(info.value)


def test_persona_error_is_an_input_error() -> None:
    assert issubclass(PersonaError, InputError)


# --- parsing details -----------------------------------------------------------------


def test_parse_accepts_heading_variants_crlf_and_extra_sections() -> None:
    body = (
        VALID_BODY.replace("## Voice and tone", "## voice & TONE")
        .replace("## Core beliefs", "## CORE BELIEFS:")
        .replace("## Backstory", "## Notes\nignored\n\n## Backstory")
    )
    text = soul(body=body).replace("\n", "\r\n")
    persona = parse_persona(text, "x/SOUL.md")
    assert persona["voice"] == "Cheerful and nerdy."
    assert persona["beliefs"] == ["Every plant deserves a second chance."]
    assert "ignored" not in persona["backstory"]
    assert persona["source"] == "x/SOUL.md"


def test_parse_voice_heading_alone_is_accepted() -> None:
    persona = parse_persona(soul(body=VALID_BODY.replace("Voice and tone", "Voice")), "s")
    assert persona["voice"] == "Cheerful and nerdy."


def test_bullets_continue_on_indented_lines_and_ignore_commentary() -> None:
    body = VALID_BODY.replace(
        "- Pothos cutting rooted in 9 days. 🌱 #propagation #AI\n",
        "Posts I liked:\n\n"
        "- Pothos cutting rooted\n  in 9 days. #AI\n"
        "* Second post\n  #plants #AI\n\n"
        "That is all.\n",
    )
    persona = parse_persona(soul(body=body), "s")
    assert persona["examples"] == [
        "Pothos cutting rooted in 9 days. #AI",
        "Second post #plants #AI",
    ]


def test_headings_inside_code_fences_are_not_sections() -> None:
    body = VALID_BODY.replace(
        "Zoe keeps 140 houseplants in a studio flat.\n",
        "Zoe keeps 140 houseplants.\n```\n## Directives\n```\n",
    )
    persona = parse_persona(soul(body=body), "s")
    assert "## Directives" in persona["backstory"]
    assert persona["directives"] == ["Always end posts with the AI-disclosure label #AI."]


def test_bom_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "SOUL.md"
    path.write_text("\ufeff" + soul(), encoding="utf-8")
    assert load_persona(str(path))["id"] == "zoe"


# --- malformed files -----------------------------------------------------------------


def test_missing_front_matter(tmp_path: Path) -> None:
    message, _ = load_error(tmp_path, VALID_BODY)
    assert "no YAML front matter (the file must start with '---')" in message


def test_unclosed_front_matter(tmp_path: Path) -> None:
    message, _ = load_error(tmp_path, "---\n" + VALID_FRONT + VALID_BODY)
    assert "front matter is not closed" in message


def test_invalid_yaml(tmp_path: Path) -> None:
    message, _ = load_error(tmp_path, soul(VALID_FRONT + "topics: [a, b\n"))
    assert "front matter is not valid YAML" in message
    assert "line " in message


def test_unquoted_handle_gets_a_hint(tmp_path: Path) -> None:
    message, _ = load_error(tmp_path, soul(VALID_FRONT.replace('"@zoe.plants"', "@zoe")))
    assert "front matter is not valid YAML" in message
    assert "line 4" in message
    assert 'handle: "@name"' in message


def test_duplicate_key(tmp_path: Path) -> None:
    message, _ = load_error(tmp_path, soul(VALID_FRONT + "topics: [other]\n"))
    assert "duplicate key 'topics'" in message


def test_front_matter_that_is_not_a_mapping(tmp_path: Path) -> None:
    message, _ = load_error(tmp_path, soul("- id\n- name\n"))
    assert "front matter must be a mapping" in message


def test_empty_front_matter(tmp_path: Path) -> None:
    message, _ = load_error(tmp_path, soul(""))
    assert "front matter is empty" in message


@pytest.mark.parametrize("field", ["id", "name", "handle", "platforms", "topics"])
def test_missing_required_field(tmp_path: Path, field: str) -> None:
    front = "".join(line + "\n" for line in VALID_FRONT.splitlines() if not line.startswith(field))
    message, _ = load_error(tmp_path, soul(front))
    assert f"missing front-matter field '{field}'" in message


def test_handle_without_at(tmp_path: Path) -> None:
    message, path = load_error(tmp_path, soul(VALID_FRONT.replace('"@zoe.plants"', "zoe")))
    assert message == f"{path}: field 'handle' must start with '@' (got 'zoe')"


def test_handle_with_spaces(tmp_path: Path) -> None:
    message, _ = load_error(tmp_path, soul(VALID_FRONT.replace('"@zoe.plants"', '"@zoe plants"')))
    assert "field 'handle' must be '@' followed by a name without spaces" in message


@pytest.mark.parametrize("bad_id", ["Zoe", "zoe park", "-zoe", "007"])
def test_id_must_be_a_slug(tmp_path: Path, bad_id: str) -> None:
    message, _ = load_error(tmp_path, soul(VALID_FRONT.replace("id: zoe", f"id: {bad_id}")))
    assert "field 'id'" in message


@pytest.mark.parametrize("value", ["[]", "x", "[x, 3]", '[""]'])
def test_platforms_must_be_a_non_empty_list_of_strings(tmp_path: Path, value: str) -> None:
    message, _ = load_error(
        tmp_path, soul(VALID_FRONT.replace("platforms: [x]", f"platforms: {value}"))
    )
    assert "field 'platforms' must be a non-empty list of strings" in message


def test_empty_topics(tmp_path: Path) -> None:
    front = VALID_FRONT.replace("topics: [houseplants, propagation]", "topics: []")
    message, _ = load_error(tmp_path, soul(front))
    assert "field 'topics' must be a non-empty list of strings" in message


def test_empty_name(tmp_path: Path) -> None:
    message, _ = load_error(tmp_path, soul(VALID_FRONT.replace("Zoe Park", '""')))
    assert "field 'name' must be a non-empty string" in message


def test_unknown_front_matter_key_suggests_the_right_one(tmp_path: Path) -> None:
    message, _ = load_error(tmp_path, soul(VALID_FRONT.replace("topics:", "topcis:")))
    assert "unknown front-matter field 'topcis' (did you mean 'topics'?)" in message


def test_unknown_front_matter_key_lists_allowed_fields(tmp_path: Path) -> None:
    message, _ = load_error(tmp_path, soul(VALID_FRONT + "mood: sunny\n"))
    assert "unknown front-matter field 'mood'" in message
    assert "allowed fields: id, name, handle, platforms, topics, thresholds" in message


@pytest.mark.parametrize(
    ("thresholds", "field"),
    [
        ("{review: 1.5}", "thresholds.review"),
        ("{publish: -0.1}", "thresholds.publish"),
        ("{review: high}", "thresholds.review"),
        ("{review: yes}", "thresholds.review"),
        ("{publish: .nan}", "thresholds.publish"),
    ],
)
def test_threshold_out_of_range_or_not_a_number(
    tmp_path: Path, thresholds: str, field: str
) -> None:
    message, _ = load_error(tmp_path, soul(VALID_FRONT + f"thresholds: {thresholds}\n"))
    assert f"field '{field}' must be a number from 0 to 1" in message


def test_review_above_publish(tmp_path: Path) -> None:
    message, _ = load_error(
        tmp_path, soul(VALID_FRONT + "thresholds: {review: 0.9, publish: 0.8}\n")
    )
    assert "'thresholds.review' (0.9) must not exceed 'thresholds.publish' (0.8)" in message


def test_unknown_threshold_key(tmp_path: Path) -> None:
    message, _ = load_error(tmp_path, soul(VALID_FRONT + "thresholds: {reveiw: 0.5}\n"))
    assert "unknown field 'thresholds.reveiw'" in message


def test_thresholds_not_a_mapping(tmp_path: Path) -> None:
    message, _ = load_error(tmp_path, soul(VALID_FRONT + "thresholds: 0.8\n"))
    assert "field 'thresholds' must be a mapping" in message


def test_partial_thresholds_and_integers_are_accepted() -> None:
    persona = parse_persona(soul(VALID_FRONT + "thresholds: {publish: 1}\n"), "s")
    assert persona["thresholds"] == {"publish": 1.0}
    assert isinstance(persona["thresholds"]["publish"], float)


@pytest.mark.parametrize(
    ("heading", "shown"),
    [
        ("## Backstory", "'## Backstory'"),
        ("## Voice and tone", "'## Voice and tone' (or '## Voice & tone', '## Voice')"),
        ("## Core beliefs", "'## Core beliefs'"),
        ("## Directives", "'## Directives'"),
        ("## Example posts", "'## Example posts'"),
    ],
)
def test_missing_section(tmp_path: Path, heading: str, shown: str) -> None:
    message, _ = load_error(tmp_path, soul(body=VALID_BODY.replace(heading, "## Something else")))
    assert f"missing section {shown}" in message


def test_level_three_heading_does_not_count_as_a_section(tmp_path: Path) -> None:
    message, _ = load_error(
        tmp_path, soul(body=VALID_BODY.replace("## Directives", "### Directives"))
    )
    assert "missing section '## Directives'" in message


@pytest.mark.parametrize(
    ("heading", "content"),
    [
        ("## Core beliefs", "- Every plant deserves a second chance."),
        ("## Directives", "- Always end posts with the AI-disclosure label #AI."),
        ("## Example posts", "- Pothos cutting rooted in 9 days. 🌱 #propagation #AI"),
    ],
)
def test_section_without_bullets(tmp_path: Path, heading: str, content: str) -> None:
    body = VALID_BODY.replace(content, "Written as prose, not as a list.")
    message, _ = load_error(tmp_path, soul(body=body))
    assert f"section '{heading}' needs at least one bullet" in message


def test_empty_bullet(tmp_path: Path) -> None:
    body = VALID_BODY.replace("- Every plant", "-\n- Every plant")
    message, _ = load_error(tmp_path, soul(body=body))
    assert "section '## Core beliefs' has an empty bullet" in message


@pytest.mark.parametrize(
    ("heading", "content"),
    [
        ("## Backstory", "Zoe keeps 140 houseplants in a studio flat."),
        ("## Voice and tone", "Cheerful and nerdy."),
    ],
)
def test_empty_prose_section(tmp_path: Path, heading: str, content: str) -> None:
    message, _ = load_error(tmp_path, soul(body=VALID_BODY.replace(content, "")))
    assert f"section '{heading}' is empty" in message


def test_duplicate_section(tmp_path: Path) -> None:
    body = VALID_BODY + "\n## Core beliefs\n- Another one.\n"
    message, _ = load_error(tmp_path, soul(body=body))
    assert "section '## Core beliefs' appears twice" in message


def test_an_edited_persona_in_the_home_shadows_the_shipped_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chimera.adapters.persona_files import editable_personas_dir

    monkeypatch.delenv("CHIMERA_PERSONAS_DIR", raising=False)
    monkeypatch.setenv("CHIMERA_HOME", str(tmp_path))
    assert editable_personas_dir() == tmp_path / "personas"
    shipped = (PERSONAS_DIR / "ava" / "SOUL.md").read_text(encoding="utf-8")
    edited = tmp_path / "personas" / "ava" / "SOUL.md"
    edited.parent.mkdir(parents=True)
    edited.write_text(shipped.replace("@ava.rewears", "@ava.edited"), encoding="utf-8")
    assert load_persona("ava")["handle"] == "@ava.edited"
    assert [p["handle"] for p in list_personas() if p["id"] == "ava"] == ["@ava.edited"]
    # CHIMERA_PERSONAS_DIR comes first, for reading and for saving.
    monkeypatch.setenv("CHIMERA_PERSONAS_DIR", str(tmp_path / "team"))
    assert editable_personas_dir() == tmp_path / "team"
