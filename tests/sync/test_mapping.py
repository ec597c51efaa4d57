"""Field mapping as a user writes it on the command line."""

from __future__ import annotations

import pytest

from engagesync.sync.mapping import Mapping, MappingError

ROW = {
    "email": "Ada@Example.com",
    "first": "Ada",
    "last": "Lovelace",
    "tags": "vip, beta",
    "n": "42",
    "flag": "yes",
    "extra": "x",
}


def test_columns_constants_templates_functions_and_nesting() -> None:
    mapping = Mapping.parse(
        [
            "from.email=lower(email)",
            "from.name={first} {last}",
            "state='closed'",
            "note=true",
            "tags=split(tags)",
            "number=int(n)",
            "starred=bool(flag)",
            "subject=Hello {first}",
        ],
        passthrough=["body"],
    )
    out = mapping.apply({**ROW, "body": "hi"})
    assert out == {
        "body": "hi",
        "from": {"email": "ada@example.com", "name": "Ada Lovelace"},
        "state": "closed",
        "note": True,
        "tags": ["vip", "beta"],
        "number": 42,
        "starred": True,
        "subject": "Hello Ada",
    }


def test_passthrough_none_copies_every_column_and_mapped_sources_are_replaced() -> None:
    out = Mapping.parse(["email=lower(email)"]).apply(ROW)
    assert out["email"] == "ada@example.com" and out["extra"] == "x"


def test_unknown_column_names_the_target_and_suggests_quoting() -> None:
    with pytest.raises(MappingError) as err:
        Mapping.parse(["state=closed"]).apply(ROW)
    assert err.value.field == "state" and "state='closed'" in err.value.reason


def test_bad_conversion_is_a_mapping_error_on_that_field() -> None:
    with pytest.raises(MappingError) as err:
        Mapping.parse(["number=int(first)"]).apply(ROW)
    assert err.value.field == "number" and "int(first)" in err.value.reason


def test_malformed_spec_is_refused() -> None:
    with pytest.raises(ValueError, match="expected TO=FROM"):
        Mapping.parse(["justaname"])
