from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pdmail.sources.timestamps import (
    ColumnTimes,
    OrderConflict,
    OrderMismatch,
    date_order,
    locale_order,
    parse_date,
    parse_timestamp,
    read_column,
)

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
        "3rd December 2026",
        "Thursday 3 December",
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


# -- day first or month first ----------------------------------------------------------------

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        # 3 December 2026 as day-first locales write it.
        ("03/12/2026", "dmy", datetime(2026, 12, 3)),
        ("3/12/2026 08:14", "dmy", datetime(2026, 12, 3, 8, 14)),
        ("03/12/2026 08:14:22", "day-first", datetime(2026, 12, 3, 8, 14, 22)),
        ("3.12.2026 08:14", "dmy", datetime(2026, 12, 3, 8, 14)),  # de_DE
        ("03.12.2026 8:14:22", "dmy", datetime(2026, 12, 3, 8, 14, 22)),
        ("03-12-2026 08:14:22", "dmy", datetime(2026, 12, 3, 8, 14, 22)),  # nl_NL
        ("3/12/26 8:14 PM", "dmy", datetime(2026, 12, 3, 20, 14)),
        ("03/12/26 12:05:00 am", "dmy", datetime(2026, 12, 3, 0, 5)),
        ("3.12.2026.", "dmy", datetime(2026, 12, 3)),
        # The same day month first.
        ("12/03/2026", "mdy", datetime(2026, 12, 3)),
        ("12/3/2026, 8:14:22 AM", "month-first", datetime(2026, 12, 3, 8, 14, 22)),
        ("12-03-26 08:14", "mdy", datetime(2026, 12, 3, 8, 14)),
        ("12.3.2026 8:14", "MDY", datetime(2026, 12, 3, 8, 14)),
        # Two-digit years first, when the config says so.
        ("26/12/03 08:14", "ymd", datetime(2026, 12, 3, 8, 14)),
        ("26-12-03", "year first", datetime(2026, 12, 3)),
        # A four-digit year first is year, month, day whatever the order.
        ("2026/12/03 8:14:22 AM", "dmy", datetime(2026, 12, 3, 8, 14, 22)),
        ("2026.12.03 08:14", "mdy", datetime(2026, 12, 3, 8, 14)),
        ("2026-12-03", "ymd", datetime(2026, 12, 3)),
        # A month written as a word needs no order.
        ("3 December 2026", "mdy", datetime(2026, 12, 3)),
        ("3 Dec 2026 8:14", "mdy", datetime(2026, 12, 3, 8, 14)),
        ("03-Dec-26", "dmy", datetime(2026, 12, 3)),
        ("December 3, 2026 8:14 PM", "dmy", datetime(2026, 12, 3, 20, 14)),
        ("Sept 3 2026", "mdy", datetime(2026, 9, 3)),
        # Zero-width and no-break spaces from a copy and paste.
        ("\u200b03/12/2026\u00a008:14 ", "dmy", datetime(2026, 12, 3, 8, 14)),
        ("\u200f03/12/2026 08:14\u200e", "dmy", datetime(2026, 12, 3, 8, 14)),
        ("\uff10\uff13/12/2026 08:14", "dmy", datetime(2026, 12, 3, 8, 14)),  # full-width
    ],
)
def test_an_order_reads_every_layout(text: str, order: str, expected: datetime) -> None:
    assert parse_timestamp(text, LONDON, order=order) == expected.replace(tzinfo=LONDON)


@pytest.mark.parametrize(
    ("text", "order", "fragment"),
    [
        ("25/11/2026 9:00", "mdy", "read month first"),
        ("11/25/2026 9:00", "dmy", "read day first"),
        ("31/11/2026", "dmy", "day is out of range"),
        ("03/12/2026", "ymd", "year is written last"),
        ("13/13/2026", "dmy", "month must be in 1..12"),
        ("3 Dezember 2026", "dmy", "'Dezember' is not a month"),
        ("31 Nov 2026", "dmy", "day is out of range"),
    ],
)
def test_a_date_that_does_not_fit_the_order_says_which_order_and_key(
    text: str, order: str, fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment) as caught:
        parse_timestamp(text, LONDON, order=order)
    assert repr(text) in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("auto", "auto"),
        ("day-first", "dmy"),
        (" Day_First ", "dmy"),
        ("day first", "dmy"),
        ("DMY", "dmy"),
        ("month-first", "mdy"),
        ("mdy", "mdy"),
        ("year-first", "ymd"),
        ("ymd", "ymd"),
        ("dd/mm/yyyy", "dmy"),
        ("DD.MM.YY", "dmy"),
        ("MM/DD/YYYY", "mdy"),
        ("yyyy-mm-dd", "ymd"),
        ("day/month/year", "dmy"),
    ],
)
def test_date_order_spellings(text: str, expected: str) -> None:
    assert date_order(text) == expected


@pytest.mark.parametrize("text", ["", "dd/yyyy", "european", "dym", "first", "mm/dd/mm"])
def test_an_unknown_date_order_lists_the_choices(text: str) -> None:
    with pytest.raises(ValueError, match=r"day-first \(dmy\), month-first \(mdy\) or year-first"):
        date_order(text)


def test_a_single_timestamp_needs_a_fixed_order() -> None:
    with pytest.raises(ValueError, match="fixed date order"):
        parse_timestamp("03/12/2026", LONDON, order="auto")


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en_US", "mdy"),
        ("es_US", "mdy"),
        ("en_PH", "mdy"),
        ("en", "mdy"),
        ("en_GB", "dmy"),
        ("en_AU", "dmy"),
        ("en_NZ", "dmy"),
        ("en_IE", "dmy"),
        ("en_IN", "dmy"),
        ("de_DE", "dmy"),
        ("de-AT", "dmy"),
        ("fr_FR", "dmy"),
        ("es_MX", "dmy"),
        ("pt_BR", "dmy"),
        ("nl_NL", "dmy"),
        ("it", "dmy"),
        ("en_CA", None),  # Canada writes both
        ("fr_CA", None),
        ("ja_JP", None),  # year first: the four-digit year settles it
        ("zh_CN", None),
        ("ko_KR", None),
        ("hu_HU", None),
        ("sv_SE", None),
        ("", None),
    ],
)
def test_locale_order(locale: str, expected: str | None) -> None:
    assert locale_order(locale) == expected


def _times(column: ColumnTimes) -> list[datetime | None]:
    return [t.replace(tzinfo=None) if isinstance(t, datetime) else None for t in column.times]


@pytest.mark.parametrize(
    ("values", "order", "read", "basis"),
    [
        # One date that can only be day first settles every other row, before or after it.
        (["03/12/2026 9:00", "25/11/2026 9:00"], "dmy", ["2026-12-03", "2026-11-25"],
         "'25/11/2026 9:00' can only be day first"),
        (["25/11/2026 9:00", "03/12/2026 9:00"], "dmy", ["2026-11-25", "2026-12-03"],
         "can only be day first"),
        (["12/3/2026 9:00", "11/25/2026 9:00"], "mdy", ["2026-12-03", "2026-11-25"],
         "'11/25/2026 9:00' can only be month first"),
        # 31/11 is not a real day month first either way round; 30/11 is, day first.
        (["1.12.2026", "30.11.2026"], "dmy", ["2026-12-01", "2026-11-30"], "day first"),
        (["01-12-26 8:00", "13-11-26 8:00"], "dmy", ["2026-12-01", "2026-11-13"], "day first"),
        # Year-first and unreadable values do not take part.
        (["2026/12/03 8:00:00 AM GMT-5", "x", "13/12/2026"], "dmy",
         ["2026-12-03", None, "2026-12-13"], "day first"),
    ],
)  # fmt: skip
def test_the_column_settles_the_order(
    values: list[str], order: str, read: list[str | None], basis: str
) -> None:
    column = read_column(values, LONDON)
    assert column.order == order
    assert basis in column.basis
    assert not column.guessed
    assert [t.date().isoformat() if t else None for t in _times(column)] == read
    assert column.alternatives == (None,) * len(values)


@pytest.mark.parametrize(
    ("values", "first", "second"),
    [
        (["13/12/2026 9:00", "12/13/2026 9:00"], 0, 1),
        (["01/12/2026", "12/25/2026", "25/12/2026"], 2, 1),
        (["3.12.2026", "30.11.2026", "11.30.2026"], 1, 2),
    ],
)
def test_a_column_with_both_kinds_is_a_conflict(values: list[str], first: int, second: int) -> None:
    with pytest.raises(OrderConflict) as caught:
        read_column(values, LONDON)
    assert (caught.value.day_first, caught.value.month_first) == (first, second)


@pytest.mark.parametrize(
    ("order", "locale", "expected", "basis"),
    [
        ("dmy", "", datetime(2026, 12, 3, 9), "form.date_order"),
        ("mdy", "en_GB", datetime(2026, 3, 12, 9), "form.date_order"),  # the config wins
        ("auto", "en_GB", datetime(2026, 12, 3, 9), "the spreadsheet's locale en_GB"),
        ("auto", "de_DE", datetime(2026, 12, 3, 9), "locale de_DE"),
        ("auto", "en_US", datetime(2026, 3, 12, 9), "locale en_US"),
    ],
)
def test_a_configured_or_locale_order_is_not_a_guess(
    order: str, locale: str, expected: datetime, basis: str
) -> None:
    column = read_column(["03/12/2026 9:00", "11/12/2026 9:00"], LONDON, order=order, locale=locale)
    assert _times(column)[0] == expected
    assert basis in column.basis
    assert column.alternatives == (None, None)


def test_a_fixed_order_reports_the_rows_that_do_not_fit_instead_of_a_conflict() -> None:
    values = ["03/12/2026 9:00", "12/25/2026 9:00", "25/11/2026 9:00"]
    column = read_column(values, LONDON, order="day-first")
    assert _times(column) == [datetime(2026, 12, 3, 9), None, datetime(2026, 11, 25, 9)]
    assert isinstance(column.times[1], ValueError)
    assert "read day first" in str(column.times[1])


@pytest.mark.parametrize(
    ("order", "values", "index", "fragment"),
    [
        ("day-first", ["03/12/2026 9:00", "12/25/2026 9:00"], 1,
         "'12/25/2026 9:00' can only be month first, but form.date_order says dates are "
         "written day first"),
        ("mdy", ["25/11/2026", "03/12/2026", "30/11/2026"], 0,
         "'25/11/2026' can only be day first, but form.date_order says dates are written "
         "month first"),
    ],
)  # fmt: skip
def test_a_column_that_only_contradicts_the_configured_order_stops(
    order: str, values: list[str], index: int, fragment: str
) -> None:
    with pytest.raises(OrderMismatch) as caught:
        read_column(values, LONDON, order=order)
    assert caught.value.index == index
    assert fragment in str(caught.value)


def test_an_unsettled_column_is_a_guess_that_keeps_the_other_reading() -> None:
    column = read_column(["03/12/2026 9:00", "12/12/2026 9:00", "2026-12-05 10:00"], LONDON)
    assert column.guessed
    assert column.order == "mdy"
    assert _times(column) == [
        datetime(2026, 3, 12, 9),
        datetime(2026, 12, 12, 9),
        datetime(2026, 12, 5, 10),
    ]
    # 12/12 reads the same both ways round, and an ISO date has no other reading.
    assert column.alternatives == (datetime(2026, 12, 3, 9, tzinfo=LONDON), None, None)


def test_a_timestamp_format_wins_over_everything() -> None:
    column = read_column(
        ["03/12/2026 9:00"], LONDON, order="mdy", locale="en_US", fmt="%d/%m/%Y %H:%M"
    )
    assert _times(column) == [datetime(2026, 12, 3, 9)]
    assert column.alternatives == (None,)


@pytest.mark.parametrize(
    ("locale", "values", "index", "fragment"),
    [
        ("en_GB", ["03/12/2026 9:00", "12/25/2026 9:00"], 1,
         "'12/25/2026 9:00' can only be month first, but the spreadsheet's locale (en_GB) "
         "says dates are written day first"),
        ("en_US", ["25/11/2026 9:00", "12/3/2026 9:00"], 0,
         "'25/11/2026 9:00' can only be day first, but the spreadsheet's locale (en_US)"),
    ],
)  # fmt: skip
def test_a_date_the_sheets_locale_cannot_read_stops_the_column(
    locale: str, values: list[str], index: int, fragment: str
) -> None:
    with pytest.raises(OrderMismatch) as caught:
        read_column(values, LONDON, locale=locale)
    assert caught.value.index == index
    assert fragment in str(caught.value)


def test_a_column_that_agrees_with_the_locale_is_read_by_it() -> None:
    column = read_column(["03/12/2026 9:00", "25/11/2026 9:00"], LONDON, locale="en_GB")
    assert _times(column) == [datetime(2026, 12, 3, 9), datetime(2026, 11, 25, 9)]
    assert "locale en_GB" in column.basis


# -- a property: whatever the export's order, a date is read right or its doubt is kept --------


@st.composite
def exports(draw: st.DrawFn) -> tuple[str, list[datetime], list[str]]:
    """A column as one export writes it: its order, the true moments, and their text."""
    order = draw(st.sampled_from(["dmy", "mdy"]))
    separator = draw(st.sampled_from(["/", ".", "-"]))
    short_year = draw(st.booleans())
    with_time = draw(st.sampled_from(["", "%H:%M", "%H:%M:%S", "%I:%M %p"]))
    moments = draw(
        st.lists(
            st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)).map(
                lambda m: m.replace(microsecond=0)
            ),
            min_size=1,
            max_size=12,
        )
    )
    texts = []
    for m in moments:
        first, second = (m.day, m.month) if order == "dmy" else (m.month, m.day)
        year = f"{m.year % 100:02d}" if short_year else str(m.year)
        text = f"{first}{separator}{second}{separator}{year}"
        if with_time:
            text += " " + m.strftime(with_time)
        texts.append(text)
    if not with_time:
        moments = [m.replace(hour=0, minute=0, second=0) for m in moments]
    elif "%S" not in with_time:
        moments = [m.replace(second=0) for m in moments]
    return order, moments, texts


@settings(max_examples=300, deadline=None)
@given(exports())
def test_a_consistent_export_is_read_right_or_its_doubt_is_kept(
    export: tuple[str, list[datetime], list[str]],
) -> None:
    order, moments, texts = export
    column = read_column(texts, LONDON)
    truth = [m.replace(tzinfo=LONDON) for m in moments]
    if not column.guessed:
        assert column.order == order
        assert list(column.times) == truth
        return
    # Nothing settled the order: every value is either read right, or its other reading is
    # the truth and is kept, so a caller can refuse when the two disagree on what matters.
    for read, other, true in zip(column.times, column.alternatives, truth, strict=True):
        assert read == true or other == true
    # And the configured order reads every value right.
    configured = read_column(texts, LONDON, order=order)
    assert list(configured.times) == truth


# A column in one of the shapes read all at once must read exactly as value by value: the
# same moments, alternatives, order and basis, the same errors and the same refusals.
_number = st.integers(min_value=0, max_value=40).map(str)
_pad = st.sampled_from(["", "0"])


@st.composite
def _stamp(draw: st.DrawFn, year_first: bool) -> str:
    sep = draw(st.sampled_from("/-."))
    year = str(draw(st.integers(min_value=1999, max_value=2031)))
    a = draw(_pad) + draw(st.integers(min_value=0, max_value=31).map(str))
    b = draw(_pad) + draw(st.integers(min_value=0, max_value=14).map(str))
    date_part = (
        f"{year}{sep}{b}{sep}{a}"
        if year_first
        else draw(st.sampled_from([f"{a}{sep}{b}{sep}{year}", f"{b}{sep}{a}{sep}{year}"]))
    )
    if draw(st.booleans()):
        return date_part
    clock = f"{draw(st.integers(0, 25))}:{draw(st.integers(0, 61)):02d}"
    if draw(st.booleans()):
        clock += f":{draw(st.integers(0, 61)):02d}"
    clock += draw(st.sampled_from(["", "", " AM", " PM"]))
    clock += draw(
        st.sampled_from(
            [
                "",
                "",
                "",
                " GMT",
                " GMT-5",
                " GMT+05:30",
                " GMT-0330",
                " GMT+25",
                " CST",
                " CEST",
                " UTC",
                " UTCX",
                " GMTX",
                " AMT",
                " PM",
                " Z",
                " cst",
                " ABCDEF",
            ]
        )
    )
    return f"{date_part}{draw(st.sampled_from([' ', 'T'] if year_first else [' ']))}{clock}"


def _outcome(values: list[str], **options: str) -> object:
    try:
        column = read_column(values, BERLIN, **options)
    except ValueError as exc:
        return type(exc), str(exc), vars(exc)
    times = [t if isinstance(t, datetime) else (type(t), str(t)) for t in column.times]
    return column.order, column.basis, times, column.alternatives


@settings(max_examples=300, deadline=None)
@given(
    year_first=st.booleans(),
    data=st.data(),
    options=st.sampled_from(
        [
            {},
            {"order": "dmy"},
            {"order": "mdy"},
            {"order": "ymd"},
            {"locale": "en_GB"},
            {"locale": "en_US"},
        ]
    ),
    odd=st.sampled_from(
        [
            None,
            "",
            " ",
            "12/3/26 8:14",
            " 3/12/2026 9:00",
            "2026-12-03 08:14:22Z",
            "x",
            "3/12/2026\t9:00",
            "13/13/2026 9:00",
            "3/12/2026 9:00 pm",
            "2026-12-03",
        ]
    ),
)
def test_a_column_read_at_once_reads_as_value_by_value(
    year_first: bool, data: st.DataObject, options: dict[str, str], odd: str | None
) -> None:
    from pdmail.sources import timestamps

    values = data.draw(st.lists(_stamp(year_first), min_size=1, max_size=12))
    if odd is not None and data.draw(st.booleans()):
        values.insert(data.draw(st.integers(0, len(values))), odd)
    fast = _outcome(values, **options)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timestamps._FastColumn, "read", classmethod(lambda cls, values: None))
        careful = _outcome(values, **options)
    assert fast == careful
