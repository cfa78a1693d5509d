"""C#: the official SDK's `[McpServerTool(Name = .., ReadOnly = .., Destructive = ..)]` methods.

The description comes from `[Description("...")]` on the method, parameters from the method's
signature with their own `[Description]`; the name defaults to the method's name. String
constants (`const string X = "..."`) in the same file resolve; concatenation with `+` too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import tree_sitter as ts

from crawler.extract.common import ExtractedTool, Unresolved, is_tool_name, node_text, schema_from_properties
from crawler.extract.project import Project

__all__ = ["extract_csharp"]

_ANN = {
    "ReadOnly": "readOnlyHint",
    "Destructive": "destructiveHint",
    "Idempotent": "idempotentHint",
    "OpenWorld": "openWorldHint",
    "Title": "title",
}
_TYPES = {
    "string": "string", "int": "integer", "long": "integer", "short": "integer", "uint": "integer",
    "double": "number", "float": "number", "decimal": "number", "bool": "boolean",
}  # fmt: skip
_SKIP_TYPES = (
    "CancellationToken",
    "IMcpServer",
    "McpServer",
    "RequestContext",
    "IServiceProvider",
    "IProgress",
)
_ESC = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}


def _string(node: ts.Node) -> str | Unresolved:
    text = node_text(node)
    if node.type == "verbatim_string_literal" or text.startswith("@"):
        return text[2:-1].replace('""', '"')
    if node.type == "raw_string_literal":
        return text.strip('"').strip("\n")
    if node.type == "interpolated_string_expression":
        if any(c.type == "interpolation" for c in node.named_children):
            return Unresolved("interpolated string with run-time values")
        text = text[1:]
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESC.get(m.group(1), m.group(1)), body)


class _Resolver:
    def __init__(self, root: ts.Node) -> None:
        self.consts: dict[str, ts.Node] = {}
        stack = [root]
        while stack:
            n = stack.pop()
            if n.type == "variable_declarator":
                name = n.child_by_field_name("name") or (n.named_children[0] if n.named_child_count else None)
                val = n.named_children[-1] if n.named_child_count > 1 else None
                if name is not None and val is not None:
                    self.consts[node_text(name)] = val
            elif n.type not in ("method_declaration", "block"):
                stack.extend(n.named_children)

    def value(self, node: ts.Node | None, depth: int = 0) -> Any:
        if node is None or depth > 10:
            return Unresolved("missing")
        t = node.type
        if t in (
            "string_literal",
            "verbatim_string_literal",
            "raw_string_literal",
            "interpolated_string_expression",
        ):
            return _string(node)
        if t == "boolean_literal":
            return node_text(node) == "true"
        if t == "integer_literal":
            return int(node_text(node).rstrip("lLuU"))
        if t == "binary_expression":
            left = self.value(node.child_by_field_name("left"), depth + 1)
            right = self.value(node.child_by_field_name("right"), depth + 1)
            if isinstance(left, str) and isinstance(right, str):
                return left + right
            return Unresolved("expression computed at run time")
        if t in ("identifier", "member_access_expression"):
            name = node_text(node).rsplit(".", 1)[-1]
            if name in self.consts:
                return self.value(self.consts[name], depth + 1)
            return Unresolved(f"{name!r} is not a constant in this file")
        if t == "parenthesized_expression" and node.named_child_count:
            return self.value(node.named_children[0], depth + 1)
        return Unresolved(f"{t} is not a constant")

    def attribute_args(self, attr: ts.Node) -> tuple[list[Any], dict[str, Any]]:
        pos: list[Any] = []
        named: dict[str, Any] = {}
        for lst in attr.named_children:
            if lst.type != "attribute_argument_list":
                continue
            for a in lst.named_children:
                if a.type != "attribute_argument":
                    continue
                key = a.child_by_field_name("name")
                val = a.named_children[-1]
                if key is not None and key is not val:
                    named[node_text(key)] = self.value(val)
                else:
                    pos.append(self.value(val))
        return pos, named


def _attributes(node: ts.Node) -> dict[str, ts.Node]:
    out: dict[str, ts.Node] = {}
    for lst in node.named_children:
        if lst.type == "attribute_list":
            for a in lst.named_children:
                if a.type == "attribute":
                    name = node_text(a.child_by_field_name("name") or a).rsplit(".", 1)[-1]
                    out[name.removesuffix("Attribute")] = a
    return out


def _params(r: _Resolver, method: ts.Node) -> dict[str, Any]:
    props: dict[str, Any] = {}
    required: list[str] = []
    plist = method.child_by_field_name("parameters")
    for p in plist.named_children if plist is not None else []:
        if p.type != "parameter":
            continue
        name, typ = p.child_by_field_name("name"), p.child_by_field_name("type")
        if name is None:
            continue
        tname = node_text(typ) if typ is not None else ""
        if any(s in tname for s in _SKIP_TYPES):
            continue
        nullable = tname.endswith("?")
        base = tname.rstrip("?")
        schema: dict[str, Any] = {}
        if base in _TYPES:
            schema["type"] = _TYPES[base]
        elif base.endswith("[]") or base.startswith(("List<", "IEnumerable<", "IList<", "IReadOnlyList<")):
            schema["type"] = "array"
        desc = _attributes(p).get("Description")
        if desc is not None:
            pos, _ = r.attribute_args(desc)
            if pos and isinstance(pos[0], str):
                schema["description"] = pos[0]
        has_default = any(c.type == "equals_value_clause" for c in p.children) or (
            p.child_count > 2 and any(c.type.endswith("_literal") for c in p.named_children)
        )
        props[node_text(name)] = schema
        if not has_default and not nullable:
            required.append(node_text(name))
    return schema_from_properties(props, required)


def extract_csharp(project: Project, path: Path, src: bytes, tree: ts.Tree) -> list[ExtractedTool]:
    if b"McpServerTool" not in src:
        return []
    r = _Resolver(tree.root_node)
    rel = project.rel(path)
    tools: list[ExtractedTool] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type != "method_declaration":
            stack.extend(reversed(node.named_children))
            continue
        attrs = _attributes(node)
        if "McpServerTool" not in attrs:
            continue
        _, named = r.attribute_args(attrs["McpServerTool"])
        mname = node_text(node.child_by_field_name("name") or node)
        name = named.get("Name", mname)
        if not is_tool_name(name):
            continue
        tool = ExtractedTool(
            name=name, file=rel, line=node.start_point[0] + 1, language="csharp", pattern="cs.attribute"
        )
        if "Description" in attrs:
            pos, _ = r.attribute_args(attrs["Description"])
            tool.set_text("description", pos[0] if pos else Unresolved("empty [Description]"))
        if "Title" in named:
            tool.set_text("title", named["Title"])
        ann = {_ANN[k]: v for k, v in named.items() if k in _ANN and not isinstance(v, Unresolved)}
        tool.annotations = ann or None
        tool.input_schema = _params(r, node)
        tools.append(tool)
    return tools
