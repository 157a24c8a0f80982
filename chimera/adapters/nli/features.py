"""Features of an (utterance, persona sentence) pair for the persona-consistency scorer.

Two kinds, both cheap:

* sentence-embedding features of the two frozen MiniLM vectors ``u`` (utterance) and
  ``v`` (persona): ``[u, v, |u - v|, u * v]`` (4 x 384) and their cosine;
* lexical cues that a bag-of-vectors misses: numbers that disagree ("two dogs" vs "nine
  dogs", digits and number words alike), negation on one side only, antonyms across
  the two sides ("love" vs "hate"), and word overlap;
* word alignment: each content word of the persona sentence is matched to its closest
  content word of the utterance (same stem, else the cosine of the two words' MiniLM
  vectors). A persona word with a close but different counterpart ("priest" against
  "mechanic", "cats" against "dogs") is the mark of a contradiction; one with no
  counterpart at all, of a neutral pair.

The fitted model's file records :data:`LEXICAL_FEATURES` by name, so a change here is
caught when a model fitted on other features is loaded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|n't")

NEGATIONS = frozenset(
    "not no never n't nothing nobody none neither nor cannot nowhere without "
    "dont doesnt didnt isnt arent wasnt werent wont cant couldnt shouldnt wouldnt "
    "havent hasnt hadnt".split()
)

_UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "dozen": 12,
    "twice": 2,
    "twins": 2,
    "triplets": 3,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
}
# Words that make "one" or "second" something else than a count ("no one", "one of").
_NOT_COUNT_AFTER = frozenset("no any every some this that the which".split())

# Pairs of words that, one on each side, usually mean the two sentences disagree.
_ANTONYM_PAIRS = [
    ("love", "hate"),
    ("like", "hate"),
    ("like", "dislike"),
    ("love", "dislike"),
    ("enjoy", "hate"),
    ("enjoy", "dislike"),
    ("married", "single"),
    ("married", "divorced"),
    ("wife", "husband"),
    ("boyfriend", "girlfriend"),
    ("young", "old"),
    ("tall", "short"),
    ("big", "small"),
    ("large", "small"),
    ("rich", "poor"),
    ("happy", "sad"),
    ("male", "female"),
    ("man", "woman"),
    ("boy", "girl"),
    ("guy", "girl"),
    ("brother", "sister"),
    ("son", "daughter"),
    ("mother", "father"),
    ("mom", "dad"),
    ("cat", "dog"),
    ("cats", "dogs"),
    ("day", "night"),
    ("morning", "night"),
    ("early", "late"),
    ("fast", "slow"),
    ("hot", "cold"),
    ("summer", "winter"),
    ("city", "country"),
    ("city", "farm"),
    ("introvert", "extrovert"),
    ("shy", "outgoing"),
    ("vegan", "meat"),
    ("vegetarian", "meat"),
    ("win", "lose"),
    ("alive", "dead"),
    ("always", "never"),
    ("healthy", "unhealthy"),
    ("employed", "unemployed"),
    ("retired", "work"),
    ("thin", "fat"),
    ("skinny", "fat"),
    ("lazy", "active"),
    ("quiet", "loud"),
    ("sober", "drink"),
    ("blonde", "brunette"),
    ("black", "white"),
    ("blue", "brown"),
    ("dark", "light"),
    ("clean", "messy"),
    ("rural", "urban"),
    ("indoors", "outdoors"),
    ("inside", "outside"),
    ("alone", "friends"),
    ("student", "teacher"),
    ("boss", "employee"),
    ("democrat", "republican"),
    ("liberal", "conservative"),
    ("cheap", "expensive"),
    ("good", "bad"),
    ("best", "worst"),
    ("easy", "hard"),
    ("only", "siblings"),
    ("child", "siblings"),
]
ANTONYMS: dict[str, frozenset[str]] = {}
for _a, _b in _ANTONYM_PAIRS:
    ANTONYMS[_a] = ANTONYMS.get(_a, frozenset()) | {_b}
    ANTONYMS[_b] = ANTONYMS.get(_b, frozenset()) | {_a}

STOPWORDS = (
    frozenset(
        "i me my mine myself we us our ours you your yours he him his she her hers it its "
        "they them their theirs a an the and or but if so as of at by for with about to from "
        "in on into onto up down out over under again then once here there when where why how "
        "all any both each few more most other some such only own same than too very s t can "
        "will just do does did doing done be am is are was were been being have has had having "
        "this that these those what which who whom would could should shall may might must "
        "get got go going really also well yes yeah oh lol hi hello ok okay too much many lot "
        "lots like just now ? . , ! 's 're 'm 've 'd 'll".split()
    )
    - NEGATIONS
    - {"like"}
)

LEXICAL_FEATURES: tuple[str, ...] = (
    "num_u",
    "num_v",
    "num_both",
    "num_mismatch",
    "num_match",
    "num_noun_conflict",
    "num_noun_match",
    "neg_u",
    "neg_v",
    "neg_mismatch",
    "antonym",
    "antonym_any",
    "overlap_jaccard",
    "overlap_persona",
    "overlap_utterance",
    "persona_unmatched",
    "len_u",
    "len_v",
    "same_frame",
)


# The judge scores each draft sentence against each persona statement: the same texts
# and words come back pair after pair and draft after draft, so their tokens and stems
# are remembered (pure functions of their text).
_TEXTS_REMEMBERED = 65_536


def tokenize(text: str) -> list[str]:
    """Lower-case words; "don't" becomes "do", "n't"; "i'm" stays one token."""
    return list(_tokens(text))


@lru_cache(maxsize=_TEXTS_REMEMBERED)
def _tokens(text: str) -> tuple[str, ...]:
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"(\w)n't\b", r"\1 n't", text)
    return tuple(_WORD.findall(text))


@lru_cache(maxsize=_TEXTS_REMEMBERED)
def _stem(word: str) -> str:
    for suffix in ("ing", "ies", "es", "ed", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def content_words(tokens: Sequence[str]) -> set[str]:
    return {_stem(t) for t in tokens if t not in STOPWORDS and not t.isdigit()}


def _number_spans(tokens: Sequence[str]) -> list[tuple[int, int]]:
    """(value, index of the token after it) for each number a sentence states."""
    found: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        prev = tokens[i - 1] if i else ""
        value: int | None = None
        if tok.isdigit() and len(tok) <= 7:
            value = int(tok)
        elif re.fullmatch(r"\d+(st|nd|rd|th|s)", tok):
            value = int(re.sub(r"\D", "", tok))
        elif tok in _TENS:
            value = _TENS[tok]
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            if nxt in _UNITS and _UNITS[nxt] < 10:
                value += _UNITS[nxt]
                i += 1
        elif tok in _UNITS or tok in _ORDINALS:
            counts_nothing = tok in {"one", "second", "single", "once"} and (
                prev in _NOT_COUNT_AFTER or (i + 1 < len(tokens) and tokens[i + 1] == "of")
            )
            if not counts_nothing:
                value = _UNITS.get(tok, _ORDINALS.get(tok))
        if value is not None:
            found.append((value, i + 1))
        i += 1
    return found


def numbers(tokens: Sequence[str]) -> set[int]:
    """The numbers a sentence states, from digits ("22") and words ("twenty two")."""
    return {value for value, _ in _number_spans(tokens)}


_SAME_NOUN = {"kid": "child", "children": "child", "yr": "year", "old": "year"}


def counted_numbers(tokens: Sequence[str]) -> dict[str, set[int]]:
    """Numbers keyed by the words they count: "i have 3 dogs" -> {"dog": {3}}."""
    out: dict[str, set[int]] = {}
    for value, after in _number_spans(tokens):
        for tok in tokens[after : after + 3]:
            if tok in STOPWORDS or tok.isdigit() or tok in _UNITS or tok in _TENS:
                continue
            key = _stem(tok)
            out.setdefault(_SAME_NOUN.get(key, key), set()).add(value)
    return out


def _frame(tokens: Sequence[str]) -> tuple[str, ...]:
    """The first two words that are not filler: "i am a nurse" -> ("i", "am")."""
    words = [t for t in tokens if t not in {"yes", "no", "well", "oh", "yeah", "lol", "hi"}]
    return tuple(words[:2])


def lexical_features(utterance: str, persona: str) -> np.ndarray:
    """The :data:`LEXICAL_FEATURES` of one pair, as float32."""
    tu, tv = tokenize(utterance), tokenize(persona)
    su, sv = set(tu), set(tv)
    nu, nv = numbers(tu), numbers(tv)
    num_both = bool(nu and nv)
    cnu, cnv = counted_numbers(tu), counted_numbers(tv)
    shared = cnu.keys() & cnv.keys()
    noun_conflict = any(not (cnu[k] & cnv[k]) for k in shared)
    noun_match = any(cnu[k] & cnv[k] for k in shared)
    neg_u, neg_v = bool(su & NEGATIONS), bool(sv & NEGATIONS)
    antonym = sum(1 for w in sv if ANTONYMS.get(w, frozenset()) & (su - sv))
    cu, cv = content_words(tu), content_words(tv)
    union = cu | cv
    inter = cu & cv
    return np.array(
        [
            bool(nu),
            bool(nv),
            num_both,
            num_both and not (nu & nv),
            bool(nu & nv),
            noun_conflict,
            noun_match,
            neg_u,
            neg_v,
            neg_u != neg_v,
            min(antonym, 3),
            antonym > 0,
            len(inter) / len(union) if union else 0.0,
            len(inter) / len(cv) if cv else 0.0,
            len(inter) / len(cu) if cu else 0.0,
            min(len(cv - cu), 6) / 6,
            min(len(tu), 60) / 60,
            min(len(tv), 30) / 30,
            _frame(tu) == _frame(tv) and bool(tv),
        ],
        dtype=np.float32,
    )


def lexical_matrix(pairs: Sequence[tuple[str, str]]) -> np.ndarray:
    """Rows of :func:`lexical_features` for (utterance, persona) pairs."""
    if not pairs:
        return np.zeros((0, len(LEXICAL_FEATURES)), dtype=np.float32)
    return np.stack([lexical_features(u, p) for u, p in pairs])


def embedding_features(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``[u, v, |u - v|, u * v, cos]`` for rows of unit vectors (n x 1537)."""
    cos = (u * v).sum(axis=1, keepdims=True)
    return np.concatenate([u, v, np.abs(u - v), u * v, cos], axis=1).astype(np.float32)


ALIGNMENT_FEATURES: tuple[str, ...] = (
    "align_persona_mean",
    "align_persona_min",
    "align_utterance_mean",
    "align_conflict",
    "align_near_miss",
    "align_exact",
    "align_empty",
)
_EXACT = 0.999


def content_tokens(text: str) -> list[str]:
    """The distinct content words of a text, unstemmed, in a stable order."""
    return list(_content_tokens(text))


@lru_cache(maxsize=_TEXTS_REMEMBERED)
def _content_tokens(text: str) -> tuple[str, ...]:
    return tuple(
        sorted(
            {
                t
                for t in _tokens(text)
                if t not in STOPWORDS and t not in NEGATIONS and not t.isdigit()
            }
        )
    )


def alignment_features(utterance: str, persona: str, vectors: dict[str, np.ndarray]) -> np.ndarray:
    """The :data:`ALIGNMENT_FEATURES` of one pair; ``vectors`` maps words to unit vectors."""
    a, b = content_tokens(utterance), content_tokens(persona)
    if not a or not b:
        return np.array([0, 0, 0, 0, 0, 0, 1], dtype=np.float32)
    sim = np.stack([vectors[w] for w in b]) @ np.stack([vectors[w] for w in a]).T
    stems_a = [_stem(w) for w in a]
    for i, w in enumerate(b):
        stem = _stem(w)
        for j, x in enumerate(stems_a):
            if stem == x:
                sim[i, j] = 1.0
    best_p, best_u = sim.max(axis=1), sim.max(axis=0)
    open_p, open_u = best_p < _EXACT, best_u < _EXACT
    conflict = float(sim[np.ix_(open_p, open_u)].max()) if open_p.any() and open_u.any() else 0.0
    return np.array(
        [
            best_p.mean(),
            best_p.min(),
            best_u.mean(),
            conflict,
            ((best_p > 0.3) & (best_p < 0.75)).mean(),
            (best_p >= _EXACT).mean(),
            0.0,
        ],
        dtype=np.float32,
    )


def pair_features(
    pairs: Sequence[tuple[str, str]],
    embed: Callable[[Sequence[str]], np.ndarray],
) -> dict[str, np.ndarray]:
    """All features of (utterance, persona) pairs, computed with one sentence embedder.

    Returns ``{"embedding": n x 1537, "lexical": n x 17, "alignment": n x 7}``. Each
    distinct sentence and content word is embedded once.
    """
    n = len(pairs)
    if n == 0:
        return {
            "embedding": np.zeros((0, 4 * 384 + 1), dtype=np.float32),
            "lexical": np.zeros((0, len(LEXICAL_FEATURES)), dtype=np.float32),
            "alignment": np.zeros((0, len(ALIGNMENT_FEATURES)), dtype=np.float32),
        }
    sentences = sorted({s for pair in pairs for s in pair})
    sent_vecs = embed(sentences)
    row = {s: i for i, s in enumerate(sentences)}
    u = sent_vecs[[row[p[0]] for p in pairs]]
    v = sent_vecs[[row[p[1]] for p in pairs]]
    words = sorted({w for pair in pairs for s in pair for w in content_tokens(s)})
    word_vecs = dict(zip(words, embed(words), strict=True)) if words else {}
    return {
        "embedding": embedding_features(u, v),
        "lexical": lexical_matrix(pairs),
        "alignment": np.stack([alignment_features(u_, p_, word_vecs) for u_, p_ in pairs]),
    }
