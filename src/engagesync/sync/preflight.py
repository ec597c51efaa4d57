"""Checks a push makes before it sends anything: a typo in ``--map`` or an empty file must cost no request.

- every ``--map`` target names a field of the action (its first part, for ``from.email``);
- every column a ``--map`` reads is in the input's header (CSV/TSV header, table columns; JSON Lines
  has no header, so there a missing key stays a per-record reject);
- the input opens and has a first record (reading it surfaces a damaged file or a missing table);
  an empty or header-only input is "nothing to push", not an error.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Collection, Iterator

from ..client.actions import ActionSpec
from .mapping import Mapping
from .readers import Record, check_exists, header_based, open_input
from .store import Store


class PreflightError(ValueError):
    """A push that cannot work as asked; the message names the ``--map`` or input and what to do."""


def _listing(names: Collection[str], limit: int = 15) -> str:
    shown = list(names)[:limit]
    return ", ".join(shown) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _suggest(name: str, choices: Collection[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"did you mean {close[0]!r}? " if close else ""


def check_mapping(mapping: Mapping, action: ActionSpec) -> None:
    """Every ``--map`` target must be a field of the action (otherwise the API would ignore or refuse it)."""
    fields = [f.name for f in action.fields]
    for rule in mapping.rules:
        root = rule.target.split(".", 1)[0]
        if root not in fields:
            raise PreflightError(
                f"--map {rule.target}={rule.expr}: {root!r} is not a field of {action.name}; "
                f"{_suggest(root, fields)}its fields: {_listing(fields)}"
            )


def check_columns(mapping: Mapping, columns: Collection[str], source: str) -> None:
    """Every column a ``--map`` reads must be in the input's header."""
    for rule in mapping.rules:
        missing = rule.missing(columns)
        if missing:
            quoted = (
                "" if rule.sources() != [rule.expr] else f", or quote it for a constant: {rule.target}='{rule.expr}'"
            )
            raise PreflightError(
                f"--map {rule.target}={rule.expr}: no column {missing[0]!r} in {source}; "
                f"{_suggest(missing[0], columns)}its columns: {_listing(columns)}{quoted}"
            )


def before_store(source: str, mapping: Mapping, action: ActionSpec) -> None:
    """What can be checked before the store is opened (so a typo creates no store file)."""
    check_mapping(mapping, action)
    check_exists(source)


def open_checked(source: str, mapping: Mapping, action: ActionSpec, store: Store) -> Iterator[Record] | None:
    """The input's records after every check passed, or None when it has none ("nothing to push")."""
    before_store(source, mapping, action)
    rows = open_input(source, store=store)
    first = next(rows, None)
    if first is None:
        return None
    if header_based(source):
        check_columns(mapping, first[1].keys(), source)
    return itertools.chain([first], rows)
