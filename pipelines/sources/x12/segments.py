"""A small, strict X12 segment reader: delimiters from each ISA header, segment positions kept.

pyx12 4.0 was measured against this reader (docs/x12.md "## X12"): it is loop-aware and validates,
but it is several times slower and needs a full envelope, so it is used for validation only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

ISA_ELEMENT_COUNT = 16
DEFAULT_COMPONENT = ":"
_TAG = re.compile(r"^[A-Z][A-Z0-9]{1,2}$")
_D8 = re.compile(r"^\d{8}$")
_CENT = Decimal("0.01")
_STRAY_COMPOSITE = re.compile(r"^[A-Z0-9]{1,3}([:><^|])[A-Z0-9]")

_BLANK = " \t\r\n"

REJECTED_COLUMNS = ("source_row", "reason", "column_name", "raw_record")


@dataclass(frozen=True)
class Delimiters:
    """Separators of one interchange (ISA char 4, ISA16, the character after ISA16)."""

    element: str = "*"
    component: str = DEFAULT_COMPONENT
    segment: str = "~"
    repetition: str | None = None


class Segment:
    """One segment: 1-based position in the file, tag, elements (index 1 = first element)."""

    __slots__ = ("delimiters", "elements", "position", "raw", "tag")

    def __init__(
        self, position: int, elements: tuple[str, ...], raw: str, delimiters: Delimiters
    ) -> None:
        self.position = position
        self.elements = elements
        self.raw = raw
        self.delimiters = delimiters
        self.tag = elements[0]

    def get(self, index: int) -> str | None:
        """Element `index` (1-based) stripped, or None when absent or empty."""
        if index >= len(self.elements):
            return None
        value = self.elements[index].strip()
        return value or None

    def components(self, index: int) -> list[str]:
        """Components of a composite element (empty list when absent)."""
        value = self.get(index)
        if value is None:
            return []
        separator = self.delimiters.component
        if separator not in value:
            # Seen in public samples: ISA16 declares ':' while SVC01 is written 'HC>12345>26'
            # and the SV107 pointers '1>2'.
            stray = _STRAY_COMPOSITE.match(value)
            separator = stray.group(1) if stray else separator
        return [c.strip() for c in value.split(separator)]


@dataclass
class Rejection:
    """A segment, loop or file that cannot be used, with its position and reason."""

    source_row: int
    reason: str
    column_name: str | None
    raw_record: str


class SegmentStream:
    """Segments of one file, read lazily, plus the structural problems found while splitting.

    `rejected`, `truncated_at` and `segments_read` are complete once the iteration has ended.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.rejected: list[Rejection] = []
        self.truncated_at: int | None = None
        self.segments_read = 0

    def __iter__(self) -> Iterator[Segment]:
        """Yield segments in file order; unclosed envelopes are flagged at the end."""
        open_st: Segment | None = None
        open_isa: Segment | None = None
        last: Segment | None = None
        for segment in _split(self.text, self):
            self.segments_read += 1
            last = segment
            tag = segment.tag
            if tag == "ISA":
                open_isa = segment
            elif tag == "IEA":
                open_isa = None
            elif tag == "ST":
                open_st = segment
            elif tag == "SE":
                open_st = None
            yield segment
        if self.truncated_at is None and last is not None and (open_st or open_isa):
            # A file whose last ST or ISA is never closed by SE or IEA was cut short.
            self.truncated_at = last.position
            self.rejected.append(Rejection(last.position, "truncated_file", None, last.raw[:500]))


def text_encoding(head: bytes) -> str:
    """Encoding from a file's first bytes: a UTF-16 BOM (LE or BE), the NUL pattern of UTF-16
    text without one, else UTF-8 (a UTF-8 BOM is dropped).

    Windows tools save "Unicode" text as UTF-16 LE with a BOM; the X12 inside is still ASCII.
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if len(head) >= 4 and head[1] == head[3] == 0 and head[0] and head[2]:
        return "utf-16-le"
    if len(head) >= 4 and head[0] == head[2] == 0 and head[1] and head[3]:
        return "utf-16-be"
    return "utf-8-sig"


def decode_text(data: bytes) -> str:
    """Bytes as text (`text_encoding`); a stray byte is kept (latin-1) or replaced (UTF-16)."""
    encoding = text_encoding(data[:4])
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        if encoding.startswith("utf-16"):
            return data.decode(encoding, errors="replace")
        return data.decode("latin-1")


def read_text(path: Path) -> str:
    """File text in its encoding: UTF-8 with or without BOM, UTF-16 LE or BE."""
    return decode_text(path.read_bytes())


def looks_like_x12(path: Path) -> bool:
    """True when the file content starts (after whitespace) with ISA, or GS/ST plus a separator."""
    with path.open("rb") as handle:
        head = handle.read(512)
    return _envelope_start(decode_text(head).lstrip("\ufeff \t\r\n")) is not None


def _envelope_start(text: str) -> str | None:
    if text.startswith("ISA") and len(text) > 3 and not text[3].isalnum():
        return "ISA"
    for tag in ("GS", "ST"):
        if text.startswith(tag) and len(text) > 2 and not text[2].isalnum() and text[2] != " ":
            return tag
    return None


def _isa_delimiters(text: str, start: int) -> tuple[Delimiters, int] | None:
    """Delimiters of the ISA at `start` and the index just after its terminator."""
    if len(text) <= start + 3:
        return None
    element = text[start + 3]
    index = start + 3
    for _ in range(ISA_ELEMENT_COUNT - 1):
        index = text.find(element, index + 1)
        if index < 0:
            return None
    # ISA16 is the one character after the 16th separator; the segment terminator follows it.
    if index + 2 >= len(text):
        return None
    component = text[index + 1]
    terminator = text[index + 2]
    if not terminator or terminator.isalnum() or terminator in (element, component):
        return None
    isa_elements = text[start:index].split(element)
    repetition = isa_elements[11] if len(isa_elements) > 11 else None
    if repetition is not None and (len(repetition) != 1 or repetition.isalnum()):
        repetition = None
    return Delimiters(element, component, terminator, repetition), index + 3


def _guess_delimiters(text: str, start: int) -> Delimiters:
    """Delimiters of a file without ISA (a bare GS or ST): element from char 3, '~' or newline."""
    element = text[start + 2]
    terminator = "~" if "~" in text else "\n"
    return Delimiters(element, DEFAULT_COMPONENT, terminator, None)


def split_segments(text: str) -> SegmentStream:
    """A lazy segment stream over the file text."""
    return SegmentStream(text)


def _split(text: str, stream: SegmentStream) -> Iterator[Segment]:
    """Split text into segments, re-reading delimiters at every ISA; record junk and truncation."""
    text = text.lstrip("\ufeff")
    offset = len(text) - len(text.lstrip(_BLANK))
    if offset >= len(text):
        stream.rejected.append(Rejection(1, "not_x12", None, ""))
        return
    position = 0
    delimiters: Delimiters | None = None
    while True:
        if text.startswith("ISA", offset):
            found = _isa_delimiters(text, offset)
            if found is None:
                stream.rejected.append(
                    Rejection(position + 1, "truncated_file", None, text[offset : offset + 120])
                )
                stream.truncated_at = position + 1
                return
            delimiters = found[0]
        elif delimiters is None:
            if _envelope_start(text[offset : offset + 8]) is None:
                stream.rejected.append(Rejection(1, "not_x12", None, text[offset : offset + 120]))
                return
            delimiters = _guess_delimiters(text, offset)
        # One str.split per interchange run; re-split only where a later ISA changes delimiters.
        pieces = text[offset:].split(delimiters.segment)
        last = len(pieces) - 1
        consumed = offset
        restart: int | None = None
        for index, piece in enumerate(pieces):
            piece_start = consumed
            consumed += len(piece) + 1
            raw = piece.strip(_BLANK)
            if not raw:
                continue
            if index > 0 and raw.startswith("ISA"):
                isa_at = piece_start + len(piece) - len(piece.lstrip(_BLANK))
                found = _isa_delimiters(text, isa_at)
                if found is None or found[0] != delimiters:
                    restart = isa_at
                    break
            position += 1
            elements = raw.split(delimiters.element)
            tag = elements[0].strip()
            if not _TAG.match(tag):
                stream.rejected.append(Rejection(position, "unparsable_segment", None, raw[:500]))
                continue
            elements[0] = tag
            if index == last and tag not in ("IEA", "SE", "GE"):
                # The last segment ran into the end of the file without a terminator: cut mid-way.
                stream.truncated_at = position
                stream.rejected.append(Rejection(position, "truncated_file", None, raw[:500]))
                return
            yield Segment(position, tuple(elements), raw, delimiters)
        if restart is None:
            return
        offset = restart


def iso_date(value: str | None) -> str | None:
    """CCYYMMDD (or the start of an RD8 range) as YYYY-MM-DD; other text is passed on unchanged."""
    if value is None:
        return None
    value = value.strip()
    if "-" in value and len(value) == 17:
        value = value[:8]
    if _D8.match(value):
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value or None


def parse_decimal(value: str | None) -> Decimal | None:
    """A decimal from an X12 R element, None when absent or not a number."""
    if value is None:
        return None
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def money(value: str | None) -> str | None:
    """Amount as '123.45' (the flat contract's decimal text); non-numbers pass through unchanged."""
    number = parse_decimal(value)
    if number is None:
        return value.strip() or None if value is not None else None
    return format_money(number)


def format_money(number: Decimal) -> str:
    """Decimal rounded to cents as plain text."""
    text = f"{number.quantize(_CENT):f}"
    return "0.00" if text == "-0.00" else text


def quantity(value: str | None) -> str | None:
    """A number without trailing zeros ('1.00' → '1'); non-numbers pass through unchanged."""
    number = parse_decimal(value)
    if number is None:
        return value.strip() or None if value is not None else None
    text = f"{number.normalize():f}"
    return text
