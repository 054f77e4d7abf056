"""Patient identifiers out of raw X12 text kept for quarantined segments (like the CSV path).

Names, birth dates, addresses and phone numbers are withheld; patient and subscriber ids
(NM109 of a patient or subscriber, REF member/record numbers) become the installation's keyed
hash, so an analyst can still tell two rows of one patient apart. Payer and provider segments
keep their ids (an NPI or a payer id is not a patient identifier).
"""

from __future__ import annotations

import re
from collections.abc import Callable

WITHHELD = "[withheld]"
# NM101 entity codes of a person whose data is PHI: insured/subscriber, patient, corrected insured.
PERSON_ENTITIES = frozenset({"IL", "QC", "74", "QD"})
# REF01 qualifiers carrying a patient's identifier: SSN, member id, medical record, HIC number,
# policy number, prior identifier, patient account.
PERSON_REFERENCES = frozenset({"SY", "1W", "EA", "F6", "IG", "0F", "Y4", "HJ", "1L", "SM"})
_TERMINATOR = re.compile(r"(~\s*|\r?\n)")


def _redact_segment(segment: str, separator: str, hash_id: Callable[[str], str]) -> str:
    elements = segment.split(separator)
    tag = elements[0].strip()

    def withhold(indexes: range) -> None:
        for index in indexes:
            if index < len(elements) and elements[index]:
                elements[index] = WITHHELD

    if tag == "NM1" and len(elements) > 1 and elements[1] in PERSON_ENTITIES:
        withhold(range(3, 8))
        if len(elements) > 9 and elements[9]:
            elements[9] = "key:" + hash_id(elements[9])
    elif tag == "DMG":
        withhold(range(2, 3))
    elif tag in ("N3", "N4", "PER"):
        withhold(range(1, len(elements)))
    elif tag == "REF" and len(elements) > 2 and elements[1] in PERSON_REFERENCES:
        elements[2] = "key:" + hash_id(elements[2])
    return separator.join(elements)


def redact_x12_text(text: str | None, hash_id: Callable[[str], str]) -> str | None:
    """The text with every segment's patient identifiers withheld or hashed."""
    if not text:
        return text
    separator = text[3] if text.startswith("ISA") and len(text) > 3 else "*"
    parts = _TERMINATOR.split(text)
    return "".join(
        part if index % 2 else _redact_segment(part, separator, hash_id)
        for index, part in enumerate(parts)
    )
