"""Synthetic, seeded texts for the benchmarks: an influencer persona's memories and queries.

Memories read like what Chimera keeps about a persona: posts it published (fashion,
cooking, travel, fitness), facts about it, and reviewer exchanges about its work. They
are composed from word lists and templates, so any number of distinct texts comes out
in a fixed order for a seed: the first ``n`` texts of a seed do not depend on how many
more are asked for, so a 10k corpus is a prefix of the 100k one. Queries use the same
vocabulary in other templates (questions a worker would ask its memory).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

# -- vocabulary -------------------------------------------------------------------------------

_TOPICS: dict[str, dict[str, list[str]]] = {
    "fashion": {
        "things": (
            "a cropped linen blazer|wide-leg denim|a thrifted wool coat|chunky loafers|"
            "a silk slip dress|a vintage leather jacket|pleated trousers|a cable-knit cardigan|"
            "a capsule wardrobe of twelve pieces|mended jeans with visible stitching|"
            "a secondhand trench coat|oversized shirts|ballet flats|a tailored waistcoat|"
            "a bucket hat|gold hoop earrings|a crochet top|cargo skirts|a tweed mini skirt|"
            "white sneakers|a corduroy jacket|a merino turtleneck|a patchwork quilt jacket|"
            "platform sandals|a denim shirt dress|a boiler suit|a mohair sweater|"
            "a rental gown for a wedding|upcycled tote bags|a striped Breton top"
        ).split("|"),
        "actions": (
            "styled|thrifted|repaired|restyled|layered|paired|found|tried on|hemmed|"
            "dyed|swapped|reviewed|wore three ways|tailored|packed"
        ).split("|"),
        "angles": (
            "for a rainy commute|for a gallery opening|on a tiny budget|for the office|"
            "for a first date|for a summer wedding|for autumn layering|for a capsule wardrobe|"
            "without buying anything new|with pieces from my grandmother|for a weekend market|"
            "for a job interview|for a festival|for cold mornings|for a beach dinner"
        ).split("|"),
        "tags": "#thrifting #slowfashion #ootd #capsulewardrobe #visiblemending #vintage".split(),
    },
    "cooking": {
        "things": (
            "miso butter carrots|a sourdough focaccia|one-pot lemon orzo|a chickpea curry|"
            "charred broccoli with tahini|a tomato galette|brown butter gnocchi|"
            "a cold soba salad|a shakshuka for two|a rhubarb crumble|mushroom risotto|"
            "kimchi fried rice|a roast chicken with fennel|spicy peanut noodles|"
            "a lentil bolognese|a plum clafoutis|homemade ramen broth|a beetroot hummus|"
            "crispy smashed potatoes|a strawberry pavlova|black bean tacos|a saffron paella|"
            "a ginger scallion sauce|overnight oats|a pear and walnut salad|"
            "a coconut dal|pickled red onions|a sheet-pan salmon|a cardamom bun|a leek quiche"
        ).split("|"),
        "actions": (
            "cooked|tested|baked|improvised|meal-prepped|shared|ruined and fixed|perfected|"
            "simplified|doubled|veganised|fermented|grilled|plated|taught"
        ).split("|"),
        "angles": (
            "in twenty minutes|with leftovers|for a dinner party|on a weeknight|"
            "with farmers market produce|for my neighbours|without an oven|"
            "for a picnic|on a camping stove|for meal prep Sunday|with pantry staples|"
            "for a rainy evening|for the holidays|with kids helping|under ten euros"
        ).split("|"),
        "tags": "#homecooking #recipe #mealprep #seasonal #plantbased #foodie".split(),
    },
    "travel": {
        "things": (
            "the night train to Vienna|a ryokan in Kyoto|the ferry to Hydra|"
            "the markets of Marrakech|a hut on the Dolomites trail|street food in Hanoi|"
            "the tiled streets of Lisbon|a bakery in Copenhagen|the coast road in Donegal|"
            "a hostel in Mexico City|the canals of Utrecht|a tea farm in Sri Lanka|"
            "the bus across Patagonia|a rooftop in Istanbul|the fjords near Bergen|"
            "a vineyard in Porto|the old town of Tbilisi|a surf camp in Ericeira|"
            "the temples of Luang Prabang|a rainy week in Edinburgh|the souks of Muscat|"
            "a cabin in Lapland|the islands off Split|a food tour in Oaxaca|"
            "the train through the Swiss Alps|a homestay in Hoi An|the beaches of Zanzibar|"
            "a bike ride around Amsterdam|the hot springs in Iceland|a market in Palermo"
        ).split("|"),
        "actions": (
            "visited|booked|planned|got lost around|photographed|reviewed|budgeted for|"
            "went back to|walked to|filmed|packed light for|wrote about|recommended|"
            "skipped the crowds at|rated"
        ).split("|"),
        "angles": (
            "on a shoestring|in the off season|with a carry-on only|at sunrise|"
            "with my sister|for three days|by train only|during the rainy season|"
            "with a toddler|solo|for a long weekend|without flying|on a work trip|"
            "at night|with friends from school"
        ).split("|"),
        "tags": (
            "#slowtravel #travelguide #wanderlust #trainjourney #budgettravel #solotravel"
        ).split(),
    },
    "fitness": {
        "things": (
            "a 5k training plan|morning mobility drills|a kettlebell circuit|trail running shoes|"
            "a beginner yoga flow|a rest day routine|hill sprints|a pull-up progression|"
            "a stretching routine for desk workers|a swim set|a home workout with a chair|"
            "cold water swimming|a half marathon taper|a pilates class|a climbing session|"
            "a walking challenge|resistance bands|a protein breakfast|a recovery smoothie|"
            "a cycling commute|a balance workout|a sleep routine|a breathwork session|"
            "a posture reset|a jump rope routine|a core workout|a hiking day|"
            "a foam roller routine|a dance cardio class|an hour of bouldering"
        ).split("|"),
        "actions": (
            "started|finished|tracked|recommended|struggled with|shared|modified|"
            "tried|repeated|filmed|built|timed|swapped in|coached|kept up"
        ).split("|"),
        "angles": (
            "before work|in a small flat|after an injury|with no equipment|for beginners|"
            "in the heat|for four weeks|with my partner|on holiday|at lunch|"
            "in the park|during exams|for the first time|every Sunday|with a friend"
        ).split("|"),
        "tags": "#fitness #running #homeworkout #wellness #yoga #movement".split(),
    },
}

_WHEN = (
    "yesterday|last weekend|this morning|on Monday|last month|this spring|in January|"
    "after work|over the holidays|on a Sunday|last summer|tonight|this week|in the autumn|"
    "two days ago"
).split("|")
_FEELINGS = (
    "Honestly one of my favourites.|Not sure I would do it again.|It was cheaper than expected.|"
    "My followers asked for the details.|It took three tries to get right.|"
    "Would recommend to anyone starting out.|The comments were split on this one.|"
    "It rained the whole time, still worth it.|Saving this for later.|"
    "I learned a lot from the mistakes.|Small change, big difference.|"
    "This one surprised me.|Proud of how it turned out.|A total budget win.|"
    "Everyone wanted the link."
).split("|")
_OPENERS = (
    "|Quick one: |PSA: |Update: |Story time: |Real talk: |Okay, so |Little win: |"
    "Thread: |Note to self: "
).split("|")
_FACT_TEMPLATES = [
    "I have loved {thing} since I was a teenager.",
    "My audience trusts me on {thing} more than anything else.",
    "I never post about {thing} without trying it myself first.",
    "I grew up near {place} and still go back {when}.",
    "My go-to recommendation is {thing}, {angle}.",
    "I stopped promoting {thing} after a bad experience {when}.",
]
_REVIEWERS = "Maya|Tom|Priya|Jonas|Lea|Omar|Sofia|Ken".split("|")
_DECISIONS = [
    "approved the post about {thing} and asked for more like it",
    "rejected the caption on {thing}: too salesy",
    "edited the post on {thing} to remove a brand name",
    "sent back the draft about {thing} asking for a personal angle",
    "flagged the post on {thing} for a missing sponsorship disclosure",
    "approved the reel about {thing} {angle}",
]
_QUERY_TEMPLATES = [
    "what did I post about {thing}",
    "{thing} {angle}",
    "ideas for {thing} {angle}",
    "have I already written about {thing}",
    "my experience with {thing}",
    "feedback from reviewers on {thing}",
    "something {angle} like {thing}",
    "tips on {thing}",
]


def _post(rng: random.Random) -> str:
    topic = _TOPICS[rng.choice(list(_TOPICS))]
    opener = rng.choice(_OPENERS)
    when = rng.choice(_WHEN)
    if not opener:
        when = when[0].upper() + when[1:]
    text = (
        f"{opener}{when} I "
        f"{rng.choice(topic['actions'])} {rng.choice(topic['things'])} "
        f"{rng.choice(topic['angles'])}. {rng.choice(_FEELINGS)}"
    )
    if rng.random() < 0.6:
        text += " " + " ".join(rng.sample(topic["tags"], 2))
    return text


def _fact(rng: random.Random) -> str:
    topic = _TOPICS[rng.choice(list(_TOPICS))]
    template = rng.choice(_FACT_TEMPLATES)
    return template.format(
        thing=rng.choice(topic["things"]),
        place=rng.choice(_TOPICS["travel"]["things"]),
        when=rng.choice(_WHEN),
        angle=rng.choice(topic["angles"]),
    )


def _interaction(rng: random.Random) -> str:
    topic = _TOPICS[rng.choice(list(_TOPICS))]
    decision = rng.choice(_DECISIONS).format(
        thing=rng.choice(topic["things"]), angle=rng.choice(topic["angles"])
    )
    return f"{rng.choice(_REVIEWERS)} {decision} ({rng.choice(_WHEN)})."


# Kinds of memory, their namespace leaf and their share of a persona's memories.
KINDS: list[tuple[str, Callable[[random.Random], str], float]] = [
    ("posts", _post, 0.80),
    ("facts", _fact, 0.05),
    ("interactions", _interaction, 0.15),
]


def memories(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` distinct ``(kind, text)`` pairs; kind is a namespace leaf (posts, facts, ...)."""
    return list(_distinct(_memory_stream(seed), n))


def queries(n: int, seed: int = 1) -> list[str]:
    """``n`` distinct search queries in the memories' vocabulary."""

    def stream() -> Iterator[str]:
        rng = random.Random(seed)
        while True:
            topic = _TOPICS[rng.choice(list(_TOPICS))]
            yield rng.choice(_QUERY_TEMPLATES).format(
                thing=rng.choice(topic["things"]), angle=rng.choice(topic["angles"])
            )

    return list(_distinct(stream(), n))


def short_texts(n: int, seed: int = 2) -> list[str]:
    """Short texts (about 5 to 12 words), like search queries and captions."""
    return queries(n, seed=seed)


def long_texts(n: int, seed: int = 3) -> list[str]:
    """Long texts (about 150 to 200 words, near the model's 256-token cut), like articles."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts: list[str] = []
        while sum(len(p.split()) for p in parts) < 150:
            parts.append(_post(rng))
        out.append(" ".join(parts))
    return out


def _memory_stream(seed: int) -> Iterator[tuple[str, str]]:
    rng = random.Random(seed)
    kinds = [k for k, _, _ in KINDS]
    makers = {k: make for k, make, _ in KINDS}
    weights = [w for _, _, w in KINDS]
    while True:
        kind = rng.choices(kinds, weights)[0]
        yield kind, makers[kind](rng)


def _distinct(stream: Iterator, n: int) -> Iterator:
    seen: set = set()
    misses = 0
    if n <= 0:
        return
    for item in stream:
        text = item[1] if isinstance(item, tuple) else item
        if text in seen:
            misses += 1
            if misses > 50 * (n + 100):
                raise ValueError(f"the vocabulary cannot make {n} distinct texts")
            continue
        seen.add(text)
        yield item
        if len(seen) >= n:
            return
