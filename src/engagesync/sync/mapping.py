"""Field mapping for pushes: ``--map TO=EXPR`` turns a source row into an action's payload.

EXPR is one of:
- a column name: ``from=email``
- a quoted constant: ``state='closed'`` (JSON literals too: ``note=true``, ``tags=["a","b"]``)
- a template with ``{column}`` placeholders: ``subject=Order {order_id} from {name}``
- a function of a column: ``lower(email)``, ``upper(x)``, ``trim(x)``, ``int(x)``, ``bool(x)``,
  ``json(x)`` (parse a JSON text), ``split(x)`` (comma-separated list)
A dotted TO builds nested objects: ``from.email=email`` gives ``{"from": {"email": ...}}``.
Columns whose names match an action field pass through unless mapped otherwise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

_FUNC = re.compile(r"^(lower|upper|trim|int|bool|json|split)\((\w[\w .-]*)\)$")
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


class MappingError(ValueError):
    """A mapping that cannot be applied to a row; carries the target field."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"not a boolean: {value!r}")


_FUNCS: dict[str, Callable[[Any], Any]] = {
    "lower": lambda v: str(v).lower(),
    "upper": lambda v: str(v).upper(),
    "trim": lambda v: str(v).strip(),
    "int": lambda v: int(str(v).strip()),
    "bool": _to_bool,
    "json": lambda v: json.loads(v) if isinstance(v, str) else v,
    "split": lambda v: [p.strip() for p in str(v).split(",") if p.strip()],
}


@dataclass(frozen=True)
class Rule:
    target: str
    expr: str

    def evaluate(self, row: dict[str, Any]) -> Any:
        expr = self.expr
        if len(expr) >= 2 and expr[0] == expr[-1] and expr[0] in "'\"":
            return expr[1:-1]
        match = _FUNC.match(expr)
        if match:
            name, column = match.groups()
            value = self._column(row, column.strip())
            if value is None:
                return None
            try:
                return _FUNCS[name](value)
            except (ValueError, TypeError) as exc:
                raise MappingError(self.target, f"{name}({column}) failed on {value!r}: {exc}") from exc
        if _PLACEHOLDER.search(expr):

            def fill(m: re.Match[str]) -> str:
                value = self._column(row, m.group(1).strip())
                return "" if value is None else str(value)

            return _PLACEHOLDER.sub(fill, expr)
        if expr in row:
            return row[expr]
        try:
            return json.loads(expr)  # true, 42, ["a"], {"k": 1}
        except ValueError:
            raise MappingError(
                self.target,
                f"no column {expr!r} in the input (columns: {', '.join(row)}); "
                f"quote it for a constant: {self.target}='{expr}'",
            ) from None

    def sources(self) -> list[str]:
        """The input columns this rule reads (a bare word that is valid JSON is a constant, not a column)."""
        expr = self.expr
        if len(expr) >= 2 and expr[0] == expr[-1] and expr[0] in "'\"":
            return []
        match = _FUNC.match(expr)
        if match:
            return [match.group(2).strip()]
        if _PLACEHOLDER.search(expr):
            return [m.strip() for m in _PLACEHOLDER.findall(expr)]
        return [expr]

    def missing(self, columns: Collection[str]) -> list[str]:
        """The columns this rule reads that ``columns`` (an input's header) lacks."""
        absent = [c for c in self.sources() if c not in columns]
        if absent == [self.expr] and _is_json(self.expr):
            return []  # true, 42, ["a"]: a constant
        return absent

    def _column(self, row: dict[str, Any], column: str) -> Any:
        if column not in row:
            raise MappingError(self.target, f"no column {column!r} in the input (columns: {', '.join(row)})")
        return row[column]


class Mapping:
    def __init__(self, rules: Iterable[Rule] = (), passthrough: Iterable[str] | None = None) -> None:
        self.rules = list(rules)
        #: Source columns copied as they are (the action's field names); None copies every column.
        self.passthrough = None if passthrough is None else set(passthrough)

    @classmethod
    def parse(cls, specs: Iterable[str], passthrough: Iterable[str] | None = None) -> Mapping:
        rules = []
        for spec in specs:
            target, sep, expr = spec.partition("=")
            if not sep or not target.strip():
                raise ValueError(f"--map {spec!r}: expected TO=FROM, e.g. from=email or state='closed'")
            rules.append(Rule(target.strip(), expr.strip()))
        return cls(rules, passthrough)

    def apply(self, row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        mapped = {rule.target.split(".", 1)[0] for rule in self.rules}
        for column, value in row.items():
            if column in mapped:
                continue
            if self.passthrough is None or column in self.passthrough:
                out[column] = value
        for rule in self.rules:
            _assign(out, rule.target, rule.evaluate(row))
        return out


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _assign(out: dict[str, Any], target: str, value: Any) -> None:
    *parents, leaf = target.split(".")
    node = out
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[leaf] = value
