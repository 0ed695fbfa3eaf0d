"""Payload schemas: checking a schema, readable payload errors, no remote lookups, and sample payloads."""

import urllib.request
from typing import Any

import pytest

from postboard.events import schemas
from postboard.events.schemas import MAX_ERRORS, SchemaProblem, check_schema, payload_errors, sample_payload

ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["customer_email", "total"],
    "properties": {
        "customer_email": {"type": "string", "format": "email"},
        "total": {"type": "number", "minimum": 0},
        "status": {"enum": ["paid", "refunded"]},
        "note": {"type": ["null", "string"], "examples": ["Leave at the door"]},
        "quantity": {"type": "integer", "default": 3},
        "placed_at": {"type": "string", "format": "date-time"},
        "gift": {"type": "boolean"},
        "order": {"$ref": "#/$defs/order"},
    },
    "$defs": {
        "order": {
            "type": "object",
            "properties": {
                "id": {"type": "integer", "minimum": 1000},
                "items": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}}}},
            },
        }
    },
}


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """A schema must never make us fetch anything."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a schema made us open a URL")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


# --- check_schema ----------------------------------------------------------------------------------------


def test_a_good_schema_passes() -> None:
    check_schema(ORDER_SCHEMA)
    check_schema({})
    check_schema({"$ref": "https://json-schema.org/draft/2020-12/schema"})  # the metaschema is known locally


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        ({"type": "numbr"}, "type: 'numbr' is not valid"),
        ({"properties": {"total": {"type": 5}}}, "properties/total/type: 5 is not valid"),
        ({"required": "email"}, "required: 'email' is not of type 'array'"),
        ({"minimum": "ten"}, "minimum: 'ten' is not of type 'number'"),
        ({"$ref": "#/$defs/adress", "$defs": {"address": {}}}, "$ref '#/$defs/adress' points at nothing"),
        ({"$ref": "https://example.com/order.json"}, "$ref 'https://example.com/order.json' points at nothing"),
        ({"properties": {"x": {"$ref": "file:///etc/passwd"}}}, "$ref 'file:///etc/passwd' points at nothing"),
        ({"maximum": float("nan")}, "the schema is not plain JSON"),
        ({"default": object()}, "the schema is not plain JSON"),
    ],
)
def test_a_bad_schema_says_why(schema: dict[str, Any], reason: str) -> None:
    with pytest.raises(SchemaProblem) as caught:
        check_schema(schema)
    assert str(caught.value).startswith(reason)
    assert isinstance(caught.value, ValueError)


def test_a_schema_must_be_an_object() -> None:
    with pytest.raises(SchemaProblem, match="a payload schema is a JSON object"):
        check_schema(["type", "object"])  # type: ignore[arg-type]


def test_refs_inside_literal_data_are_not_followed() -> None:
    check_schema({"enum": [{"$ref": "#/nowhere"}], "examples": [{"$ref": "x"}]})


# --- payload_errors --------------------------------------------------------------------------------------


def test_no_schema_or_a_fitting_payload_has_no_errors() -> None:
    assert payload_errors(None, {"anything": ["goes"]}) == []
    assert payload_errors(None, "even this") == []
    assert payload_errors(ORDER_SCHEMA, {"customer_email": "ada@example.com", "total": 12.5}) == []


def test_errors_read_like_the_field_and_what_is_wrong() -> None:
    errors = payload_errors(ORDER_SCHEMA, {"total": "abc", "status": "lost"})
    assert errors == [
        "(root): 'customer_email' is a required property",
        "status: 'lost' is not one of ['paid', 'refunded']",
        "total: 'abc' is not of type 'number'",
    ]


def test_nested_errors_name_the_path() -> None:
    payload = {"customer_email": "a@b.co", "total": 1, "order": {"id": 5, "items": [{"sku": "A"}, {"sku": 7}]}}
    assert payload_errors(ORDER_SCHEMA, payload) == [
        "order.id: 5 is less than the minimum of 1000",
        "order.items.1.sku: 7 is not of type 'string'",
    ]


def test_formats_are_checked() -> None:
    errors = payload_errors(ORDER_SCHEMA, {"customer_email": "not-an-address", "total": 1})
    assert errors == ["customer_email: 'not-an-address' is not a 'email'"]


def test_a_payload_that_is_not_an_object() -> None:
    assert payload_errors(ORDER_SCHEMA, [1, 2]) == ["(root): [1, 2] is not of type 'object'"]


def test_many_errors_are_capped_and_in_list_order() -> None:
    errors = payload_errors({"type": "array", "items": {"type": "string"}}, list(range(50)))
    assert len(errors) == MAX_ERRORS + 1
    assert [error.split(":")[0] for error in errors[:12]] == [str(n) for n in range(12)]
    assert errors[10] == "10: 10 is not of type 'string'"
    assert errors[-1] == f"… and {50 - MAX_ERRORS} more"


def test_long_messages_are_shortened() -> None:
    (error,) = payload_errors({"type": "string"}, {"blob": "x" * 10_000})
    assert error.startswith("(root): {'blob': 'xxx")
    assert len(error) < 250
    assert error.endswith("…")


def test_payload_errors_refuse_a_bad_schema() -> None:
    with pytest.raises(SchemaProblem):
        payload_errors({"type": "numbr"}, {})


def test_validators_are_cached_by_schema_content() -> None:
    first = {"type": "object", "properties": {"cache_probe": {"type": "integer"}}}
    same_content = {"properties": {"cache_probe": {"type": "integer"}}, "type": "object"}
    payload_errors(first, {})
    hits = schemas._validator.cache_info().hits
    assert payload_errors(same_content, {"cache_probe": "x"}) == ["cache_probe: 'x' is not of type 'integer'"]
    assert schemas._validator.cache_info().hits == hits + 1


# --- sample_payload --------------------------------------------------------------------------------------


def test_sample_uses_examples_defaults_enums_and_types() -> None:
    assert sample_payload(ORDER_SCHEMA) == {
        "customer_email": "someone@example.com",
        "total": 1.5,
        "status": "paid",
        "note": "Leave at the door",
        "quantity": 3,
        "placed_at": "2024-05-31T09:30:00Z",
        "gift": True,
        "order": {"id": 1001, "items": [{"sku": "example"}]},
    }


def test_sample_fits_its_own_schema() -> None:
    assert payload_errors(ORDER_SCHEMA, sample_payload(ORDER_SCHEMA)) == []


def test_sample_of_nothing_is_an_empty_payload() -> None:
    assert sample_payload(None) == {}
    assert sample_payload({}) == {}
    assert sample_payload({"type": "string"}) == {}  # a payload is an object


def test_sample_takes_the_first_choice_and_const() -> None:
    schema = {"properties": {"id": {"anyOf": [{"type": "integer"}, {"type": "string"}]}, "kind": {"const": "order"}}}
    assert sample_payload(schema) == {"id": 1, "kind": "order"}


def test_sample_of_a_recursive_schema_stops() -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "child": {"$ref": "#"}}}
    sample = sample_payload(schema)
    depth = 0
    while isinstance(sample, dict) and "child" in sample:
        sample, depth = sample["child"], depth + 1
    assert 0 < depth < 10
