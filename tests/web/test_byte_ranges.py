"""Byte ranges (RFC 9110 §14) for the recording player: what to send for each Range header."""

import pytest

from web.byte_ranges import ByteRange, Unsatisfiable, requested_range

SIZE = 1000


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("items=0-5", None),  # another unit: ignored
        ("bytes=0-1,5-9", None),  # several ranges: ignored, the whole is sent
        ("bytes=0-0", ByteRange(0, 0)),
        ("bytes=0-", ByteRange(0, 999)),
        ("bytes=10-19", ByteRange(10, 19)),
        ("bytes=990-5000", ByteRange(990, 999)),  # a last byte past the end is the end
        ("bytes=-10", ByteRange(990, 999)),
        ("bytes=-5000", ByteRange(0, 999)),
        (" bytes = 5 - 6 ", ByteRange(5, 6)),
    ],
)
def test_ranges_that_can_be_served(header, expected):
    assert requested_range(header, SIZE) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=2000-3000", "bytes=-0", "bytes=9-5", "bytes=-", "bytes=x-1",
                                    "bytes=1-2-3"])
def test_ranges_that_cannot_be_served_are_refused(header):
    with pytest.raises(Unsatisfiable) as refused:
        requested_range(header, SIZE)
    assert refused.value.content_range == "bytes */1000"


def test_nothing_of_an_empty_file_can_be_asked_for():
    with pytest.raises(Unsatisfiable):
        requested_range("bytes=-1", 0)
    with pytest.raises(Unsatisfiable):
        requested_range("bytes=0-", 0)


def test_a_range_says_its_length_and_content_range():
    part = ByteRange(100, 199)
    assert (part.length, part.content_range(SIZE)) == (100, "bytes 100-199/1000")
