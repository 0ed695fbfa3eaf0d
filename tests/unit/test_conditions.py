"""Rule conditions: every operator, loose numbers, nested paths, all/any, and reasons a person can read."""

import math
from typing import Any

import pytest
from pydantic import ValidationError

from postboard.events.conditions import Check, Condition, Conditions, Operator, Verdict, evaluate

PAYLOAD: dict[str, Any] = {
    "total": 150,
    "total_text": "150",
    "status": "paid",
    "title": "Big summer sale",
    "tags": ["new", "vip"],
    "codes": [1, 2, 3],
    "vip": True,
    "coupon": None,
    "order": {"total": 50, "items": [{"sku": "L-1", "qty": 2}, {"sku": "D-2", "qty": 1}]},
    "placed_at": "2024-06-01T10:00:00Z",
}


def check(field: str, op: str, value: Any = None, payload: Any = None) -> Check:
    condition = Condition(field=field, op=Operator(op), value=value)
    verdict = evaluate(Conditions(items=[condition]), PAYLOAD if payload is None else payload)
    assert verdict.matched is verdict.checks[0].matched
    return verdict.checks[0]


def test_operator_values_and_labels() -> None:
    assert [op.value for op in Operator] == [
        "equals", "not_equals", "gt", "gte", "lt", "lte", "contains", "in", "exists"
    ]  # fmt: skip
    assert [op.label for op in Operator] == ["=", "≠", ">", "≥", "<", "≤", "contains", "is one of", "exists"]
    assert Operator("in") is Operator.IN


# --- the reasons the Simulate panel shows ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "op", "value", "matched", "reason"),
    [
        ("total", "gt", 100, True, "total is 150, and 150 > 100"),
        ("order.total", "gt", 100, False, "order.total is 50, not > 100"),
        ("missing", "gt", 100, False, "payload has no field 'missing'"),
        ("status", "in", ["refunded", "void"], False, "status is 'paid', not one of ['refunded', 'void']"),
        ("status", "in", ["paid", "void"], True, "status is 'paid', one of ['paid', 'void']"),
        ("status", "gt", 100, False, "can't compare 'paid' with 100: not a number"),
        ("status", "equals", "paid", True, "status is 'paid', equal to 'paid'"),
        ("status", "equals", "void", False, "status is 'paid', not 'void'"),
        ("status", "not_equals", "void", True, "status is 'paid', not 'void'"),
        ("status", "not_equals", "paid", False, "status is 'paid', equal to 'paid'"),
        ("title", "contains", "sale", True, "title is 'Big summer sale', which contains 'sale'"),
        ("title", "contains", "Sale", False, "title is 'Big summer sale', which does not contain 'Sale'"),
        ("status", "exists", None, True, "status is 'paid', so it exists"),
        ("coupon", "exists", None, False, "coupon is null (null counts as missing)"),
        ("gift", "exists", False, True, "payload has no field 'gift', as wanted"),
        ("status", "exists", False, False, "status is 'paid', but should be missing"),
    ],
)
def test_reasons(field: str, op: str, value: Any, matched: bool, reason: str) -> None:
    result = check(field, op, value)
    assert (result.matched, result.reason) == (matched, reason)


# --- each operator ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "matched"),
    [
        ("gt", 149, True),
        ("gt", 150, False),
        ("gte", 150, True),
        ("gte", 151, False),
        ("lt", 151, True),
        ("lt", 150, False),
        ("lte", 150, True),
        ("lte", 149.99, False),
    ],
)
def test_orderings_on_numbers(op: str, value: float, matched: bool) -> None:
    assert check("total", op, value).matched is matched


def test_numeric_text_compares_as_a_number() -> None:
    assert check("total_text", "gt", 100).matched
    assert check("total_text", "gt", 100).reason == "total_text is '150', and 150 > 100"
    assert not check("total_text", "lt", 20).matched  # as text, "150" < "20" would hold
    assert check("total", "gt", "100").matched


@pytest.mark.parametrize("actual", ["abc", True, None, [150], {"value": 150}, "nan", "inf", "1_000"])
def test_orderings_on_non_numbers_do_not_match(actual: Any) -> None:
    result = check("x", "gt", 100, {"x": actual})
    assert not result.matched
    assert result.reason.endswith("with 100: not a number")


def test_orderings_on_dates() -> None:
    assert check("placed_at", "gt", "2024-05-31").matched
    assert not check("placed_at", "lt", "2024-06-01T09:59:59Z").matched
    assert not check("placed_at", "lt", "2024-06-01T10:30:00+01:00").matched  # that is 09:30 UTC
    assert check("placed_at", "gte", "2024-06-01T10:00:00").matched  # no zone means UTC
    result = check("status", "gt", "2024-01-01")
    assert (result.matched, result.reason) == (False, "can't compare 'paid' with '2024-01-01': not a date")


def test_equals_compares_numbers_as_numbers_and_text_as_text() -> None:
    assert check("total", "equals", 150.0).matched
    assert check("total", "equals", "150").matched
    assert check("total_text", "equals", 150).matched
    assert not check("total_text", "equals", "150.0").matched  # both text: compared as text
    assert not check("status", "equals", "Paid").matched  # case-sensitive
    assert not check("total", "equals", "abc").matched


def test_equals_on_booleans_nulls_and_structures() -> None:
    assert check("vip", "equals", True).matched
    assert check("vip", "equals", "true").matched
    assert not check("vip", "equals", 1).matched
    assert not check("x", "equals", True, {"x": 1}).matched
    assert check("coupon", "equals", None).matched
    assert not check("status", "equals", None).matched
    assert check("tags", "equals", ["new", "vip"]).matched
    assert not check("tags", "equals", ["vip", "new"]).matched
    assert check("order.items.0", "equals", {"sku": "L-1", "qty": "2"}).matched


def test_not_equals_is_the_opposite_of_equals_for_present_fields() -> None:
    for value in (150, "150", 151, "x", None, True):
        assert check("total", "not_equals", value).matched is not check("total", "equals", value).matched


def test_missing_field_matches_neither_equals_nor_not_equals() -> None:
    assert not check("gift", "equals", "x").matched
    assert not check("gift", "not_equals", "x").matched


def test_contains_on_text_lists_and_objects() -> None:
    assert check("tags", "contains", "vip").matched
    assert not check("tags", "contains", "vi").matched  # list items are matched whole
    assert check("codes", "contains", "2").matched  # loose numbers, as with equals
    assert check("x", "contains", 5, {"x": "order 5 of 9"}).matched
    assert check("order", "contains", "items").matched  # an object contains its keys
    assert not check("order", "contains", "price").matched


@pytest.mark.parametrize(
    ("actual", "value", "reason"),
    [
        (150, "1", "x is 150, which is neither text nor a list"),
        (None, "a", "x is null, which is neither text nor a list"),
        ("abc", ["a"], "x is 'abc': can't look for ['a'] in text"),
        ("true", True, "x is 'true': can't look for true in text"),
    ],
)
def test_contains_on_the_wrong_types_explains(actual: Any, value: Any, reason: str) -> None:
    result = check("x", "contains", value, {"x": actual})
    assert (result.matched, result.reason) == (False, reason)


def test_in_uses_the_same_equality() -> None:
    assert check("total", "in", [100, "150"]).matched
    assert not check("total", "in", [149, 151]).matched
    assert check("vip", "in", ["true"]).matched


# --- paths -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "found", "actual"),
    [
        ("order.total", True, 50),
        ("order.items.0.sku", True, "L-1"),
        ("order.items.1.qty", True, 1),
        ("order.items.-1.sku", True, "D-2"),
        ("order.items.2.sku", False, None),
        ("order.items.x", False, None),
        ("status.length", False, None),
        ("total.0", False, None),
        ("coupon.code", False, None),
    ],
)
def test_dotted_paths(path: str, found: bool, actual: Any) -> None:
    result = check(path, "exists", True)
    assert (result.found, result.actual) == (found, actual)


def test_a_key_with_digits_in_an_object_is_a_key() -> None:
    assert check("by_year.2024", "equals", 3, {"by_year": {"2024": 3}}).matched


# --- all / any / none ------------------------------------------------------------------------------------


def conditions(mode: str, *items: tuple[str, str, Any]) -> Conditions:
    return Conditions.model_validate({"mode": mode, "items": [{"field": f, "op": o, "value": v} for f, o, v in items]})


def test_all_needs_every_condition_and_still_checks_each() -> None:
    verdict = evaluate(conditions("all", ("total", "gt", 100), ("status", "equals", "void")), PAYLOAD)
    assert not verdict.matched
    assert [c.matched for c in verdict.checks] == [True, False]
    assert evaluate(conditions("all", ("total", "gt", 100), ("status", "equals", "paid")), PAYLOAD).matched


def test_any_needs_one_condition() -> None:
    assert evaluate(conditions("any", ("total", "gt", 1000), ("status", "equals", "paid")), PAYLOAD).matched
    assert not evaluate(conditions("any", ("total", "gt", 1000), ("status", "equals", "void")), PAYLOAD).matched


@pytest.mark.parametrize("mode", ["all", "any"])
def test_no_conditions_always_match(mode: str) -> None:
    verdict = evaluate(Conditions.model_validate({"mode": mode}), {})
    assert verdict == Verdict(matched=True, checks=[])


def test_the_issue_example_total_over_100() -> None:
    rule = conditions("all", ("total", "gt", 100))
    assert evaluate(rule, {"total": 150}).matched
    assert not evaluate(rule, {"total": 50}).matched


# --- never raises ----------------------------------------------------------------------------------------


class Hostile(dict[str, Any]):
    """An object a caller's code might put in a payload: looking into it fails."""

    def __contains__(self, key: object) -> bool:
        raise RuntimeError("boom")


@pytest.mark.parametrize(
    "payload",
    [
        None,
        Hostile(),
        [],
        "text",
        42,
        {"x": Hostile()},
        {"x": math.nan},
        {"x": "9" * 5000},
        {"x": {"y": [[[]]]}},
        {"x": [Hostile(), None, {}]},
        {"x": "2024-13-45"},
    ],
)
def test_evaluate_never_raises(payload: Any) -> None:
    items = [
        {"field": "x", "op": "equals", "value": 1},
        {"field": "x", "op": "not_equals", "value": "a"},
        {"field": "x", "op": "gt", "value": 1},
        {"field": "x", "op": "lte", "value": "2024-01-01"},
        {"field": "x", "op": "contains", "value": "a"},
        {"field": "x", "op": "in", "value": [1, "a"]},
        {"field": "x", "op": "exists"},
        {"field": "x.y.0", "op": "equals", "value": []},
    ]
    verdict = evaluate(Conditions.model_validate({"mode": "any", "items": items}), payload)
    assert len(verdict.checks) == len(items)
    assert all(check.reason for check in verdict.checks)


def test_a_value_that_breaks_lookup_fails_only_its_own_check() -> None:
    verdict = evaluate(conditions("any", ("x.a", "equals", 1), ("y", "equals", 2)), {"x": Hostile(), "y": 2})
    assert verdict.matched
    assert (verdict.checks[0].matched, verdict.checks[0].reason) == (False, "couldn't check x.a: boom")


# --- validation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"field": "", "op": "equals", "value": 1}, "name a payload field"),
        ({"field": "order..total", "op": "equals", "value": 1}, "name a payload field"),
        ({"field": "order.", "op": "equals", "value": 1}, "name a payload field"),
        ({"field": "x", "op": "in", "value": "paid"}, "'is one of' needs a list"),
        ({"field": "x", "op": "in", "value": []}, "'is one of' needs a list"),
        ({"field": "x", "op": "in"}, "'is one of' needs a list"),
        ({"field": "x", "op": "exists", "value": "yes"}, "'exists' takes no value"),
        ({"field": "x", "op": "gt", "value": "abc"}, "'>' needs a number or an ISO date"),
        ({"field": "x", "op": "lte", "value": True}, "'≤' needs a number or an ISO date"),
        ({"field": "x", "op": "gt"}, "'>' needs a number or an ISO date"),
        ({"field": "x", "op": "gt", "value": math.inf}, "NaN and Infinity are not values"),
        ({"field": "x", "op": "contains"}, "'contains' needs a value"),
        ({"field": "x", "op": "matches", "value": 1}, "Input should be 'equals'"),
        ({"field": "x", "op": "equals", "value": 1, "extra": 1}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_conditions_are_refused(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Condition.model_validate(data)


def test_valid_conditions_are_normalised() -> None:
    assert Condition(field=" order . total ", op=Operator.GT, value="100").model_dump() == {
        "field": "order.total",
        "op": Operator.GT,
        "value": 100,
    }
    assert Condition(field="x", op=Operator.GTE, value="2.5").value == 2.5
    assert Condition(field="x", op=Operator.LT, value="2024-05-31").value == "2024-05-31"
    assert Condition(field="x", op=Operator.EXISTS).value is True
    assert Condition(field="x", op=Operator.EXISTS, value=False).value is False
    assert Condition(field="x", op=Operator.EQUALS).value is None


def test_conditions_survive_a_json_round_trip() -> None:
    rule = conditions("any", ("total", "gt", "100"), ("status", "in", ["paid"]), ("coupon", "exists", False))
    stored = rule.model_dump(mode="json")
    assert stored["items"][0] == {"field": "total", "op": "gt", "value": 100}
    assert Conditions.model_validate(stored) == rule


def test_mode_must_be_all_or_any() -> None:
    with pytest.raises(ValidationError):
        Conditions.model_validate({"mode": "most"})
