"""Fault injection rules (``PUT /_sandbox/faults``).

A rule matches requests by API, method and path (a glob over the path under the API prefix, or a
GraphQL operation name) and applies one effect: an error status with the vendor's body or an empty
one, added latency, a dropped connection, or a hang past the client's timeout. It fires with a
probability drawn from a seeded RNG, or for the next N matching requests, or both. ``after: true``
lets the handler run and commit first, then applies the effect: the "timeout after the server did
the work" case that duplicate-safe pushes must survive.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import dataclass, field
from typing import Any

EFFECTS = ("status", "latency", "drop", "timeout")


class FaultSpecError(ValueError):
    pass


@dataclass
class FaultRule:
    id: int
    effect: str
    api: str | None = None
    method: str | None = None
    path: str | None = None
    operation: str | None = None
    status: int = 500
    body: str = "vendor"  # "vendor" | "empty"
    latency_ms: float = 0.0
    timeout_seconds: float = 30.0
    probability: float = 1.0
    remaining: int | None = None  # "next N"
    after: bool = False
    hits: int = 0

    @classmethod
    def parse(cls, rule_id: int, spec: dict[str, Any]) -> FaultRule:
        if not isinstance(spec, dict):
            raise FaultSpecError("each fault rule must be an object")
        match = spec.get("match", {})
        effect_spec = spec.get("effect", {})
        if not isinstance(match, dict) or not isinstance(effect_spec, dict):
            raise FaultSpecError("'match' and 'effect' must be objects")
        kinds = [k for k in EFFECTS if k in effect_spec]
        if len(kinds) != 1:
            raise FaultSpecError(f"'effect' needs exactly one of {', '.join(EFFECTS)}")
        kind = kinds[0]
        rule = cls(
            id=rule_id,
            effect=kind,
            api=match.get("api"),
            path=match.get("path"),
            method=(match.get("method") or "").upper() or None,
            operation=match.get("operation"),
        )
        try:
            if kind == "status":
                rule.status = int(effect_spec["status"])
                if not 100 <= rule.status <= 599:
                    raise FaultSpecError("status must be an HTTP status code")
                rule.body = str(effect_spec.get("body", "vendor"))
                if rule.body not in ("vendor", "empty"):
                    raise FaultSpecError("body must be 'vendor' or 'empty'")
            elif kind == "latency":
                rule.latency_ms = float(effect_spec["latency"])
            elif kind == "drop":
                rule.after = bool(effect_spec.get("after", spec.get("after", False)))
            elif kind == "timeout":
                raw = effect_spec["timeout"]
                default = 30.0 if isinstance(raw, bool) else float(raw)
                rule.timeout_seconds = float(effect_spec.get("seconds", default))
            rule.after = bool(spec.get("after", rule.after))
            rule.probability = float(spec.get("probability", 1.0))
            times = spec.get("times", spec.get("next"))
            if times is not None:
                rule.remaining = int(times)
        except (TypeError, ValueError, KeyError) as exc:
            if isinstance(exc, FaultSpecError):
                raise
            raise FaultSpecError(f"invalid fault rule: {exc}") from exc
        if not 0.0 <= rule.probability <= 1.0:
            raise FaultSpecError("probability must be between 0 and 1")
        return rule

    def matches(self, api: str, method: str, path: str, operation: str | None) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.api and self.api != api:
            return False
        if self.method and self.method != method:
            return False
        if self.path and not fnmatch.fnmatchcase(path, self.path):
            return False
        return not (self.operation and self.operation != operation)

    def to_dict(self) -> dict[str, Any]:
        effects: dict[str, dict[str, Any]] = {
            "status": {"status": self.status, "body": self.body},
            "latency": {"latency": self.latency_ms},
            "drop": {"drop": True},
            "timeout": {"timeout": True, "seconds": self.timeout_seconds},
        }
        effect = effects[self.effect]
        return {
            "id": self.id,
            "match": {
                k: v
                for k, v in {
                    "api": self.api,
                    "method": self.method,
                    "path": self.path,
                    "operation": self.operation,
                }.items()
                if v
            },
            "effect": effect,
            "probability": self.probability,
            "times": self.remaining,
            "after": self.after,
            "hits": self.hits,
        }


@dataclass
class FaultBook:
    rules: list[FaultRule] = field(default_factory=list)
    seed: int = 0
    _rng: random.Random = field(default_factory=lambda: random.Random(0))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next_id: int = 1

    def replace(self, specs: list[dict[str, Any]], seed: int = 0) -> list[FaultRule]:
        parsed = []
        for spec in specs:
            parsed.append(FaultRule.parse(self._next_id, spec))
            self._next_id += 1
        with self._lock:
            self.rules = parsed
            self.seed = seed
            self._rng = random.Random(seed)
        return parsed

    def add(self, spec: dict[str, Any]) -> FaultRule:
        rule = FaultRule.parse(self._next_id, spec)
        self._next_id += 1
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules = []

    def pick(self, api: str, method: str, path: str, operation: str | None = None) -> FaultRule | None:
        """The first rule that matches and fires for this request (consuming one of its N)."""
        with self._lock:
            for rule in self.rules:
                if not rule.matches(api, method, path, operation):
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                rule.hits += 1
                return rule
        return None
