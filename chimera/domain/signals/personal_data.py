"""Personal data in a draft: phone numbers (``phonenumbers``, the port of Google's
libphonenumber), email addresses and street addresses. A post that doxxes someone, or
the persona, goes to a human whatever its score."""

from __future__ import annotations

import re

import phonenumbers

from chimera.domain.signals.detection import Detection, detection

PERSONAL_DATA_FLAG = "personal_data"
# Regions whose national formats are read without a +country code (the personas post
# from the US and Spain; "+44 20 7946 0958" is found from any region).
PHONE_REGIONS = ("US", "GB", "ES")
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b")
_STREET = re.compile(
    r"\b\d{1,5}\s+(?:[NSEW]\.?\s+)?(?:[A-Z][a-z]+\.?\s+){1,3}"
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|"
    r"Terrace|Parkway|Pkwy|Highway|Hwy)\b\.?"
    r"(?:,?\s+(?:Apt|Apartment|Unit|Suite|#)\s*\w+)?",
)


def phone_numbers(text: str) -> list[str]:
    found: dict[str, None] = {}
    for region in PHONE_REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(text, region):
            found[match.raw_string] = None
    return list(found)


def personal_data_findings(text: str) -> list[str]:
    """Each finding as 'kind: value' (the value is shown to the reviewer, not published)."""
    findings = [f"phone number {p!r}" for p in phone_numbers(text)]
    findings += [f"email address {m.group(0)!r}" for m in _EMAIL.finditer(text)]
    findings += [f"street address {m.group(0)!r}" for m in _STREET.finditer(text)]
    return findings


def personal_data_signal(draft: str) -> Detection:
    findings = personal_data_findings(draft)
    if findings:
        return detection(
            "personal_data",
            0.0,
            [f"personal data: {', '.join(findings)}"],
            [PERSONAL_DATA_FLAG],
        )
    return detection("personal_data", 1.0, ["no phone number, email or street address"])
