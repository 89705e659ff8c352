from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from pdmail.timestamps import parse_date, parse_timestamp

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc


def _fixed(hours: float) -> timezone:
    return timezone(timedelta(hours=hours))


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        # Google Sheets, en_US display: month first.
        ("12/3/2026 8:14:22", NY, datetime(2026, 12, 3, 8, 14, 22, tzinfo=NY)),
        ("12/3/2026 8:14", NY, datetime(2026, 12, 3, 8, 14, tzinfo=NY)),
        ("1/15/2026 17:05:09", BERLIN, datetime(2026, 1, 15, 17, 5, 9, tzinfo=BERLIN)),
        ("  12/3/2026 8:14:22  ", NY, datetime(2026, 12, 3, 8, 14, 22, tzinfo=NY)),
        # Google Forms CSV download: AM/PM and a zone suffix; GMT offsets win over tz.
        (
            "2026/12/03 8:14:22 AM GMT-5",
            BERLIN,
            datetime(2026, 12, 3, 8, 14, 22, tzinfo=_fixed(-5)),
        ),
        ("2026/12/03 8:14:22 PM GMT+1", NY, datetime(2026, 12, 3, 20, 14, 22, tzinfo=_fixed(1))),
        ("2026/12/03 12:00:00 AM GMT+1", NY, datetime(2026, 12, 3, 0, 0, 0, tzinfo=_fixed(1))),
        ("2026/12/03 12:30:00 PM GMT+1", NY, datetime(2026, 12, 3, 12, 30, 0, tzinfo=_fixed(1))),
        (
            "2026/12/03 8:14:22 AM GMT+05:30",
            NY,
            datetime(2026, 12, 3, 8, 14, 22, tzinfo=_fixed(5.5)),
        ),
        (
            "2026/12/03 8:14:22 AM GMT-03:30",
            NY,
            datetime(2026, 12, 3, 8, 14, 22, tzinfo=_fixed(-3.5)),
        ),
        ("2026/12/03 8:14:22 AM UTC+2", NY, datetime(2026, 12, 3, 8, 14, 22, tzinfo=_fixed(2))),
        ("2026/12/03 8:14:22 AM GMT", NY, datetime(2026, 12, 3, 8, 14, 22, tzinfo=UTC)),
        # A bare abbreviation is ambiguous, so the configured zone is used instead.
        ("2026/12/03 8:14:22 AM EST", BERLIN, datetime(2026, 12, 3, 8, 14, 22, tzinfo=BERLIN)),
        ("2026/12/03 8:14:22 PM CST", NY, datetime(2026, 12, 3, 20, 14, 22, tzinfo=NY)),
        ("2026/12/03 8:14:22 AM PST", NY, datetime(2026, 12, 3, 8, 14, 22, tzinfo=NY)),
        ("2026/12/03 8:14:22 AM CET", NY, datetime(2026, 12, 3, 8, 14, 22, tzinfo=NY)),
        # ISO 8601.
        ("2026-12-03 08:14:22", NY, datetime(2026, 12, 3, 8, 14, 22, tzinfo=NY)),
        ("2026-12-03T08:14:22", NY, datetime(2026, 12, 3, 8, 14, 22, tzinfo=NY)),
        ("2026-12-03T08:14", NY, datetime(2026, 12, 3, 8, 14, tzinfo=NY)),
        ("2026-12-03T08:14:22.5", NY, datetime(2026, 12, 3, 8, 14, 22, 500000, tzinfo=NY)),
        (
            "2026-12-03 08:14:22.123456789",
            NY,
            datetime(2026, 12, 3, 8, 14, 22, 123456, tzinfo=NY),
        ),
        ("2026-12-03T08:14:22Z", NY, datetime(2026, 12, 3, 8, 14, 22, tzinfo=UTC)),
        ("2026-12-03T08:14:22.250Z", NY, datetime(2026, 12, 3, 8, 14, 22, 250000, tzinfo=UTC)),
        ("2026-12-03T08:14:22+01:00", NY, datetime(2026, 12, 3, 8, 14, 22, tzinfo=_fixed(1))),
        ("2026-12-03T08:14:22-0430", NY, datetime(2026, 12, 3, 8, 14, 22, tzinfo=_fixed(-4.5))),
        # Microsoft Forms: two-digit year, or AM/PM.
        ("12/3/26 8:14:22", NY, datetime(2026, 12, 3, 8, 14, 22, tzinfo=NY)),
        ("12/3/26 20:14", NY, datetime(2026, 12, 3, 20, 14, tzinfo=NY)),
        ("12/3/2026 8:14:22 AM", NY, datetime(2026, 12, 3, 8, 14, 22, tzinfo=NY)),
        ("12/3/2026 8:14:22 PM", NY, datetime(2026, 12, 3, 20, 14, 22, tzinfo=NY)),
        ("12/3/2026 8:14:22 pm", NY, datetime(2026, 12, 3, 20, 14, 22, tzinfo=NY)),
        ("12/3/2026 12:05:00 AM", NY, datetime(2026, 12, 3, 0, 5, tzinfo=NY)),
        # A date alone is midnight in the configured zone.
        ("2026-12-03", NY, datetime(2026, 12, 3, tzinfo=NY)),
        ("12/3/2026", BERLIN, datetime(2026, 12, 3, tzinfo=BERLIN)),
        # Summer time: the configured zone supplies the summer offset.
        ("7/1/2026 9:00:00", NY, datetime(2026, 7, 1, 9, tzinfo=NY)),
    ],
)
def test_parse_timestamp_accepted_forms(text: str, tz: ZoneInfo, expected: datetime) -> None:
    result = parse_timestamp(text, tz)
    assert result.tzinfo is not None
    assert result == expected
    assert result.utcoffset() == expected.utcoffset()


def test_configured_zone_is_attached_not_converted() -> None:
    result = parse_timestamp("7/1/2026 9:00:00", NY)
    assert result.tzinfo is NY
    assert result.utcoffset() == timedelta(hours=-4)


def test_explicit_offset_is_kept_not_converted_to_tz() -> None:
    result = parse_timestamp("2026/12/03 8:14:22 PM GMT+1", NY)
    assert result.hour == 20
    assert result.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize(
    ("text", "tz"),
    [
        # Spring forward: 2:30 does not exist in New York on 8 March 2026.
        ("3/8/2026 2:30:00", NY),
        # Fall back: 1:30 happens twice on 1 November 2026.
        ("11/1/2026 1:30:00", NY),
        ("2026-03-29 02:30:00", BERLIN),
    ],
)
def test_dst_edges_keep_the_wall_time(text: str, tz: ZoneInfo) -> None:
    result = parse_timestamp(text, tz)
    assert result.tzinfo is tz
    assert result.utcoffset() is not None
    naive = datetime.strptime(text, "%m/%d/%Y %H:%M:%S" if "/" in text else "%Y-%m-%d %H:%M:%S")
    assert result.replace(tzinfo=None) == naive


@pytest.mark.parametrize(
    ("text", "fmt", "expected"),
    [
        ("3/12/2026 08:00:00", "%d/%m/%Y %H:%M:%S", datetime(2026, 12, 3, 8, tzinfo=NY)),
        ("03.12.2026 08:00", "%d.%m.%Y %H:%M", datetime(2026, 12, 3, 8, tzinfo=NY)),
        (
            "2026-12-03 08:00:00 +0100",
            "%Y-%m-%d %H:%M:%S %z",
            datetime(2026, 12, 3, 8, tzinfo=_fixed(1)),
        ),
    ],
)
def test_explicit_format_is_used(text: str, fmt: str, expected: datetime) -> None:
    result = parse_timestamp(text, NY, fmt=fmt)
    assert result == expected
    assert result.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    "text",
    [
        # Forms the default parser would accept are refused when they do not fit the format.
        "12/3/2026 8:14:22 AM",
        "2026-12-03 08:14:22",
        "2026-12-03",
    ],
)
def test_explicit_format_is_used_exclusively(text: str) -> None:
    with pytest.raises(ValueError, match="%d/%m/%Y %H:%M:%S"):
        parse_timestamp(text, NY, fmt="%d/%m/%Y %H:%M:%S")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "yesterday",
        "3 December 2026",
        "12-3/2026 8:14",
        "12.3-2026",
        "2026/12-03 8:14",
        "12/3/2026 8",
        "12/3/2026 8:14:22 AM PM",
        "12/3/2026 8:14:22 est",
        "12/3/2026 8:14:22 AM Europe/Berlin",
        "46000.35",
        "2026-12-03 08:14:22 +",
    ],
)
def test_unreadable_text_raises_with_examples(text: str) -> None:
    with pytest.raises(ValueError, match=r"2026-12-03 08:14:22"):
        parse_timestamp(text, NY)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("13/12/2026 8:14:22", "month first"),
        ("2/30/2026 8:14:22", "month first"),
        ("2026-02-30 08:00:00", "day is out of range"),
        ("12/3/2026 25:00", "hour"),
        ("12/3/2026 13:00 PM", "AM/PM"),
        ("12/3/2026 0:30 AM", "AM/PM"),
        ("12/3/2026 8:61", "minute"),
        ("2026-12-03T08:14:22+25:00", "offset"),
        ("2026/12/03 8:14:22 AM GMT+5:75", "offset"),
    ],
)
def test_impossible_values_raise(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as caught:
        parse_timestamp(text, NY)
    assert repr(text) in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-03", date(2026, 12, 3)),
        (" 2026-01-31 ", date(2026, 1, 31)),
        ("2028-02-29", date(2028, 2, 29)),
    ],
)
def test_parse_date(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("12/3/2026", "YYYY-MM-DD"),
        ("2026-12-03 08:00", "YYYY-MM-DD"),
        ("", "YYYY-MM-DD"),
        ("december", "YYYY-MM-DD"),
        ("2026-02-29", "not a real date"),
        ("2026-13-01", "not a real date"),
    ],
)
def test_parse_date_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_date(text)
