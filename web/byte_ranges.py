"""HTTP byte ranges (RFC 9110 §14) for one resource of known size: one range or the whole.

`requested_range(header, size)` answers what to send: None (the whole, 200), a `ByteRange`
(206), or raises `Unsatisfiable` (416). A Range in another unit, or asking for several
ranges at once, is ignored (the whole is sent), as the RFC allows; a malformed or
unsatisfiable byte range is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ONE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


@dataclass(frozen=True, slots=True)
class ByteRange:
    first: int
    last: int  # inclusive

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.first}-{self.last}/{size}"


class Unsatisfiable(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"bytes */{size}")
        self.content_range = f"bytes */{size}"


def requested_range(header: str | None, size: int) -> ByteRange | None:
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None
    if "," in spec:
        return None
    match = _ONE.match(spec)
    if match is None:
        raise Unsatisfiable(size)
    first, last = match.groups()
    if not first and not last:
        raise Unsatisfiable(size)
    if not first:  # a suffix: the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable(size)
        return ByteRange(max(size - suffix, 0), size - 1)
    start = int(first)
    end = size - 1 if not last else min(int(last), size - 1)
    if start >= size or (last and int(last) < start):
        raise Unsatisfiable(size)
    return ByteRange(start, end)
