"""Rule conditions on an event payload: whether they match, and why or why not in plain English."""

import math
import operator
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Operator(StrEnum):
    """How a condition compares a payload field with its value."""

    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    CONTAINS = "contains"
    IN = "in"
    EXISTS = "exists"

    @property
    def label(self) -> str:
        """The operator as the condition builder shows it."""
        return _LABELS[self]


_LABELS = dict(zip(Operator, ("=", "≠", ">", "≥", "<", "≤", "contains", "is one of", "exists"), strict=True))
_ORDERINGS = {Operator.GT: operator.gt, Operator.GTE: operator.ge, Operator.LT: operator.lt, Operator.LTE: operator.le}
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_INDEX = re.compile(r"-?\d+")


class Condition(BaseModel):
    """One test on a payload field: `field` is a dotted path such as "order.total" or "items.0.sku"."""

    model_config = ConfigDict(extra="forbid")

    field: str
    op: Operator
    value: Any = None

    @field_validator("field")
    @classmethod
    def _is_a_path(cls, field: str) -> str:
        parts = [part.strip() for part in field.split(".")]
        if not all(parts):
            raise ValueError("name a payload field, like 'total' or 'order.items.0.sku'")
        return ".".join(parts)

    @model_validator(mode="after")
    def _value_fits_op(self) -> "Condition":
        value = self.value.isoformat() if isinstance(self.value, date) else self.value
        if not finite_json(value):
            raise ValueError("NaN and Infinity are not values a payload can hold")
        if self.op is Operator.EXISTS:
            if value is not None and not isinstance(value, bool):
                raise ValueError("'exists' takes no value, or true/false for exists/does not exist")
            value = value is not False
        elif self.op is Operator.IN:
            if not isinstance(value, list) or not value:
                raise ValueError("'is one of' needs a list of values")
        elif self.op in _ORDERINGS:
            number = _number(value)
            if number is None and (not isinstance(value, str) or _moment(value) is None):
                raise ValueError(f"'{self.op.label}' needs a number or an ISO date such as 2024-05-31")
            value = value if number is None else number
        elif value is None and self.op is Operator.CONTAINS:
            raise ValueError("'contains' needs a value to look for")
        self.value = value
        return self


class Conditions(BaseModel):
    """A rule's conditions: all of them or any of them must hold; none at all always matches."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["all", "any"] = "all"
    items: list[Condition] = Field(default_factory=list)


class Check(BaseModel):
    """How one condition fared against a payload."""

    condition: Condition
    matched: bool
    actual: Any = None
    found: bool
    reason: str


class Verdict(BaseModel):
    """Whether a payload matches a rule's conditions, with every condition's check."""

    matched: bool
    checks: list[Check]


def evaluate(conditions: Conditions, payload: Mapping[str, Any]) -> Verdict:
    """Check every condition against the payload (never raises, whatever the payload holds)."""
    checks = [_check(condition, payload) for condition in conditions.items]
    results = [check.matched for check in checks]
    matched = not checks or (all(results) if conditions.mode == "all" else any(results))
    return Verdict(matched=matched, checks=checks)


def finite_json(value: Any) -> bool:
    """Whether a JSON value holds no NaN or infinity, however deep."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(finite_json(v) for v in value)
    if isinstance(value, dict):
        return all(finite_json(v) for v in value.values())
    return True


def _check(condition: Condition, payload: Any) -> Check:
    found, actual = False, None
    try:
        found, actual = lookup(payload, condition.field)
        if condition.op is Operator.EXISTS:
            matched, reason = _exists(condition, found, actual)
        elif not found:
            matched, reason = False, f"payload has no field {condition.field!r}"
        else:
            matched, reason = _compare(condition, actual)
    except Exception as exc:  # noqa: BLE001 - a caller's odd value must fail its own check, not the whole event
        matched, reason = False, f"couldn't check {condition.field}: {exc}"
    return Check(condition=condition, matched=matched, actual=actual, found=found, reason=reason)


def lookup(payload: Any, path: str) -> tuple[bool, Any]:
    """Follow a dotted path into the payload: whether it leads somewhere, and to what."""
    current = payload
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list | tuple) and _INDEX.fullmatch(part) and -len(current) <= int(part) < len(current):
            current = current[int(part)]
        else:
            return False, None
    return True, current


def _exists(condition: Condition, found: bool, actual: Any) -> tuple[bool, str]:
    wanted, field = condition.value is not False, condition.field
    present = found and actual is not None
    if present:
        return wanted, f"{field} is {_show(actual)}" + (", so it exists" if wanted else ", but should be missing")
    absent = f"{field} is null (null counts as missing)" if found else f"payload has no field {field!r}"
    return not wanted, absent if wanted else f"{absent}, as wanted"


def _compare(condition: Condition, actual: Any) -> tuple[bool, str]:
    op, expected, field = condition.op, condition.value, condition.field
    said = f"{field} is {_show(actual)}"
    if op in (Operator.EQUALS, Operator.NOT_EQUALS):
        same = _same(actual, expected)
        verb = "equal to" if same else "not"
        return same is (op is Operator.EQUALS), f"{said}, {verb} {_show(expected)}"
    if op is Operator.IN:
        hit = isinstance(expected, list) and any(_same(actual, option) for option in expected)
        return hit, f"{said}, {'one' if hit else 'not one'} of {_show(expected)}"
    if op is Operator.CONTAINS:
        return _contains(said, actual, expected)
    return _ordered(op, said, actual, expected)


def _contains(said: str, actual: Any, expected: Any) -> tuple[bool, str]:
    if isinstance(actual, str):
        if isinstance(expected, bool) or not isinstance(expected, str | int | float):
            return False, f"{said}: can't look for {_show(expected)} in text"
        hit = str(expected) in actual
    elif isinstance(actual, list | tuple):
        hit = any(_same(item, expected) for item in actual)
    elif isinstance(actual, Mapping):
        hit = expected in actual
    else:
        return False, f"{said}, which is neither text nor a list"
    return hit, f"{said}, which {'contains' if hit else 'does not contain'} {_show(expected)}"


def _ordered(op: Operator, said: str, actual: Any, expected: Any) -> tuple[bool, str]:
    wanted = _number(expected)
    if wanted is not None:
        have = _number(actual)
        if have is None:
            return False, f"can't compare {_show(actual)} with {_show(expected)}: not a number"
        left, right = _show(have), _show(wanted)
        matched = _ORDERINGS[op](have, wanted)
    else:
        moment, wanted_moment = _moment(actual), _moment(expected)
        if wanted_moment is None:
            return False, f"can't compare with {_show(expected)}: not a number or a date"
        if moment is None:
            return False, f"can't compare {_show(actual)} with {_show(expected)}: not a date"
        left, right = _show(actual), _show(expected)
        matched = _ORDERINGS[op](moment, wanted_moment)
    return matched, f"{said}, and {left} {op.label} {right}" if matched else f"{said}, not {op.label} {right}"


def _same(actual: Any, expected: Any) -> bool:
    """Equal as a person means it: 100 = 100.0 = "100" and true = "true", but 'Paid' ≠ 'paid'."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return _boolean(actual) is not None and _boolean(actual) == _boolean(expected)
    if not (isinstance(actual, str) and isinstance(expected, str)):
        have, wanted = _number(actual), _number(expected)
        if have is not None and wanted is not None:
            return have == wanted
    if isinstance(actual, list | tuple) and isinstance(expected, list | tuple):
        return len(actual) == len(expected) and all(map(_same, actual, expected))
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        return actual.keys() == expected.keys() and all(_same(actual[key], expected[key]) for key in actual)
    return type(actual) is type(expected) and bool(actual == expected)


def _number(value: Any) -> int | float | None:
    """A finite number from a number or numeric text; None otherwise (booleans included)."""
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        text = value.strip()
        value = float(text) if any(mark in text for mark in ".eE") or len(text) > 4000 else int(text)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if math.isfinite(value) else None


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = value.strip().lower() if isinstance(value, str) else None
    return {"true": True, "false": False}.get(text) if text else None


def _moment(value: Any) -> datetime | None:
    """A point in time from an ISO date or date-time text (no zone means UTC); None otherwise."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _show(value: Any) -> str:
    """A payload value as the Simulate panel prints it: JSON-like, and short."""
    if value is None or isinstance(value, bool):
        text = {None: "null", True: "true", False: "false"}[value]
    elif isinstance(value, list | tuple):
        text = "[" + ", ".join(map(_show, value[:10])) + (", …]" if len(value) > 10 else "]")
    elif isinstance(value, Mapping):
        text = "{" + ", ".join(f"{key!r}: {_show(item)}" for key, item in list(value.items())[:10]) + "}"
    else:
        text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"
