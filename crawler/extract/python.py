"""Python: FastMCP and official-SDK tool declarations.

Patterns: `@<any>.tool(...)` decorators (name and docstring from the function when not
given), `<any>.tool(name=...)(fn)` and `<any>.add_tool(fn, ...)` registrations, and
`Tool(name=..., description=..., inputSchema=..., annotations=ToolAnnotations(...))` calls.
The input schema comes from the typed signature (`Annotated[..., Field(description=...)]`,
`= Field(...)` defaults), a JSON Schema literal, or a pydantic model's `model_json_schema()`.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import tree_sitter as ts

from crawler.extract.common import (
    ExtractedTool,
    Unresolved,
    annotations_from,
    cleandoc,
    dedent,
    is_tool_name,
    node_text,
    schema_from_properties,
    strip_unresolved,
)
from crawler.extract.project import Project

__all__ = ["extract_python"]

_MAX_DEPTH = 12
_SKIP_PARAMS = {"self", "cls", "ctx", "context"}
_SCALARS = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "dict": "object",
    "Dict": "object",
    "list": "array",
    "List": "array",
    "Sequence": "array",
    "tuple": "array",
    "set": "array",
}


class PyModule:
    """Top-level names of one module: assignments, classes, functions and relative imports."""

    def __init__(self, project: Project, path: Path, src: bytes, tree: ts.Tree) -> None:
        self.project, self.path, self.tree = project, path, tree
        self.values: dict[str, ts.Node] = {}
        self.classes: dict[str, ts.Node] = {}
        self.functions: dict[str, ts.Node] = {}
        self.imports: dict[str, tuple[str, str]] = {}
        for child in tree.root_node.named_children:
            self._index(child)

    def _index(self, node: ts.Node) -> None:
        if node.type == "decorated_definition":
            inner = node.child_by_field_name("definition")
            if inner is not None:
                self._index(inner)
            return
        if node.type == "expression_statement" and node.named_child_count:
            node = node.named_children[0]
        if node.type == "assignment":
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            if left is not None and right is not None and left.type == "identifier":
                self.values[node_text(left)] = right
        elif node.type == "class_definition":
            name = node.child_by_field_name("name")
            if name is not None:
                self.classes[node_text(name)] = node
        elif node.type in ("function_definition", "async_function_definition"):
            name = node.child_by_field_name("name")
            if name is not None:
                self.functions[node_text(name)] = node
        elif node.type == "import_from_statement":
            mod = node.child_by_field_name("module_name")
            if mod is None or not node_text(mod).startswith("."):
                return
            for n in node.children_by_field_name("name"):
                if n.type == "aliased_import":
                    orig, alias = n.child_by_field_name("name"), n.child_by_field_name("alias")
                    if orig is not None and alias is not None:
                        self.imports[node_text(alias)] = (node_text(mod), node_text(orig))
                else:
                    self.imports[node_text(n)] = (node_text(mod), node_text(n))

    def imported(self, name: str) -> tuple[PyModule, str] | None:
        spec = self.imports.get(name)
        if spec is None:
            return None
        mod, orig = spec
        dots = len(mod) - len(mod.lstrip("."))
        base = self.path.parent
        for _ in range(dots - 1):
            base = base.parent
        rest = [p for p in mod.lstrip(".").split(".") if p]
        target = base.joinpath(*rest)
        for cand in (target.with_suffix(".py"), target / "__init__.py"):
            other = self.project.module(cand, _build(self.project), "python")
            if other is not None:
                return other, orig
        return None


def _build(project: Project) -> Any:
    return lambda path, src, tree: PyModule(project, path, src, tree)


def _string(node: ts.Node) -> str | Unresolved:
    text = node_text(node)
    prefix = text[: len(text) - len(text.lstrip("rRbBuUfF"))].lower()
    if "f" in prefix and any(c.type == "interpolation" for c in node.named_children):
        return Unresolved("f-string with run-time values")
    if "f" in prefix:
        text = text[len(prefix) :]
        prefix = prefix.replace("f", "")
        text = prefix + text
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return Unresolved("string literal could not be decoded")
    return value if isinstance(value, str) else Unresolved("bytes literal")


class _Resolver:
    def __init__(self, mod: PyModule) -> None:
        self.mod = mod

    def value(self, node: ts.Node | None, mod: PyModule | None = None, depth: int = 0) -> Any:
        mod = mod or self.mod
        if node is None:
            return Unresolved("missing")
        if depth > _MAX_DEPTH:
            return Unresolved("too many indirections")
        t = node.type
        if t == "string":
            return _string(node)
        if t == "concatenated_string":
            parts = [self.value(c, mod, depth + 1) for c in node.named_children]
            return "".join(parts) if all(isinstance(p, str) for p in parts) else Unresolved("concatenation")
        if t == "parenthesized_expression" and node.named_child_count == 1:
            return self.value(node.named_children[0], mod, depth + 1)
        if t == "integer":
            try:
                return int(node_text(node).replace("_", ""), 0)
            except ValueError:
                return Unresolved("integer")
        if t == "float":
            return float(node_text(node).replace("_", ""))
        if t in ("true", "false"):
            return t == "true"
        if t == "none":
            return None
        if t == "unary_operator" and node_text(node).startswith("-"):
            v = self.value(node.named_children[-1], mod, depth + 1)
            return -v if isinstance(v, int | float) else Unresolved("negation")
        if t == "binary_operator":
            op = node.child_by_field_name("operator")
            left = self.value(node.child_by_field_name("left"), mod, depth + 1)
            right = self.value(node.child_by_field_name("right"), mod, depth + 1)
            if op is not None and op.type == "+" and isinstance(left, str) and isinstance(right, str):
                return left + right
            return Unresolved("expression computed at run time")
        if t in ("list", "tuple", "set"):
            return [self.value(c, mod, depth + 1) for c in node.named_children if c.type != "comment"]
        if t == "dictionary":
            out: dict[str, Any] = {}
            for pair in node.named_children:
                if pair.type != "pair":
                    continue
                k = self.value(pair.child_by_field_name("key"), mod, depth + 1)
                if isinstance(k, str):
                    out[k] = self.value(pair.child_by_field_name("value"), mod, depth + 1)
            return out
        if t == "identifier":
            return self.name(node_text(node), mod, depth)
        if t == "attribute":
            return self.attribute(node, mod, depth)
        if t == "call":
            return self.call(node, mod, depth)
        return Unresolved(f"{t} is not a constant")

    def name(self, name: str, mod: PyModule, depth: int) -> Any:
        if name in mod.values:
            return self.value(mod.values[name], mod, depth + 1)
        found = mod.imported(name)
        if found is not None:
            other, orig = found
            return self.name(orig, other, depth + 1)
        return Unresolved(f"name {name!r} is not a module constant")

    def attribute(self, node: ts.Node, mod: PyModule, depth: int) -> Any:
        obj, attr = node.child_by_field_name("object"), node.child_by_field_name("attribute")
        if obj is None or attr is None:
            return Unresolved("attribute")
        a = node_text(attr)
        if a == "value" and obj.type == "attribute":
            return self.attribute(obj, mod, depth + 1)  # Enum.MEMBER.value
        if obj.type == "identifier":
            cls = self._class(node_text(obj), mod)
            if cls is not None:
                cls_node, cls_mod = cls
                for stmt in _class_body(cls_node):
                    if stmt.type == "assignment":
                        left = stmt.child_by_field_name("left")
                        if left is not None and node_text(left) == a:
                            return self.value(stmt.child_by_field_name("right"), cls_mod, depth + 1)
        return Unresolved(f"attribute {node_text(node)!r} is not a constant")

    def _class(self, name: str, mod: PyModule) -> tuple[ts.Node, PyModule] | None:
        if name in mod.classes:
            return mod.classes[name], mod
        found = mod.imported(name)
        if found is not None and found[1] in found[0].classes:
            return found[0].classes[found[1]], found[0]
        return None

    def call(self, node: ts.Node, mod: PyModule, depth: int) -> Any:
        fn, args = node.child_by_field_name("function"), node.child_by_field_name("arguments")
        if fn is None or args is None:
            return Unresolved("call")
        fname = node_text(fn).rsplit(".", 1)[-1]
        pos = [a for a in args.named_children if a.type not in ("keyword_argument", "comment")]
        if fname in ("dedent", "cleandoc") and len(pos) == 1:
            s = self.value(pos[0], mod, depth + 1)
            return (dedent(s) if fname == "dedent" else cleandoc(s)) if isinstance(s, str) else s
        if fn.type == "attribute" and fname in ("strip", "lstrip", "rstrip") and not pos:
            obj = self.value(fn.child_by_field_name("object"), mod, depth + 1)
            return getattr(obj, fname)() if isinstance(obj, str) else obj
        if fname == "ToolAnnotations" or fname == "dict":
            return {k: v for k, v in self.kwargs(args, mod, depth).items()}
        if fname == "model_json_schema" and fn.type == "attribute":
            obj = fn.child_by_field_name("object")
            cls = self._class(node_text(obj), mod) if obj is not None and obj.type == "identifier" else None
            if cls is not None:
                return self.model_schema(cls[0], cls[1])
        return Unresolved(f"call to {fname}() computed at run time")

    def kwargs(self, args: ts.Node, mod: PyModule, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for a in args.named_children:
            if a.type == "keyword_argument":
                k, v = a.child_by_field_name("name"), a.child_by_field_name("value")
                if k is not None:
                    out[node_text(k)] = self.value(v, mod, depth + 1)
        return out

    # ---- schemas from typed signatures and pydantic models ----

    def type_schema(self, ann: ts.Node | None, mod: PyModule) -> tuple[dict[str, Any], str | None, bool]:
        """(schema, description, optional) for a type annotation."""
        if ann is None:
            return {}, None, False
        node = ann.named_children[0] if ann.type == "type" and ann.named_child_count else ann
        text = node_text(node)
        if node.type == "binary_operator" and text.replace(" ", "").endswith("|None"):
            s, d, _ = self.type_schema(node.child_by_field_name("left"), mod)
            return s, d, True
        if node.type == "generic_type" or node.type == "subscript":
            head = text.split("[", 1)[0].rsplit(".", 1)[-1]
            inner = [c for c in _type_args(node)]
            if head == "Annotated" and inner:
                s, d, opt = self.type_schema(inner[0], mod)
                for meta in inner[1:]:
                    m = meta.named_children[0] if meta.type == "type" and meta.named_child_count else meta
                    if m.type == "call" and node_text(m.child_by_field_name("function") or m).endswith(
                        "Field"
                    ):
                        kw = self.kwargs(m.child_by_field_name("arguments") or m, mod, 0)
                        if isinstance(kw.get("description"), str):
                            d = kw["description"]
                    elif m.type == "string":
                        v = _string(m)
                        d = v if isinstance(v, str) else d
                return s, d, opt
            if head == "Optional" and inner:
                s, d, _ = self.type_schema(inner[0], mod)
                return s, d, True
            if head == "Literal":
                vals = [self.value(_unwrap_type(c), mod) for c in inner]
                return {"enum": [v for v in vals if not isinstance(v, Unresolved)]}, None, False
            if head in _SCALARS:
                s = {"type": _SCALARS[head]}
                if s["type"] == "array" and inner:
                    s["items"] = self.type_schema(inner[0], mod)[0]
                return s, None, False
            return {}, None, False
        name = text.rsplit(".", 1)[-1]
        if name in _SCALARS:
            return {"type": _SCALARS[name]}, None, False
        if name in ("None", "NoneType"):
            return {"type": "null"}, None, True
        return {}, None, False

    def param_schema(
        self, ann: ts.Node | None, default: ts.Node | None, mod: PyModule
    ) -> tuple[dict[str, Any], bool]:
        schema, desc, optional = self.type_schema(ann, mod)
        required = default is None
        if default is not None and default.type == "call":
            fname = node_text(default.child_by_field_name("function") or default)
            if fname.endswith("Field"):
                args = default.child_by_field_name("arguments")
                kw = self.kwargs(args, mod, 0) if args is not None else {}
                pos = [a for a in (args.named_children if args else []) if a.type != "keyword_argument"]
                if isinstance(kw.get("description"), str):
                    desc = kw["description"]
                required = bool(pos and node_text(pos[0]) == "...") or (
                    not pos and "default" not in kw and "default_factory" not in kw
                )
                if "default" in kw and not isinstance(kw["default"], Unresolved):
                    schema = {**schema, "default": kw["default"]}
        elif default is not None:
            v = self.value(default, mod)
            if not isinstance(v, Unresolved):
                schema = {**schema, "default": v}
        if desc:
            schema = {**schema, "description": desc}
        return schema, required and not (optional and default is not None)

    def signature_schema(self, fn: ts.Node, mod: PyModule) -> dict[str, Any]:
        props: dict[str, dict[str, Any]] = {}
        required: list[str] = []
        params = fn.child_by_field_name("parameters")
        for p in params.named_children if params is not None else []:
            if p.type in ("identifier",):
                name, ann, default = node_text(p), None, None
            elif p.type in ("typed_parameter",):
                ident = next((c for c in p.named_children if c.type == "identifier"), None)
                if ident is None:
                    continue
                name, ann, default = node_text(ident), p.child_by_field_name("type"), None
            elif p.type in ("default_parameter", "typed_default_parameter"):
                ident = p.child_by_field_name("name")
                if ident is None:
                    continue
                name, ann, default = (
                    node_text(ident),
                    p.child_by_field_name("type"),
                    p.child_by_field_name("value"),
                )
            else:
                continue
            if name in _SKIP_PARAMS or (ann is not None and "Context" in node_text(ann)):
                continue
            schema, req = self.param_schema(ann, default, mod)
            props[name] = schema
            if req:
                required.append(name)
        return schema_from_properties(props, required)

    def model_schema(self, cls: ts.Node, mod: PyModule) -> dict[str, Any]:
        props: dict[str, dict[str, Any]] = {}
        required: list[str] = []
        for stmt in _class_body(cls):
            if stmt.type != "assignment" or stmt.child_by_field_name("type") is None:
                continue
            left = stmt.child_by_field_name("left")
            if left is None or left.type != "identifier":
                continue
            schema, req = self.param_schema(
                stmt.child_by_field_name("type"), stmt.child_by_field_name("right"), mod
            )
            props[node_text(left)] = schema
            if req:
                required.append(node_text(left))
        return schema_from_properties(props, required)


def _unwrap_type(node: ts.Node) -> ts.Node:
    return node.named_children[0] if node.type == "type" and node.named_child_count else node


def _type_args(node: ts.Node) -> list[ts.Node]:
    for c in node.named_children:
        if c.type == "type_parameter":
            return [x for x in c.named_children]
    return [c for c in node.named_children[1:]]


def _class_body(cls: ts.Node) -> list[ts.Node]:
    body = cls.child_by_field_name("body")
    out = []
    for stmt in body.named_children if body is not None else []:
        out.append(
            stmt.named_children[0] if stmt.type == "expression_statement" and stmt.named_child_count else stmt
        )
    return out


def _docstring(fn: ts.Node) -> ts.Node | None:
    body = fn.child_by_field_name("body")
    if body is None or not body.named_child_count:
        return None
    first = body.named_children[0]
    if (
        first.type == "expression_statement"
        and first.named_child_count
        and first.named_children[0].type == "string"
    ):
        return first.named_children[0]
    return None


def _is_tool_call(node: ts.Node) -> bool:
    """`<x>.tool(...)` (FastMCP, the SDK's FastMCP) with `tool` as the attribute."""
    fn = node.child_by_field_name("function")
    return fn is not None and fn.type == "attribute" and node_text(fn).rsplit(".", 1)[-1] == "tool"


def _find_function(mod: PyModule, ref: ts.Node, near: ts.Node) -> tuple[ts.Node, PyModule] | None:
    """The function a registration names: `fn`, `self.method`, one imported from a module beside."""
    name = node_text(ref).rsplit(".", 1)[-1]
    if name in mod.functions:
        return mod.functions[name], mod
    if ref.type == "identifier":
        found = mod.imported(name)
        if found is not None and found[1] in found[0].functions:
            return found[0].functions[found[1]], found[0]
    cls = near.parent
    while cls is not None and cls.type != "class_definition":
        cls = cls.parent
    for stmt in _class_body(cls) if cls is not None else []:
        fn = stmt.child_by_field_name("definition") if stmt.type == "decorated_definition" else stmt
        if fn is not None and fn.type == "function_definition":
            n = fn.child_by_field_name("name")
            if n is not None and node_text(n) == name:
                return fn, mod
    return None


def _from_function(
    r: _Resolver,
    mod: PyModule,
    rel: str,
    fn: ts.Node,
    kw: dict[str, Any],
    pos: list[Any],
    line: int,
    pattern: str,
) -> ExtractedTool | None:
    fname = node_text(fn.child_by_field_name("name") or fn)
    name = kw.get("name", pos[0] if pos else fname)
    if not is_tool_name(name):
        return None
    tool = ExtractedTool(name=name, file=rel, line=line, language="python", pattern=pattern)
    if "description" in kw:
        tool.set_text("description", kw["description"])
    else:
        doc = _docstring(fn)
        if doc is not None:
            d = _string(doc)
            tool.set_text("description", cleandoc(d) if isinstance(d, str) else d)
    if "title" in kw:
        tool.set_text("title", kw["title"])
    tool.input_schema = r.signature_schema(fn, mod)
    tool.annotations = annotations_from(kw.get("annotations"))
    if tool.annotations and "title" in tool.annotations and tool.title is None:
        tool.title = tool.annotations["title"]
    return tool


def _args(r: _Resolver, call: ts.Node, mod: PyModule) -> tuple[dict[str, Any], list[Any], list[ts.Node]]:
    args = call.child_by_field_name("arguments")
    if args is None:
        return {}, [], []
    pos_nodes = [a for a in args.named_children if a.type not in ("keyword_argument", "comment")]
    return r.kwargs(args, mod, 0), [r.value(a, mod) for a in pos_nodes], pos_nodes


def extract_python(project: Project, path: Path, src: bytes, tree: ts.Tree) -> list[ExtractedTool]:
    mod = PyModule(project, path, src, tree)
    project.put(path, mod)
    rel = project.rel(path)
    r = _Resolver(mod)
    tools: list[ExtractedTool] = []
    for node in project.find(tree, "python", ("decorated_definition", "call")):
        if node.type == "decorated_definition":
            fn = node.child_by_field_name("definition")
            for dec in node.named_children:
                if dec.type != "decorator" or fn is None or fn.type != "function_definition":
                    continue
                expr = dec.named_children[0] if dec.named_child_count else dec
                if expr.type == "attribute" and node_text(expr).rsplit(".", 1)[-1] == "tool":
                    t = _from_function(r, mod, rel, fn, {}, [], dec.start_point[0] + 1, "py.decorator")
                elif expr.type == "call" and _is_tool_call(expr):
                    kw, pos, _ = _args(r, expr, mod)
                    t = _from_function(r, mod, rel, fn, kw, pos, dec.start_point[0] + 1, "py.decorator")
                else:
                    continue
                if t is not None:
                    tools.append(t)
        elif node.parent is None or node.parent.type != "decorator":
            t = _from_call(r, mod, rel, node)
            if t is not None:
                tools.append(t)
    return tools


def _from_call(r: _Resolver, mod: PyModule, rel: str, node: ts.Node) -> ExtractedTool | None:
    fn = node.child_by_field_name("function")
    if fn is None:
        return None
    line = node.start_point[0] + 1
    # mcp.tool(name="x")(handler)
    if fn.type == "call" and _is_tool_call(fn):
        _, _, pos_nodes = _args(r, node, mod)
        target = _find_function(mod, pos_nodes[0], node) if pos_nodes else None
        if target is None:
            return None
        kw, pos, _ = _args(r, fn, mod)
        return _from_function(r, target[1], rel, target[0], kw, pos, line, "py.register")
    fname = node_text(fn).rsplit(".", 1)[-1]
    if fname == "add_tool" and fn.type == "attribute":
        kw, _, pos_nodes = _args(r, node, mod)
        target = _find_function(mod, pos_nodes[0], node) if pos_nodes else None
        if target is None:
            return None
        return _from_function(r, target[1], rel, target[0], kw, [], line, "py.add_tool")
    if fname != "Tool":
        return None
    kw, pos, _ = _args(r, node, mod)
    name = kw.get("name")
    if not is_tool_name(name):
        return None
    tool = ExtractedTool(name=name, file=rel, line=line, language="python", pattern="py.Tool")
    tool.set_text("description", kw.get("description", Unresolved("no description given")))
    if "title" in kw:
        tool.set_text("title", kw["title"])
    schema = kw.get("inputSchema", kw.get("input_schema"))
    if isinstance(schema, dict):
        tool.input_schema = strip_unresolved(schema)
    elif isinstance(schema, Unresolved):
        tool.unresolved.append("input_schema")
        tool.notes.append(f"input_schema: {schema.reason}")
    tool.annotations = annotations_from(kw.get("annotations"))
    if tool.title is None and tool.annotations and isinstance(tool.annotations.get("title"), str):
        tool.title = tool.annotations["title"]
    return tool
