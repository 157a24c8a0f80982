"""What the offline model answers: a plan from the goal, a draft from the task and the
persona's voice, a rubric rating from the draft against the persona.

Every answer follows from the prompt alone, deterministically, so the whole
pipeline (every route of the gate included) runs with no network.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from typing import Any

from chimera.domain.signals.content import emptiness_findings, specificity
from chimera.domain.signals.disclosure import label_place
from chimera.domain.signals.injection import injection_markers
from chimera.domain.signals.language import language_of
from chimera.domain.text import content_words, endorsed_terms, rejected_terms, topic_overlap
from chimera.graphs.prompts import read_items, read_tag

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "a couple of": 2, "a few": 3,
}  # fmt: skip
_COUNT = re.compile(
    r"\b(\d{1,2}|" + "|".join(NUMBER_WORDS) + r")\s+(?:\w+[- ])?"
    r"(posts?|tweets?|threads?|replies|reply|tasks?|ideas?|captions?|updates?)\b",
    re.IGNORECASE,
)
_REPLY = re.compile(r"\b(repl(?:y|ies)|answer|respond)\b", re.IGNORECASE)
_LEADING = re.compile(
    r"^(?:(?:and|or|the|on|about|covering)\s+)+|(?:this|next|last) week'?s?\s+|today'?s\s+",
    re.IGNORECASE,
)
ANGLES = (
    "what it is and why it matters right now",
    "one practical tip followers can try this week",
    "a short personal story that shows it in real life",
    "a common myth about it, busted",
    "a question that starts a conversation with followers",
    "a beginner's three-step checklist",
    "the small numbers behind it that surprise people",
    "a before-and-after that makes the case",
    "the mistakes to avoid when starting out",
    "how to start on a tight budget",
    "what changed my mind about it",
    "the one tool or habit that makes it easier",
    "a quick win for this weekend",
    "what the numbers on the label really mean",
    "how to talk friends into trying it",
    "the question followers ask most, answered",
    "a small experiment and how it went",
    "why it's worth the extra effort",
    "what I'd tell myself five years ago",
    "a seasonal twist on it",
)
# Leads that name the topic and go straight to the point (no "let's talk", no "here's my
# take": the judge's content check reads those as a post announcing itself).
LEADS = (
    "{Topic}, in practice:",
    "{Topic} tip:",
    "What {topic} looks like for me:",
    "{Topic}, the honest version:",
    "On {topic}:",
)
OFF_TOPIC_LEAD = "{Topic} is not my usual lane, but the habit carries over:"
_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]\ufe0f?")
_FOCUS = re.compile(r"\b(?:focus on|write about|make it about|talk about|instead,?)\s+(.+)", re.I)
X_LIMIT = 280


def _pick(options: tuple[Any, ...], *keys: str) -> Any:
    digest = hashlib.sha256("|".join(keys).encode()).digest()
    return options[digest[0] % len(options)]


def _clean_item(item: str) -> str:
    item = re.sub(r"\s+", " ", item).strip(" .!?;:\"'")
    while (stripped := _LEADING.sub("", item)) != item:
        item = stripped
    return re.sub(r"\s+for\s+@\S+$", "", item).strip(" .")


def goal_items(goal: str) -> list[str]:
    """Items a goal names, as in 'posts on: thrifting, rental and repair'."""
    _, colon, tail = goal.partition(":")
    listing = tail if colon else re.split(r"\b(?:on|about|covering)\b", goal, maxsplit=1)[-1]
    if "," not in listing and " and " not in listing:
        return []
    parts = re.split(r",|;|\band\b|\bor\b", listing)
    items = [_clean_item(p) for p in parts]
    return [i for i in items if i and len(i.split()) <= 8]


def goal_count(goal: str) -> int | None:
    match = _COUNT.search(goal)
    if not match:
        return None
    word = match.group(1).lower()
    return int(word) if word.isdigit() else NUMBER_WORDS[word]


def goal_topic(goal: str) -> str:
    """The subject of a goal without its count, addressee or time words."""
    text = _COUNT.sub("", goal)
    text = re.sub(r"@\S+", "", text)
    match = re.search(r"\b(?:on|about|covering)\b\s+(.+)", text, re.IGNORECASE)
    topic = _clean_item(match.group(1) if match else text)
    topic = re.sub(r"\s+for\s*$", "", topic).strip()
    return topic or "what I'm into this week"


def split_orders(goal: str) -> tuple[str, list[str]]:
    """The goal without its sentences aimed at the system ("SYSTEM: ignore the judge"),
    and those sentences. They never become topics; the briefs name them, so the judge
    (which reads the brief) flags every task for a human."""
    sentences = re.split(r"(?<=[.!?;])\s+|\n+", goal.strip())
    orders = [s for s in sentences if injection_markers(s)]
    kept = " ".join(s for s in sentences if s not in orders)
    return (kept if orders else goal), orders


def plan(prompt: str) -> dict[str, Any]:
    goal, orders = split_orders(read_tag(prompt, "goal"))
    max_tasks = int(read_tag(prompt, "max_tasks") or 10)
    kind = "reply" if _REPLY.search(goal) else "post"
    items = goal_items(goal)
    if len(items) >= 2:
        tasks = [
            {
                "kind": kind,
                "topic": item,
                "brief": f"Write a {kind} about {item}: what it is, why it matters, "
                "and one concrete tip.",
            }
            for item in items
        ]
    else:
        count = goal_count(goal) or 1
        topic = items[0] if items else goal_topic(goal)
        tasks = [
            {"kind": kind, "topic": topic, "brief": f"Write a {kind} about {topic}: {angle}."}
            for angle in ANGLES[:count]
        ]
    if orders:
        quoted = " ".join(orders)
        for task in tasks:
            task["brief"] += f" (Left out of the post, aimed at the system: {quoted!r}.)"
    return {"tasks": tasks[:max_tasks], "left_out": [t["topic"] for t in tasks[max_tasks:]]}


def _hashtag(phrase: str) -> str:
    return "#" + "".join(w.capitalize() for w in re.findall(r"[^\W_]+", phrase))[:30]


_KIND = re.compile(r'<task kind="(\w+)"')
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_TAGS_AND_EMOJI = re.compile(r"#\w+|[\U0001f300-\U0001faff\u2600-\u27bf]\ufe0f?")
# Third-person backstory ("She quit.") reads wrong in a first-person post.
_THIRD_PERSON = re.compile(r"^(?:she|he|they|her|his|their)\b", re.IGNORECASE)
REPLY_OPENERS = ("Good question!", "Honestly?", "Here's how I do it.")


def _sentences(text: str) -> list[str]:
    body = re.sub(r"\s+", " ", _TAGS_AND_EMOJI.sub(" ", text)).strip()
    # "#AI · Cadena seca..." leaves "· Cadena seca...": the separator is not the sentence's.
    sentences = (re.sub(r"^[^\w$€£¿¡\"']+", "", s).strip() for s in _SENTENCE.split(body))
    return [s for s in sentences if len(s.split()) >= 4]


def material(prompt: str) -> list[list[str]]:
    """Passages the persona has written or holds (example posts, recalled facts, beliefs)
    and the brief's own material, as lists of first-person sentences. Past posts are left
    out: they would feed this model's own sentences back into it."""
    brief = read_tag(prompt, "brief")
    posts = read_items(prompt, "examples")
    # Facts and beliefs are SOUL.md prose, which starts its sentences with a capital: a
    # line that does not is the tail of a sentence wrapped over two lines.
    prose = [*read_items(prompt, "facts"), *read_items(prompt, "beliefs")]
    texts = [*posts, *prose, brief.split(":", 1)[1] if ":" in brief else ""]
    name = read_tag(prompt, "name").split(" ")[0]
    seen: set[str] = set()
    passages = []
    for n, text in enumerate(texts):
        kept = []
        for sentence in _sentences(text):
            if _THIRD_PERSON.match(sentence) or (name and name in sentence):
                continue
            if len(posts) <= n < len(posts) + len(prose) and not sentence[0].isupper():
                continue
            # Template words, orders aimed at the system, repeats: never material.
            if emptiness_findings(sentence) or injection_markers(sentence) or sentence in seen:
                continue
            seen.add(sentence)
            kept.append(sentence)
        if kept:
            passages.append(kept)
    return passages


def _roots(text: str) -> set[str]:
    """Word roots loose enough that 'thrifted' meets 'thrifting'."""
    return {w[:5] for w in content_words(text) if len(w) > 2}


# Share of content words in common with one past post from which a pair repeats it.
REPEAT = 0.5


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def pick_details(
    topic: str, passages: list[list[str]], index: int, said: list[str] | None = None
) -> list[str]:
    """Two sentences for a post: one of the best for the topic (on it first, then
    concrete) and a concrete one from another passage, the pair that repeats least of
    what the persona has ``said`` (its past posts). ``index`` rotates the candidates, so
    tasks on one topic say different things."""
    roots = _roots(topic)
    spots = [(i, j) for i, p in enumerate(passages) for j in range(len(p))]
    if not spots:
        return []

    def rank(spot: tuple[int, int]) -> tuple[int, int, tuple[int, int]]:
        sentence = passages[spot[0]][spot[1]]
        overlap = len(roots & _roots(sentence))
        return (-overlap, -min(specificity(sentence).details, 2), spot)

    ranked = sorted(spots, key=rank)
    firsts = ranked[: min(len(ranked), 6)]
    firsts = firsts[index % len(firsts) :] + firsts[: index % len(firsts)]
    concrete = [s for s in ranked if specificity(passages[s[0]][s[1]]).details]
    past = [set(content_words(p)) for p in said or []]
    best: tuple[float, list[str]] | None = None
    for n, (i, j) in enumerate(firsts):
        # The second sentence comes from another passage: two sentences of one example
        # post read as a repeat of it (cosine above 0.93, the near-duplicate check).
        seconds = [s for s in concrete if s[0] != i][:4]
        shift = (index + n) % len(seconds) if seconds else 0
        for m, second in enumerate(seconds[shift:] + seconds[:shift] or [None]):
            chosen = [passages[i][j]] + ([passages[second[0]][second[1]]] if second else [])
            words = set(content_words(" ".join(chosen)))
            repeat = max((_overlap(words, p) for p in past), default=0.0)
            # The best-ranked pair, unless it mostly repeats one past post (a sentence
            # shared with an example post is fine: that is the persona's material).
            cost = (repeat if repeat > REPEAT else 0.0) + 0.02 * (n + m)
            if best is None or cost < best[0]:
                best = (cost, chosen)
    return best[1] if best else []


def label_separator(examples: list[str], label: str) -> str:
    """What the persona writes between an opening label and the text (``" · "``)."""
    for example in examples:
        match = re.match(re.escape(label) + r"(\W*?)(?=\w)", example.lstrip())
        if match:
            return match.group(1)
    return " "


def _compose(lead: str, details: list[str], ending: str, room: int | None) -> str:
    """Lead and as many details as fit in ``room`` characters, never cut mid-sentence."""
    chosen = list(details)
    while True:
        sentences = [d if d[-1] in ".!?" else d + "." for d in chosen]
        body = " ".join([lead, *sentences] if lead else sentences)
        text = f"{body} {ending}".strip()
        if room is None or len(text) <= room or len(chosen) <= 1:
            return text
        chosen.pop()


def reply(prompt: str) -> dict[str, Any]:
    """An answer in the first person, with one concrete thing the persona knows."""
    brief = read_tag(prompt, "brief")
    label = read_tag(prompt, "disclosure")
    opener = _pick(REPLY_OPENERS, brief)
    details = pick_details(read_tag(prompt, "topic"), material(prompt), 0)
    text = _compose(opener, details[:1], label, X_LIMIT)
    return {"text": text, "notes": "offline reply: built from the persona's own material"}


def draft(prompt: str) -> dict[str, Any]:
    kind_match = _KIND.search(prompt)
    if kind_match and kind_match.group(1) == "reply" and not read_tag(prompt, "feedback"):
        return reply(prompt)
    topic = read_tag(prompt, "topic") or "this"
    brief = read_tag(prompt, "brief")
    feedback = read_tag(prompt, "feedback")
    label = read_tag(prompt, "disclosure")
    examples = read_items(prompt, "examples")
    topics = read_items(prompt, "topics")
    platforms = read_tag(prompt, "platforms")

    if feedback:
        focus = _FOCUS.search(feedback)
        if focus:
            topic = _clean_item(focus.group(1).split(".")[0])
    # Each earlier post on the topic moves the pick on, so a goal run again says
    # something else (the judge's near-duplicate check catches a repeat all the same).
    posted = int(read_tag(prompt, "posts_on_topic") or 0)
    salt = "|".join([topic, brief, str(posted), feedback])
    angle = brief.split(":", 1)[1].strip(" .") if ":" in brief else brief
    start = ANGLES.index(angle) if angle in ANGLES else 0
    said = read_items(prompt, "past_posts")
    details = pick_details(topic, material(prompt), start + posted, said)
    relevant = bool(topic_overlap(topics, topic))
    # Hashtags keep their case in lowercase voices (#AI), so they do not count.
    bare = [re.sub(r"#\w+", "", e) for e in examples]
    lowercase = bool(bare) and sum(b == b.lower() for b in bare) * 2 > len(bare)
    emojis = Counter(m for e in examples for m in _EMOJI.findall(e))
    lead = (_pick(LEADS, salt) if relevant or not details else OFF_TOPIC_LEAD).format(
        topic=topic, Topic=topic[:1].upper() + topic[1:]
    )
    if language_of("\n".join(examples)) != "en":
        lead = ""  # the leads are English; the persona's own sentences carry the post
    tags = [_hashtag(topic)]
    on_topic = topic_overlap(topics, topic)
    if on_topic and _hashtag(on_topic[0]) not in tags:
        tags.append(_hashtag(on_topic[0]))
    emoji = f"{emojis.most_common(1)[0][0]} " if emojis else ""
    first = label_place(examples, label) == "start"
    ending = emoji + " ".join(tags if first else [*tags, label]).strip()
    on_x = "x" in [p.strip().lower() for p in platforms.split(",")]
    # Off the persona's topics it has one habit to bring over, not a post's worth.
    room = (X_LIMIT - len(label) - 3 if first else X_LIMIT) if on_x else None
    text = _compose(lead, details if relevant else details[:1], ending, room)
    if first:
        text = f"{label}{label_separator(examples, label)}{text}"
    if lowercase:
        text = text.lower().replace(label.lower(), label)
    return {"text": text, "notes": "offline draft: built from the persona's own material"}


def _voice_slips(text: str, examples: list[str]) -> list[str]:
    """Where the draft's surface departs from the example posts: case, emoji, length."""
    if not examples:
        return []
    slips = []
    bare = [re.sub(r"#\w+", "", e) for e in examples]
    lowercase_voice = sum(b == b.lower() for b in bare) * 2 > len(bare)
    prose = re.sub(r"#\w+", "", text)
    if lowercase_voice and prose != prose.lower():
        slips.append("capitals in a lowercase voice")
    uses_emoji = sum(bool(_EMOJI.search(e)) for e in examples) * 2 > len(examples)
    if uses_emoji and not _EMOJI.search(text):
        slips.append("none of the persona's usual emoji")
    typical = sorted(specificity(e).words for e in examples)[len(examples) // 2]
    if specificity(text).words < typical * 0.4:
        slips.append(f"much shorter than the persona's posts (about {typical} words)")
    return slips


def rate(prompt: str) -> dict[str, Any]:
    """A 1-5 rating that follows the draft's quality, not only its keywords: contradiction
    and emptiness sink it; being off-topic, unlabelled, too long, vague (no concrete
    detail, few content words) or off-voice each take a point."""
    text = read_tag(prompt, "draft")
    statements = (
        read_items(prompt, "beliefs")
        + read_items(prompt, "directives")
        + read_items(prompt, "facts")
    )
    topics = read_items(prompt, "topics")
    score, reasons = 5, []
    contradicted = endorsed_terms(rejected_terms(statements), text)
    empty = emptiness_findings(text)
    if contradicted:
        score = 1
        reasons.append(f"contradicts the persona's beliefs: endorses {', '.join(contradicted)}")
    elif empty:
        score = 1
        reasons.append(f"says nothing: {'; '.join(empty)}")
    elif not topic_overlap(topics, text):
        score -= 1
        reasons.append("off the persona's usual topics")
    if not re.search(r"#AI\b|AI-generated|\(AI\)", text):
        score -= 1
        reasons.append("no AI-disclosure label")
    if "x" in read_tag(prompt, "platforms").lower().split(", ") and len(text) > X_LIMIT:
        score -= 1
        reasons.append(f"longer than {X_LIMIT} characters for X")
    if not empty:
        spec = specificity(text)
        if spec.details == 0:
            score -= 1
            reasons.append("no concrete detail: no number, price, time or count")
        if spec.content_words < 6:
            score -= 1
            reasons.append(f"thin: {spec.content_words} distinct content words")
        slips = _voice_slips(text, read_items(prompt, "examples"))
        if slips:
            score -= 1
            reasons.append("off-voice: " + ", ".join(slips))
    if not reasons:
        reasons.append("in voice, on topic, concrete, consistent with the persona's beliefs")
    return {"score": max(1, min(5, score)), "reasons": reasons}


def reply_text(prompt: str) -> str:
    """A plain-text answer when no structured output was asked for."""
    return "offline model: " + (
        read_tag(prompt, "goal") or read_tag(prompt, "brief") or prompt[-200:]
    )


RESPONDERS = {"Plan": plan, "Draft": draft, "Rating": rate}
