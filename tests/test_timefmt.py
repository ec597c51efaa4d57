"""``engagesync.timefmt``: the one RFC 3339 reader, and the callers that used to read naive times as local."""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engagesync.apis.groove_helpdesk.connector.rules import epoch
from engagesync.apis.groove_sales.emulator.resolvers import parse_datetime as gs_parse_datetime
from engagesync.apis.groove_sales.emulator.resolvers import serialize_datetime
from engagesync.apis.growthgenius.contract import parse_time as gg_parse_time
from engagesync.apis.volt.contract import parse_scheduled_time
from engagesync.timefmt import parse_datetime, to_epoch

NOON = datetime(2026, 1, 15, 12, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def far_from_utc() -> Iterator[None]:
    """The process runs in a zone 10 hours from UTC, so a naive time read as local is visibly wrong."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "Pacific/Honolulu"  # UTC-10, no DST
    time.tzset()
    assert time.timezone == 10 * 3600
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-15T12:00:00Z",
        "2026-01-15T12:00:00z",
        " 2026-01-15T12:00:00Z ",
        "2026-01-15T12:00:00.000Z",
        "2026-01-15T12:00:00+00:00",
        "2026-01-15T14:00:00+02:00",
        "2026-01-15T07:00:00-05:00",
        "2026-01-15T12:00:00",
        "2026-01-15 12:00:00",
    ],
)
def test_rfc3339_forms(text: str) -> None:
    assert parse_datetime(text).timestamp() == NOON
    assert to_epoch(text) == NOON


@pytest.mark.parametrize("value", [None, 3, "", "  ", "yesterday", "2026-13-01T00:00:00Z", "2026-01-15T25:00:00"])
def test_not_a_time(value: object) -> None:
    assert to_epoch(value) is None
    if isinstance(value, str):
        with pytest.raises(ValueError):
            parse_datetime(value)


@pytest.mark.usefixtures("far_from_utc")
def test_offset_less_is_utc_whatever_the_local_zone() -> None:
    assert parse_datetime("2026-01-15T12:00:00").utcoffset() == timedelta(0)
    assert to_epoch("2026-01-15T12:00:00") == NOON
    assert to_epoch("2026-01-15") == NOON - 12 * 3600
    # the two callers that read an offset-less time as the machine's local time
    assert epoch("2026-01-15T12:00:00") == NOON
    assert serialize_datetime(gs_parse_datetime("2026-01-15T12:00:00")) == "2026-01-15T12:00:00Z"
    volt_actions = importlib.import_module("engagesync.apis.volt.connector.actions")  # the module, not actions()
    assert volt_actions._epoch("2026-01-15T12:00:00") == NOON  # Volt's reconcile window
    # and those that already read it as UTC still do
    assert parse_scheduled_time("2026-01-15 12:00:00") == NOON


def test_zone_for_offset_less_times() -> None:
    """GrowthGenius reads an offset-less time in US Eastern: the zone is asked with the wall time as UTC."""
    asked: list[float] = []

    def eastern(wall: float) -> float:
        asked.append(wall)
        return -5 * 3600

    assert parse_datetime("2026-01-15T07:00:00", zone=eastern).timestamp() == NOON
    assert asked == [NOON - 5 * 3600]
    assert parse_datetime("2026-01-15T07:00:00Z", zone=eastern).timestamp() == NOON - 5 * 3600  # offset wins
    assert gg_parse_time("2026-01-15T07:00:00") == NOON * 1000
    assert gg_parse_time("2026-07-15 08:00:00") == datetime(2026, 7, 15, 12, tzinfo=UTC).timestamp() * 1000  # EDT


@given(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.integers(min_value=-23 * 60, max_value=23 * 60),
    st.sampled_from(["T", " "]),
)
def test_round_trip(moment: datetime, offset_minutes: int, sep: str) -> None:
    zone = timezone(timedelta(minutes=offset_minutes))
    aware = moment.replace(tzinfo=zone)
    assert parse_datetime(aware.isoformat(sep=sep)) == aware
    assert parse_datetime(moment.isoformat(sep=sep)) == moment.replace(tzinfo=UTC)
    utc = (
        aware.astimezone(UTC) if datetime(1, 1, 2, tzinfo=UTC) <= aware <= datetime(9999, 12, 30, tzinfo=UTC) else None
    )
    if utc is not None:
        assert parse_datetime(utc.replace(tzinfo=None).isoformat(sep=sep) + "Z") == aware
