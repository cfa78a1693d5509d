"""Zod schemas and shapes (and JSON Schema literals) to JSON Schema, read from the syntax tree.

Covers what tool inputs use: `z.string()`, `number`, `int`, `boolean`, `array`, `object`,
`enum`, `literal`, `union`, `record`, `any`, with `.describe()`, `.optional()`, `.nullable()`,
`.default()`, `.min()`/`.max()` and names that point at such expressions. A part that is not
understood becomes `{}` (any value): it is never guessed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import tree_sitter as ts

from crawler.extract.common import Unresolved, node_text, schema_from_properties, strip_unresolved

if TYPE_CHECKING:
    from crawler.extract.typescript import JsModule, Resolver

__all__ = ["to_schema"]

_WRAP = {"parenthesized_expression", "as_expression", "satisfies_expression", "non_null_expression"}
_SCALAR = {
    "string": "string", "number": "number", "int": "integer", "bigint": "integer", "boolean": "boolean",
    "date": "string", "null": "null",
}  # fmt: skip
_JSON_SCHEMA_KEYS = {"type", "properties", "$schema", "anyOf", "oneOf", "allOf", "$ref"}
_CONVERTERS = {"zodToJsonSchema", "toJSONSchema", "toJsonSchema", "zodToJson", "z.toJSONSchema"}


def _unwrap(node: ts.Node) -> ts.Node:
    while node.type in _WRAP and node.named_child_count:
        node = node.named_children[0]
    return node


def to_schema(r: Resolver, node: ts.Node | None, mod: JsModule, depth: int) -> dict[str, Any] | Unresolved:
    """The JSON Schema of an input schema expression (an object schema for a zod shape)."""
    if node is None:
        return Unresolved("missing")
    if depth > 8:
        return Unresolved("too many indirections")
    node = _unwrap(node)
    if node.type == "object":
        pairs = _pairs(node)
        if _JSON_SCHEMA_KEYS & set(pairs):
            v = r.value(node, mod)
            return strip_unresolved(v) if isinstance(v, dict) else Unresolved("schema literal")
        return _shape(r, node, mod, depth)
    if node.type in ("identifier", "member_expression") and not _is_zod(node):
        target = _follow(r, node, mod)
        if target is None:
            return Unresolved(f"schema {node_text(node)[:60]!r} is not in reach")
        return to_schema(r, target[0], target[1], depth + 1)
    if node.type == "call_expression":
        fn = node.child_by_field_name("function")
        args = node.child_by_field_name("arguments")
        fname = node_text(fn) if fn is not None else ""
        argv = [a for a in (args.named_children if args is not None else []) if a.type != "comment"]
        if fname.rsplit(".", 1)[-1] in {c.rsplit(".", 1)[-1] for c in _CONVERTERS} and argv:
            return to_schema(r, argv[0], mod, depth + 1)
        if fn is not None and fn.type == "identifier" and not _is_zod(node):
            found = r.declaration(fname, node, mod)
            body = r.function_body(found[0]) if found is not None else None
            if found is not None and body is not None:
                return to_schema(r, body, found[1], depth + 1)
            return Unresolved(f"schema built by {fname}() at run time")
        s, _ = zod_schema(r, node, mod, depth)
        if s.get("type") == "object" or "properties" in s:
            return s
        return s if s else Unresolved("not a zod object schema")
    return Unresolved(f"{node.type} is not a schema")


def _pairs(obj: ts.Node) -> dict[str, ts.Node]:
    out: dict[str, ts.Node] = {}
    for c in obj.named_children:
        if c.type == "pair":
            k, v = c.child_by_field_name("key"), c.child_by_field_name("value")
            if k is not None and v is not None:
                out[node_text(k).strip("'\"`")] = v
        elif c.type == "shorthand_property_identifier":
            out[node_text(c)] = c
    return out


def _follow(r: Resolver, node: ts.Node, mod: JsModule) -> tuple[ts.Node, JsModule] | None:
    if node.type in ("identifier", "shorthand_property_identifier"):
        return r.declaration(node_text(node), node, mod)
    if node.type == "member_expression":
        obj, prop = node.child_by_field_name("object"), node.child_by_field_name("property")
        if obj is None or prop is None:
            return None
        base = _follow(r, obj, mod) if obj.type in ("identifier", "member_expression") else None
        if base is None:
            return None
        target = _unwrap(base[0])
        if node_text(prop) == "shape":
            return target, base[1]
        if target.type == "object":
            pairs = _pairs(target)
            if node_text(prop) in pairs:
                return pairs[node_text(prop)], base[1]
    return None


def _shape(r: Resolver, obj: ts.Node, mod: JsModule, depth: int) -> dict[str, Any]:
    props: dict[str, Any] = {}
    required: list[str] = []
    for c in obj.named_children:
        if c.type == "spread_element" and c.named_child_count:
            target = _follow(r, _unwrap(c.named_children[0]), mod)
            if target is not None and _unwrap(target[0]).type == "object":
                sub = _shape(r, _unwrap(target[0]), target[1], depth + 1)
                props.update(sub.get("properties", {}))
                required.extend(x for x in sub.get("required", []) if x not in required)
            continue
        if c.type == "pair":
            k, v = c.child_by_field_name("key"), c.child_by_field_name("value")
            if k is None or v is None:
                continue
            key = node_text(k).strip("'\"`")
        elif c.type == "shorthand_property_identifier":
            key, v = node_text(c), c
        else:
            continue
        s, optional = zod_schema(r, v, mod, depth + 1)
        props[key] = s
        if not optional:
            required.append(key)
    return schema_from_properties(props, required)


def _is_zod(node: ts.Node) -> bool:
    """The expression is a chain rooted at `z` (or `zod`)."""
    while True:
        node = _unwrap(node)
        if node.type == "call_expression":
            node = node.child_by_field_name("function") or node
            if node.type == "call_expression":
                continue
        if node.type == "member_expression":
            obj = node.child_by_field_name("object")
            if obj is None:
                return False
            node = obj
            continue
        return node.type == "identifier" and node_text(node) in ("z", "zod")


def zod_schema(r: Resolver, node: ts.Node, mod: JsModule, depth: int) -> tuple[dict[str, Any], bool]:
    """(schema, optional) of one zod expression; `{}` where it is not understood."""
    if depth > 12:
        return {}, False
    node = _unwrap(node)
    if node.type in ("identifier", "shorthand_property_identifier", "member_expression") and not _is_zod(
        node
    ):
        target = _follow(r, node, mod)
        if target is None:
            return {}, False
        return zod_schema(r, target[0], target[1], depth + 1)
    if node.type != "call_expression":
        return {}, False
    fn = node.child_by_field_name("function")
    args = node.child_by_field_name("arguments")
    argv = [a for a in (args.named_children if args is not None else []) if a.type != "comment"]
    if fn is None or fn.type != "member_expression":
        if fn is not None and fn.type == "identifier":
            found = r.declaration(node_text(fn), node, mod)
            body = r.function_body(found[0]) if found is not None else None
            if found is not None and body is not None:
                return zod_schema(r, body, found[1], depth + 1)
        return {}, False
    obj, prop = fn.child_by_field_name("object"), fn.child_by_field_name("property")
    method = node_text(prop) if prop is not None else ""
    if obj is not None and _unwrap(obj).type == "identifier" and node_text(_unwrap(obj)) in ("z", "zod"):
        return _base(r, method, argv, mod, depth), False
    if (
        obj is not None
        and _unwrap(obj).type == "member_expression"
        and node_text(_unwrap(obj))
        in (
            "z.coerce",
            "zod.coerce",
        )
    ):
        return _base(r, method, argv, mod, depth), False
    if obj is None:
        return {}, False
    inner, optional = zod_schema(r, obj, mod, depth + 1)
    s = dict(inner)
    arg0 = r.value(argv[0], mod) if argv else None
    if method == "describe" and isinstance(arg0, str):
        s["description"] = arg0
    elif method in ("optional", "nullish"):
        optional = True
    elif method == "nullable":
        if "type" in s and isinstance(s["type"], str):
            s["type"] = [s["type"], "null"]
    elif method == "default":
        optional = True
        if not isinstance(arg0, Unresolved) and not isinstance(arg0, dict | list):
            s["default"] = arg0
    elif method == "int":
        s["type"] = "integer"
    elif method in ("min", "max", "gte", "lte", "positive", "nonnegative", "length") and isinstance(
        arg0, int | float
    ):
        key = {
            "string": ("minLength", "maxLength"),
            "array": ("minItems", "maxItems"),
        }.get(str(s.get("type")), ("minimum", "maximum"))
        if method in ("min", "gte"):
            s[key[0]] = arg0
        elif method in ("max", "lte"):
            s[key[1]] = arg0
    elif method in ("array",):
        s = {"type": "array", "items": s}
    elif method in ("or",) and argv:
        other, _ = zod_schema(r, argv[0], mod, depth + 1)
        s = {"anyOf": [s, other]}
    return s, optional


def _base(r: Resolver, method: str, argv: list[ts.Node], mod: JsModule, depth: int) -> dict[str, Any]:
    if method in _SCALAR:
        return {"type": _SCALAR[method]}
    if method in ("object", "strictObject", "looseObject") and argv:
        a = _unwrap(argv[0])
        if a.type == "object":
            return _shape(r, a, mod, depth + 1)
        target = _follow(r, a, mod)
        if target is not None and _unwrap(target[0]).type == "object":
            return _shape(r, _unwrap(target[0]), target[1], depth + 1)
        return {"type": "object"}
    if method == "array" and argv:
        return {"type": "array", "items": zod_schema(r, argv[0], mod, depth + 1)[0]}
    if method in ("enum", "nativeEnum") and argv:
        v = r.value(argv[0], mod)
        if isinstance(v, dict):
            v = list(v.values())
        if isinstance(v, list):
            vals = [x for x in v if isinstance(x, str | int | float)]
            return (
                {"type": "string", "enum": vals} if all(isinstance(x, str) for x in vals) else {"enum": vals}
            )
        return {"type": "string"}
    if method == "literal" and argv:
        v = r.value(argv[0], mod)
        return {"const": v} if isinstance(v, str | int | float | bool) else {}
    if method in ("union", "discriminatedUnion") and argv:
        arr = _unwrap(argv[-1])
        if arr.type == "array":
            return {"anyOf": [zod_schema(r, x, mod, depth + 1)[0] for x in arr.named_children]}
    if method == "record":
        return {"type": "object"}
    return {}
