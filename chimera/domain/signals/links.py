"""Links in a draft: a post may point only at domains the operator trusts. Link
shorteners hide where they go, and are never trusted."""

from __future__ import annotations

import re
from collections.abc import Iterable

from chimera.domain.signals.detection import Detection, detection

LINK_FLAG = "policy:unknown_link"
# Trusted by default: reference and public-interest sites (subdomains included).
TRUSTED_DOMAINS = frozenset(
    {"wikipedia.org", "gov", "edu", "who.int", "un.org", "europa.eu", "epa.gov", "usda.gov"}
)
SHORTENERS = frozenset(
    {"bit.ly", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "is.gd", "buff.ly", "cutt.ly", "rb.gy"}
)
_LINK = re.compile(
    r"\b(?:https?://|www\.)[^\s<>\"')\]]+|"
    r"(?<![@\w.])(?:[a-z0-9-]+\.)+(?:com|net|org|io|co|ly|shop|store|xyz|info|biz|app|me|gg|link|"
    r"click|top|site|online|ru|cn|tk|live|win|club|vip|buzz|work|shop|today|info|es|uk|us|"
    r"ly|to|tv|fm|page|store|deals|sale|bio|link)\b(?:/[^\s<>\"')\]]*)?",
    re.IGNORECASE,
)


def link_domain(link: str) -> str:
    host = re.sub(r"^(?:https?://)?", "", link, flags=re.I).split("/")[0].split(":")[0]
    return host.lower().removeprefix("www.").rstrip(".")


def is_trusted(domain: str, trusted: Iterable[str]) -> bool:
    return any(domain == t or domain.endswith("." + t) for t in trusted)


def links_signal(draft: str, trusted: Iterable[str] = TRUSTED_DOMAINS) -> Detection:
    trusted = frozenset(trusted)
    domains = list(dict.fromkeys(link_domain(m.group(0)) for m in _LINK.finditer(draft)))
    if not domains:
        return detection("links", 1.0, ["no links"])
    unknown = [d for d in domains if d in SHORTENERS or not is_trusted(d, trusted)]
    if unknown:
        return detection(
            "links",
            0.0,
            [f"links to domains nobody vetted: {', '.join(unknown)}"],
            [LINK_FLAG],
        )
    return detection("links", 1.0, [f"links only to trusted domains: {', '.join(domains)}"])
