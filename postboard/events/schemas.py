"""Optional JSON Schemas (Draft 2020-12) for event payloads: checking them, and sampling them."""

import json
import math
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError
from jsonschema_specifications import REGISTRY as METASCHEMAS
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

# The API answers with these; a payload that is wrong everywhere should not answer with a thousand lines.
MAX_ERRORS = 20
_MAX_MESSAGE = 200
_EXAMPLE_TEXT = {
    "email": "someone@example.com",
    "date": "2024-05-31",
    "date-time": "2024-05-31T09:30:00Z",
    "time": "09:30:00Z",
    "uri": "https://example.com/",
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
}


class SchemaProblem(ValueError):
    """A payload schema that is not a valid JSON Schema."""


def check_schema(schema: Mapping[str, Any]) -> None:
    """Raise SchemaProblem, with a readable reason, if `schema` is not a valid Draft 2020-12 schema."""
    _validator(_schema_text(schema))


def payload_errors(schema: Mapping[str, Any] | None, payload: Any) -> list[str]:
    """Readable reasons `payload` does not fit `schema`, such as "total: 'abc' is not of type 'number'"."""
    if schema is None:
        return []
    validator = _validator(_schema_text(schema))
    try:
        errors = sorted(validator.iter_errors(payload), key=_path_order)
    except Unresolvable as exc:
        raise SchemaProblem(f"$ref {exc.ref!r} points at nothing this schema defines") from exc
    reasons = [f"{_where(error.absolute_path)}: {_shorten(error.message)}" for error in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        reasons.append(f"… and {len(errors) - MAX_ERRORS} more")
    return reasons


def sample_payload(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """A plausible payload for `schema` (from its examples, defaults and types), for the Test-event panel."""
    if schema is None:
        return {}
    sample = _example(schema, schema, depth=0)
    return sample if isinstance(sample, dict) else {}


def _schema_text(schema: Mapping[str, Any]) -> str:
    if not isinstance(schema, Mapping):
        raise SchemaProblem('a payload schema is a JSON object, such as {"type": "object"}')
    try:
        return json.dumps(schema, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise SchemaProblem(f"the schema is not plain JSON: {exc}") from exc


@lru_cache(maxsize=256)
def _validator(schema_text: str) -> Draft202012Validator:
    schema = json.loads(schema_text)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path) or "(top level)"
        raise SchemaProblem(f"{where}: {_shorten(exc.message)}") from exc
    resource = DRAFT202012.create_resource(schema)
    base = resource.id() or "urn:postboard:payload-schema"
    resolver = METASCHEMAS.combine(Registry().with_resource(base, resource)).resolver(base)
    for ref in _refs(schema):
        try:
            resolver.lookup(ref)
        except Unresolvable as exc:
            raise SchemaProblem(f"$ref {ref!r} points at nothing this schema defines") from exc
    # An empty registry: the default one would fetch remote (and file:) $refs, a request forgery hole.
    # Formats such as "email" and "date" are checked, not just noted as the 2020-12 default does.
    return Draft202012Validator(schema, registry=Registry(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def _refs(node: Any) -> Iterator[str]:
    """Every `$ref` in a schema, leaving out literal data (enum, const, examples, default)."""
    if isinstance(node, Mapping):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for key, value in node.items():
            if key not in ("enum", "const", "examples", "default"):
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _path_order(error: ValidationError) -> list[tuple[bool, Any]]:
    # Items in list order (2 before 10), then fields by name; a bare int never meets a str.
    return [(isinstance(part, str), part) for part in error.absolute_path]


def _where(path: Any) -> str:
    return ".".join(str(part) for part in path) or "(root)"


def _shorten(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 1] + "…"


def _example(schema: Any, root: Mapping[str, Any], *, depth: int) -> Any:
    """An example value for one (sub)schema; `depth` stops recursive `$ref`s."""
    if not isinstance(schema, Mapping) or depth > 8:
        return None
    if (target := _resolved(schema, root)) is not schema:
        return _example(target, root, depth=depth + 1)
    for key in ("examples", "enum"):
        if isinstance(schema.get(key), list) and schema[key]:
            return schema[key][0]
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return _example(schema[key][0], root, depth=depth + 1)
    kind = _type(schema)
    if kind == "object":
        properties = schema.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        return {name: _example(sub, root, depth=depth + 1) for name, sub in properties.items()}
    if kind == "array":
        item = schema.get("items")
        return [_example(item, root, depth=depth + 1)] if isinstance(item, Mapping) else []
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        low = low if isinstance(low, int | float) and not isinstance(low, bool) else 0
        return math.floor(low) + 1 if kind == "integer" else float(low) + 1.5
    if kind == "string":
        return _EXAMPLE_TEXT.get(str(schema.get("format")), "example")
    return {"boolean": True, "null": None}.get(str(kind))


def _resolved(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local `$ref` such as "#/$defs/address"; anything else stays as it is."""
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#"):
        return schema
    target: Any = root
    for part in (p.replace("~1", "/").replace("~0", "~") for p in ref[1:].split("/") if p):
        target = target.get(part) if isinstance(target, Mapping) else None
    return target if isinstance(target, Mapping) else schema


def _type(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((each for each in kind if each != "null"), None)
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else None
    return kind if isinstance(kind, str) else None
