"""Go: mcp-go option calls and the official go-sdk's `mcp.Tool{...}` literals.

Patterns:
- `mcp.NewTool("name", mcp.WithDescription(..), mcp.WithString("x", mcp.Required(),
  mcp.Description(..)), mcp.WithReadOnlyHintAnnotation(true), ...)`, and helpers of the same
  shape whose name ends in `Tool` and take the description second (`MustTool("n", "d", h, ...)`);
- composite literals of a type named `Tool` (`mcp.Tool{Name: .., Description: ..,
  InputSchema: .., Annotations: &mcp.ToolAnnotations{..}}`).
Constants are looked up in every file of the same package (the same folder). A call with a
translation key and a default text, `t("TOOL_X_DESCRIPTION", "text")`, reads as the text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import tree_sitter as ts

from crawler.extract.common import (
    ExtractedTool,
    Skipped,
    Unresolved,
    annotations_from,
    is_tool_name,
    node_text,
    schema_from_properties,
    strip_unresolved,
)
from crawler.extract.project import Project

__all__ = ["extract_go"]

_KEY = re.compile(r"^[A-Z][A-Z0-9_]+$")
_PROP_OPTS = {
    "WithString": "string", "WithNumber": "number", "WithInteger": "integer", "WithBoolean": "boolean",
    "WithArray": "array", "WithObject": "object", "WithAny": "",
}  # fmt: skip
_ANN_OPTS = {
    "WithReadOnlyHintAnnotation": "readOnlyHint",
    "WithDestructiveHintAnnotation": "destructiveHint",
    "WithIdempotentHintAnnotation": "idempotentHint",
    "WithOpenWorldHintAnnotation": "openWorldHint",
    "WithTitleAnnotation": "title",
}
_SCHEMA_FIELDS = {
    "Type": "type", "Description": "description", "Required": "required", "Enum": "enum",
    "Properties": "properties", "Items": "items", "Default": "default", "Title": "title",
    "Minimum": "minimum", "Maximum": "maximum",
}  # fmt: skip


class GoPackage:
    """Package-level consts and vars of every non-test .go file in one folder."""

    def __init__(self, project: Project, folder: Path) -> None:
        self.values: dict[str, ts.Node] = {}
        for f in sorted(folder.glob("*.go")):
            if f.name.endswith("_test.go"):
                continue
            mod = project.module(f, lambda p, s, t: t, "go")
            if mod is not None:
                self.index(mod.root_node)

    def index(self, root: ts.Node) -> None:
        for decl in root.named_children:
            if decl.type not in ("const_declaration", "var_declaration"):
                continue
            specs = [c for c in decl.named_children if c.type in ("const_spec", "var_spec")]
            for block in decl.named_children:
                if block.type in ("var_spec_list", "const_spec_list"):
                    specs.extend(c for c in block.named_children if c.type in ("const_spec", "var_spec"))
            for spec in specs:
                names = [c for c in spec.children_by_field_name("name")]
                value = spec.child_by_field_name("value")
                vals = [c for c in value.named_children] if value is not None else []
                for n, v in zip(names, vals, strict=False):
                    self.values[node_text(n)] = v


class _Resolver:
    def __init__(self, pkg: GoPackage, skipped: list[Skipped]) -> None:
        self.pkg = pkg
        self.skipped = skipped

    def value(self, node: ts.Node | None, depth: int = 0) -> Any:
        if node is None:
            return Unresolved("missing")
        if depth > 10:
            return Unresolved("too many indirections")
        t = node.type
        if t == "interpreted_string_literal":
            try:
                return json.loads(_go_to_json(node_text(node)))
            except ValueError:
                return Unresolved("string literal could not be decoded")
        if t == "raw_string_literal":
            return node_text(node)[1:-1].replace("\r", "")
        if t in ("int_literal", "float_literal"):
            try:
                return json.loads(node_text(node).replace("_", ""))
            except ValueError:
                return Unresolved("number")
        if t in ("true", "false"):
            return t == "true"
        if t == "nil":
            return None
        if t == "parenthesized_expression" and node.named_child_count:
            return self.value(node.named_children[0], depth + 1)
        if t == "binary_expression":
            op = node.child_by_field_name("operator")
            left = self.value(node.child_by_field_name("left"), depth + 1)
            right = self.value(node.child_by_field_name("right"), depth + 1)
            if op is not None and op.type == "+" and isinstance(left, str) and isinstance(right, str):
                return left + right
            return Unresolved("expression computed at run time")
        if t == "identifier":
            name = node_text(node)
            if name in self.pkg.values:
                return self.value(self.pkg.values[name], depth + 1)
            return Unresolved(f"{name!r} is not a package constant")
        if t == "unary_expression" and node_text(node).startswith("&") and node.named_child_count:
            return self.value(node.named_children[-1], depth + 1)
        if t == "call_expression":
            args = node.child_by_field_name("arguments")
            argv = [a for a in (args.named_children if args is not None else []) if a.type != "comment"]
            fname = node_text(node.child_by_field_name("function") or node).rsplit(".", 1)[-1]
            if len(argv) == 1 and fname in ("To", "Ptr", "BoolPtr", "Bool", "String", "RawMessage"):
                v = self.value(argv[0], depth + 1)
                if fname == "RawMessage" and isinstance(v, str):
                    try:
                        return json.loads(v)
                    except ValueError:
                        return Unresolved("raw JSON that does not parse")
                return v
            if len(argv) >= 2:
                vals = [self.value(a, depth + 1) for a in argv]
                if isinstance(vals[0], str) and _KEY.match(vals[0]) and isinstance(vals[-1], str):
                    return vals[-1]  # a translation helper: key, default text
            return Unresolved(f"call to {fname}() computed at run time")
        if t == "composite_literal":
            return self.composite(node, depth)
        return Unresolved(f"{t} is not a constant")

    def composite(self, node: ts.Node, depth: int) -> Any:
        body = node.child_by_field_name("body")
        typ = node_text(node.child_by_field_name("type") or node)
        elems = body.named_children if body is not None else []
        if typ.startswith("[]"):
            return [
                self.value(e.named_children[0] if e.type == "literal_element" else e, depth + 1)
                for e in elems
                if e.type != "comment"
            ]
        out: dict[str, Any] = {}
        for e in elems:
            if e.type != "keyed_element" or e.named_child_count < 2:
                continue
            k, v = e.named_children[0], e.named_children[1]
            k = k.named_children[0] if k.type == "literal_element" and k.named_child_count else k
            v = v.named_children[0] if v.type == "literal_element" and v.named_child_count else v
            key = self.value(k, depth + 1) if k.type.endswith("string_literal") else node_text(k)
            if isinstance(key, str):
                out[key] = self.value(v, depth + 1) if v.type != "literal_value" else self.literal(v, depth)
        if typ.endswith("Schema"):
            return {_SCHEMA_FIELDS.get(k, k[:1].lower() + k[1:]): v for k, v in out.items()}
        return out

    def literal(self, node: ts.Node, depth: int) -> Any:
        """An untyped `{...}` element inside a map or slice of schemas."""
        fake = {"type": "Schema"}
        out: dict[str, Any] = {}
        for e in node.named_children:
            if e.type == "keyed_element" and e.named_child_count >= 2:
                k, v = e.named_children[0], e.named_children[1]
                k = k.named_children[0] if k.type == "literal_element" and k.named_child_count else k
                v = v.named_children[0] if v.type == "literal_element" and v.named_child_count else v
                val = self.literal(v, depth + 1) if v.type == "literal_value" else self.value(v, depth + 1)
                out[_SCHEMA_FIELDS.get(node_text(k), node_text(k))] = val
        return out if out or fake else {}


def _go_to_json(lit: str) -> str:
    """A Go interpreted string as a JSON string (the escapes mostly agree)."""
    body = lit[1:-1]
    body = re.sub(
        r"\\([abfnrtv\\\"'])",
        lambda m: "\\" + {"a": "u0007", "v": "u000b", "'": "'"}.get(m.group(1), m.group(1)),
        body,
    )
    body = body.replace("\\'", "'")
    body = re.sub(r"\\x([0-9a-fA-F]{2})", r"\\u00\1", body)
    return f'"{body}"'


def _option(r: _Resolver, call: ts.Node, tool: ExtractedTool, props: dict[str, Any], req: list[str]) -> None:
    fn = call.child_by_field_name("function")
    args = call.child_by_field_name("arguments")
    if fn is None or args is None:
        return
    opt = node_text(fn).rsplit(".", 1)[-1]
    argv = [a for a in args.named_children if a.type != "comment"]
    if opt == "WithDescription" and argv:
        tool.set_text("description", r.value(argv[0]))
    elif opt in _ANN_OPTS and argv:
        v = r.value(argv[0])
        if not isinstance(v, Unresolved):
            tool.annotations = {**(tool.annotations or {}), _ANN_OPTS[opt]: v}
            if opt == "WithTitleAnnotation" and isinstance(v, str):
                tool.title = v
    elif opt == "WithTitle" and argv:
        tool.set_text("title", r.value(argv[0]))
    elif opt in _PROP_OPTS and argv:
        pname = r.value(argv[0])
        if not isinstance(pname, str):
            return
        schema: dict[str, Any] = {"type": _PROP_OPTS[opt]} if _PROP_OPTS[opt] else {}
        for sub in argv[1:]:
            if sub.type != "call_expression":
                continue
            sf = node_text(sub.child_by_field_name("function") or sub).rsplit(".", 1)[-1]
            sargs = sub.child_by_field_name("arguments")
            sv = [
                r.value(a) for a in (sargs.named_children if sargs is not None else []) if a.type != "comment"
            ]
            if sf == "Required":
                req.append(pname)
            elif sf == "Description" and sv and isinstance(sv[0], str):
                schema["description"] = sv[0]
            elif sf == "Enum":
                schema["enum"] = [x for x in sv if not isinstance(x, Unresolved)]
            elif sf.startswith("Default") and sv and not isinstance(sv[0], Unresolved):
                schema["default"] = sv[0]
            elif sf in ("Min", "Minimum") and sv:
                schema["minimum"] = sv[0]
            elif sf in ("Max", "Maximum") and sv:
                schema["maximum"] = sv[0]
        props[pname] = strip_unresolved(schema)


def _from_call(r: _Resolver, rel: str, node: ts.Node) -> ExtractedTool | None:
    """`mcp.NewTool("n", mcp.With...)` or a helper named `...Tool` taking ("n", "description", ...)."""
    fn, args = node.child_by_field_name("function"), node.child_by_field_name("arguments")
    if fn is None or args is None or not node_text(fn).lower().endswith("tool"):
        return None
    argv = [a for a in args.named_children if a.type != "comment"]
    # The name is the first string among the first three arguments (helpers take a context first).
    idx = next(
        (
            i
            for i, a in enumerate(argv[:3])
            if a.type.endswith("string_literal") or (a.type == "identifier" and isinstance(r.value(a), str))
        ),
        None,
    )
    if idx is None:
        return None
    name = r.value(argv[idx])
    if not is_tool_name(name):
        return None
    options = [a for a in argv[idx + 1 :] if a.type == "call_expression"]
    has_with = any(
        node_text(a.child_by_field_name("function") or a).rsplit(".", 1)[-1].startswith("With")
        for a in options
    )
    texts = []
    for a in argv[idx + 1 : idx + 3]:
        v = r.value(a)
        if not isinstance(v, str):
            break
        texts.append(v)
    if not has_with and not texts:
        return None
    tool = ExtractedTool(
        name=name, file=rel, line=node.start_point[0] + 1, language="go", pattern="go.NewTool"
    )
    if texts:
        tool.description = texts[0]
    if len(texts) > 1 and not has_with:
        tool.title = texts[1]
    props: dict[str, Any] = {}
    req: list[str] = []
    for a in options:
        _option(r, a, tool, props, req)
    for a in argv[idx + 1 :]:
        if a.type == "composite_literal" and node_text(a.child_by_field_name("type") or a).startswith("map["):
            extra = r.composite(a, 0)
            if isinstance(extra, dict) and all(isinstance(v, dict) for v in extra.values()):
                props.update(strip_unresolved(extra))
        elif a.type == "composite_literal" and node_text(a.child_by_field_name("type") or a) == "[]string":
            vals = r.value(a)
            if isinstance(vals, list):
                req.extend(v for v in vals if isinstance(v, str))
    tool.input_schema = schema_from_properties(props, req)
    return tool


def _from_literal(r: _Resolver, rel: str, node: ts.Node) -> ExtractedTool | None:
    typ = node_text(node.child_by_field_name("type") or node)
    if typ.rsplit(".", 1)[-1] != "Tool":
        return None
    fields = r.composite(node, 0)
    if not isinstance(fields, dict) or not is_tool_name(fields.get("Name")):
        if isinstance(fields, dict) and isinstance(fields.get("Name"), Unresolved):
            reason = f"tool name built at run time: {fields['Name'].reason}"
            r.skipped.append(Skipped(rel, reason, node.start_point[0] + 1))
        return None
    tool = ExtractedTool(
        name=fields["Name"], file=rel, line=node.start_point[0] + 1, language="go", pattern="go.Tool"
    )
    tool.set_text("description", fields.get("Description", Unresolved("no description given")))
    if "Title" in fields:
        tool.set_text("title", fields["Title"])
    schema = fields.get("InputSchema")
    if isinstance(schema, dict):
        tool.input_schema = strip_unresolved(schema)
    elif isinstance(schema, Unresolved):
        tool.unresolved.append("input_schema")
        tool.notes.append(f"input_schema: {schema.reason}")
    ann = fields.get("Annotations")
    if isinstance(ann, dict):
        tool.annotations = annotations_from({k[:1].lower() + k[1:]: v for k, v in ann.items()})
        if tool.title is None and tool.annotations and isinstance(tool.annotations.get("title"), str):
            tool.title = tool.annotations["title"]
    return tool


def extract_go(project: Project, path: Path, src: bytes, tree: ts.Tree) -> list[ExtractedTool]:
    project.put(path, tree)
    key = ("go", project.key(path.parent))
    pkg = project.indexes.get(key)
    if pkg is None:
        pkg = project.indexes[key] = GoPackage(project, path.parent)
    r = _Resolver(pkg, project.skipped)
    rel = project.rel(path)
    tools: list[ExtractedTool] = []
    covered = -1  # end byte of the last tool: calls and literals inside it belong to it
    for node in project.find(tree, "go", ("call_expression", "composite_literal")):
        if node.start_byte < covered:
            continue
        tool = _from_call(r, rel, node) if node.type == "call_expression" else _from_literal(r, rel, node)
        if tool is not None:
            tools.append(tool)
            covered = node.end_byte
    return tools
