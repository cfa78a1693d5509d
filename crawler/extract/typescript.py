"""TypeScript and JavaScript: the official SDK and the shapes vendor servers use.

Patterns:
- `<x>.tool(name, [description], [zod shape], [annotations], handler)` and
  `<x>.registerTool(name, { title, description, inputSchema, annotations }, handler)`;
- tool objects `{ name, description, inputSchema | parameters, annotations }` wherever they
  stand (arrays, maps, `tools/list` handlers, helper calls like `defineTool({...})`);
  when `name` is a display text and `method` a tool name, `method` is the name;
- classes with a `name`/`toolName` field and a `description` field (`argsShape`/`inputSchema`).
Strings resolve through literals, `+`, template literals whose parts resolve, consts in
scope, relative imports, functions returning a string, `.trim()`, `.join()` and `dedent`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import tree_sitter as ts

from crawler.extract import zod
from crawler.extract.common import (
    ExtractedTool,
    Skipped,
    Unresolved,
    annotations_from,
    dedent,
    is_tool_name,
    node_text,
    strip_unresolved,
)
from crawler.extract.project import Project, language_of

__all__ = ["JsModule", "extract_typescript"]

_MAX_DEPTH = 14
_WRAPPERS = {
    "parenthesized_expression", "as_expression", "satisfies_expression", "non_null_expression",
    "type_assertion", "await_expression",
}  # fmt: skip
_SCHEMA_KEYS = (
    "inputSchema",
    "input_schema",
    "parameters",
    "argsSchema",
    "inputShape",
    "argsShape",
    "schema",
)
_NAME_KEYS = ("name", "toolName", "method")
# A tool object inside an object carrying one of these set to true is not offered over MCP.
_HIDDEN_KEYS = ("skillOnly", "hidden", "internal", "disabled")
_ESCAPES = re.compile(r"\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|\r\n|[\s\S])")
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0", "\n": "", "\r\n": ""}


def _unescape(text: str) -> str:
    def sub(m: re.Match[str]) -> str:
        e = m.group(1)
        if e.startswith("u{"):
            return chr(int(e[2:-1], 16))
        if e[0] in "ux" and len(e) > 1:
            return chr(int(e[1:], 16))
        return _SIMPLE.get(e, e)

    return _ESCAPES.sub(sub, text)


class JsModule:
    """Top-level and exported names of one JS/TS module, and its relative imports."""

    def __init__(self, project: Project, path: Path, src: bytes, tree: ts.Tree) -> None:
        self.project, self.path, self.tree = project, path, tree
        self.values: dict[str, ts.Node] = {}
        self.imports: dict[str, tuple[str, str]] = {}
        self.default: ts.Node | None = None
        for child in tree.root_node.named_children:
            self._index(child)

    def _index(self, node: ts.Node) -> None:
        if node.type == "export_statement":
            decl = node.child_by_field_name("declaration")
            if decl is not None:
                self._index(decl)
            value = node.child_by_field_name("value")
            if value is not None:
                self.default = value
            return
        if node.type in ("lexical_declaration", "variable_declaration"):
            for d in node.named_children:
                if d.type == "variable_declarator":
                    n, v = d.child_by_field_name("name"), d.child_by_field_name("value")
                    if n is not None and v is not None and n.type == "identifier":
                        self.values[node_text(n)] = v
        elif node.type in ("function_declaration", "class_declaration", "enum_declaration"):
            n = node.child_by_field_name("name")
            if n is not None:
                self.values[node_text(n)] = node
        elif node.type == "import_statement":
            src = node.child_by_field_name("source")
            spec = _string_value(src) if src is not None else None
            if not isinstance(spec, str) or not spec.startswith("."):
                return
            for clause in node.named_children:
                if clause.type != "import_clause":
                    continue
                for part in clause.named_children:
                    if part.type == "identifier":
                        self.imports[node_text(part)] = (spec, "default")
                    elif part.type == "named_imports":
                        for s in part.named_children:
                            if s.type == "import_specifier":
                                orig, alias = s.child_by_field_name("name"), s.child_by_field_name("alias")
                                if orig is not None:
                                    self.imports[node_text(alias or orig)] = (spec, node_text(orig))

    def imported(self, name: str) -> tuple[JsModule, str] | None:
        spec = self.imports.get(name)
        if spec is None:
            return None
        base = (self.path.parent / spec[0]).resolve()
        stem = base.with_suffix("") if base.suffix in (".js", ".mjs", ".cjs", ".jsx") else base
        for cand in (
            base, *(stem.with_name(stem.name + e) for e in (".ts", ".tsx", ".js", ".mjs")),
            base / "index.ts", base / "index.js",
        ):  # fmt: skip
            lang = language_of(cand)
            if lang is None or not cand.is_file():
                continue
            other = self.project.module(cand, lambda p, s, t: JsModule(self.project, p, s, t), lang)
            if other is not None:
                return other, spec[1]
        return None


def _string_value(node: ts.Node) -> str | Unresolved:
    if node.type == "string":
        return "".join(
            node_text(c) if c.type == "string_fragment" else _unescape(node_text(c))
            for c in node.named_children
            if c.type in ("string_fragment", "escape_sequence")
        )
    return Unresolved("not a string literal")


class Resolver:
    """Reads constant values out of expressions, following names through scopes and imports."""

    def __init__(self, mod: JsModule) -> None:
        self.mod = mod

    def value(self, node: ts.Node | None, mod: JsModule | None = None, depth: int = 0) -> Any:
        mod = mod or self.mod
        if node is None:
            return Unresolved("missing")
        if depth > _MAX_DEPTH:
            return Unresolved("too many indirections")
        t = node.type
        if t in _WRAPPERS:
            inner = node.named_children[0] if node.named_child_count else None
            return self.value(inner, mod, depth + 1)
        if t == "string":
            return _string_value(node)
        if t == "template_string":
            return self.template(node, mod, depth)
        if t == "number":
            try:
                text = node_text(node).replace("_", "")
                return int(text, 0) if re.fullmatch(r"0[xob][0-9a-fA-F]+|\d+", text) else float(text)
            except ValueError:
                return Unresolved("number")
        if t in ("true", "false"):
            return t == "true"
        if t in ("null", "undefined"):
            return None
        if t == "binary_expression":
            op = node.child_by_field_name("operator")
            if op is not None and op.type == "+":
                left = self.value(node.child_by_field_name("left"), mod, depth + 1)
                right = self.value(node.child_by_field_name("right"), mod, depth + 1)
                if isinstance(left, str | int | float) and isinstance(right, str | int | float):
                    if isinstance(left, str) or isinstance(right, str):
                        return f"{_js_str(left)}{_js_str(right)}"
                    return left + right
            return Unresolved("expression computed at run time")
        if t == "array":
            out: list[Any] = []
            for c in node.named_children:
                if c.type == "spread_element":
                    v = self.value(c.named_children[0] if c.named_child_count else None, mod, depth + 1)
                    out.extend(v if isinstance(v, list) else [Unresolved("spread")])
                elif c.type != "comment":
                    out.append(self.value(c, mod, depth + 1))
            return out
        if t == "object":
            return self.object(node, mod, depth)
        if t == "identifier" or t == "shorthand_property_identifier":
            return self.name(node_text(node), node, mod, depth)
        if t == "member_expression":
            return self.member(node, mod, depth)
        if t == "call_expression":
            return self.call(node, mod, depth)
        return Unresolved(f"{t} is not a constant")

    def template(self, node: ts.Node, mod: JsModule, depth: int) -> Any:
        parts: list[str] = []
        for c in node.named_children:
            if c.type == "string_fragment":
                parts.append(node_text(c))
            elif c.type == "escape_sequence":
                parts.append(_unescape(node_text(c)))
            elif c.type == "template_substitution":
                v = self.value(c.named_children[0] if c.named_child_count else None, mod, depth + 1)
                if not isinstance(v, str | int | float) or isinstance(v, bool):
                    return Unresolved(f"template literal with a run-time value: {node_text(c)[:60]}")
                parts.append(_js_str(v))
        return "".join(parts)

    def object(self, node: ts.Node, mod: JsModule, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for c in node.named_children:
            if c.type == "pair":
                k = self.key(c.child_by_field_name("key"), mod, depth)
                if k is not None:
                    out[k] = c.child_by_field_name("value")
            elif c.type == "shorthand_property_identifier":
                out[node_text(c)] = c
            elif c.type == "spread_element" and c.named_child_count:
                v = self.value(c.named_children[0], mod, depth + 1)
                if isinstance(v, dict):
                    out.update(v)
            elif c.type == "method_definition":
                n = c.child_by_field_name("name")
                if n is not None:
                    out[node_text(n)] = Unresolved("method")
        return {k: (self.value(v, mod, depth + 1) if isinstance(v, ts.Node) else v) for k, v in out.items()}

    def key(self, node: ts.Node | None, mod: JsModule, depth: int) -> str | None:
        if node is None:
            return None
        if node.type in ("property_identifier", "identifier"):
            return node_text(node)
        if node.type == "computed_property_name" and node.named_child_count:
            v = self.value(node.named_children[0], mod, depth + 1)
            return v if isinstance(v, str) else None
        v = self.value(node, mod, depth + 1)
        return v if isinstance(v, str) else None

    def declaration(
        self, name: str, at: ts.Node, mod: JsModule, depth: int = 0
    ) -> tuple[ts.Node, JsModule] | None:
        """Where `name` is bound as seen from `at`: enclosing blocks, then the module, then imports."""
        scope = at.parent
        while scope is not None and scope.type != "program":
            if scope.type in ("statement_block", "class_body"):
                for stmt in scope.named_children:
                    if stmt.start_byte >= at.start_byte:
                        break
                    if stmt.type in ("lexical_declaration", "variable_declaration"):
                        for d in stmt.named_children:
                            n = d.child_by_field_name("name") if d.type == "variable_declarator" else None
                            if n is not None and node_text(n) == name and d.child_by_field_name("value"):
                                return d.child_by_field_name("value"), mod  # type: ignore[return-value]
            scope = scope.parent
        if name in mod.values:
            return mod.values[name], mod
        if depth < 4:
            found = mod.imported(name)
            if found is not None:
                other, orig = found
                if orig == "default":
                    return (other.default, other) if other.default is not None else None
                if orig in other.values:
                    return other.values[orig], other
        return None

    def name(self, name: str, at: ts.Node, mod: JsModule, depth: int) -> Any:
        if name == "undefined":
            return None
        found = self.declaration(name, at, mod)
        if found is None:
            return Unresolved(f"{name!r} is not a constant in reach")
        node, where = found
        if node.type in ("function_declaration", "class_declaration"):
            return Unresolved(f"{name!r} is a {node.type.split('_')[0]}")
        if node.type == "enum_declaration":
            return self.enum(node, where, depth)
        return self.value(node, where, depth + 1)

    def enum(self, node: ts.Node, mod: JsModule, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        body = node.child_by_field_name("body")
        for c in body.named_children if body is not None else []:
            if c.type == "enum_assignment":
                n, v = c.child_by_field_name("name"), c.child_by_field_name("value")
                if n is not None:
                    out[node_text(n)] = self.value(v, mod, depth + 1)
            elif c.type == "property_identifier":
                out[node_text(c)] = Unresolved("enum member without a value")
        return out

    def member(self, node: ts.Node, mod: JsModule, depth: int) -> Any:
        obj, prop = node.child_by_field_name("object"), node.child_by_field_name("property")
        if obj is None or prop is None:
            return Unresolved("member")
        base = self.value(obj, mod, depth + 1)
        key = node_text(prop)
        if isinstance(base, dict) and key in base:
            return base[key]
        if isinstance(base, str | list) and key == "length":
            return len(base)
        return Unresolved(f"{node_text(node)[:60]} is not a constant")

    def function_body(self, fn: ts.Node) -> ts.Node | None:
        """The expression a function returns when its body is one expression or one `return`."""
        if fn.type in ("arrow_function", "function_expression", "function_declaration", "function"):
            body = fn.child_by_field_name("body")
            if body is None:
                return None
            if body.type != "statement_block":
                return body
            stmts = [s for s in body.named_children if s.type != "comment"]
            if (
                stmts
                and stmts[-1].type == "return_statement"
                and stmts[-1].named_child_count
                and all(s.type in ("lexical_declaration", "variable_declaration") for s in stmts[:-1])
            ):
                return stmts[-1].named_children[0]
        return None

    def call(self, node: ts.Node, mod: JsModule, depth: int) -> Any:
        fn, args = node.child_by_field_name("function"), node.child_by_field_name("arguments")
        if fn is None:
            return Unresolved("call")
        if args is not None and args.type == "template_string":  # dedent`...`, String.raw`...`
            s = self.template(args, mod, depth)
            if isinstance(s, str) and node_text(fn).rsplit(".", 1)[-1] == "dedent":
                return dedent(s)
            return (
                s if isinstance(s, str) and node_text(fn) == "String.raw" else Unresolved("tagged template")
            )
        argv = [a for a in (args.named_children if args is not None else []) if a.type != "comment"]
        if fn.type == "member_expression":
            method = node_text(fn.child_by_field_name("property") or fn)
            if method in ("trim", "trimStart", "trimEnd", "join", "toLowerCase", "toUpperCase"):
                base = self.value(fn.child_by_field_name("object"), mod, depth + 1)
                if isinstance(base, str):
                    py = {"trim": base.strip, "trimStart": base.lstrip, "trimEnd": base.rstrip}
                    f = py.get(method)
                    return f() if f else base.lower() if method == "toLowerCase" else base.upper()
                if isinstance(base, list) and method == "join" and all(isinstance(x, str) for x in base):
                    sep = self.value(argv[0], mod, depth + 1) if argv else ","
                    return sep.join(base) if isinstance(sep, str) else Unresolved("join")
                return Unresolved(f".{method}() on a run-time value")
        if fn.type == "identifier" and node_text(fn) == "dedent" and len(argv) == 1:
            s = self.value(argv[0], mod, depth + 1)
            return dedent(s) if isinstance(s, str) else s
        if fn.type == "identifier":
            found = self.declaration(node_text(fn), node, mod)
            if found is not None:
                body = self.function_body(found[0])
                if body is not None:
                    return self.value(body, found[1], depth + 1)
        return Unresolved(f"call to {node_text(fn)[:40]}() computed at run time")

    def schema(self, node: ts.Node | None, mod: JsModule | None = None) -> dict[str, Any] | Unresolved:
        """An input schema from a zod schema or shape, a JSON Schema literal, or a name for one."""
        return zod.to_schema(self, node, mod or self.mod, 0)


def _js_str(v: str | int | float) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _pairs(obj: ts.Node) -> dict[str, ts.Node]:
    out: dict[str, ts.Node] = {}
    for c in obj.named_children:
        if c.type == "pair":
            k = c.child_by_field_name("key")
            v = c.child_by_field_name("value")
            if k is not None and v is not None:
                key = node_text(k).strip("'\"`")
                out[key] = v
        elif c.type == "shorthand_property_identifier":
            out[node_text(c)] = c
    return out


def _apply_config(r: Resolver, tool: ExtractedTool, cfg: dict[str, ts.Node], mod: JsModule) -> None:
    if "description" in cfg:
        tool.set_text("description", r.value(cfg["description"], mod))
    if "title" in cfg:
        tool.set_text("title", r.value(cfg["title"], mod))
    for key in _SCHEMA_KEYS:
        if key in cfg:
            s = r.schema(cfg[key], mod)
            if isinstance(s, dict):
                tool.input_schema = s
            else:
                tool.unresolved.append("input_schema")
                tool.notes.append(f"input_schema: {s.reason}")
            break
    if "annotations" in cfg:
        ann = annotations_from(strip_unresolved(r.value(cfg["annotations"], mod)))
        tool.annotations = ann
        if tool.title is None and ann and isinstance(ann.get("title"), str):
            tool.title = ann["title"]


def _config_object(r: Resolver, node: ts.Node, mod: JsModule) -> ts.Node | None:
    """The object literal an argument is or names (`const config = {...}`)."""
    for _ in range(4):
        while node.type in _WRAPPERS and node.named_child_count:
            node = node.named_children[0]
        if node.type == "object":
            return node
        if node.type != "identifier":
            return None
        found = r.declaration(node_text(node), node, mod)
        if found is None or found[1] is not mod:
            return None
        node = found[0]
    return None


def _hidden(r: Resolver, obj: ts.Node, mod: JsModule) -> bool:
    """The tool object, or the object holding it, flags itself as not offered over MCP."""
    for holder in (obj, obj.parent.parent if obj.parent is not None and obj.parent.type == "pair" else None):
        if holder is None or holder.type != "object":
            continue
        pairs = _pairs(holder)
        if any(k in pairs and pairs[k].type == "true" for k in _HIDDEN_KEYS):
            return True
    return False


def _from_object(r: Resolver, mod: JsModule, rel: str, obj: ts.Node) -> ExtractedTool | None:
    pairs = _pairs(obj)
    if "params" in pairs and any(k in pairs for k in ("handler", "execute", "callback")):
        pairs.setdefault("inputSchema", pairs.pop("params"))  # {name, description, params, handler}
    if "description" not in pairs or not any(k in pairs for k in (*_SCHEMA_KEYS, "annotations")):
        return None
    if "uri" in pairs or "uriTemplate" in pairs or "arguments" in pairs:
        return None  # a resource or a prompt
    names = {k: r.value(pairs[k], mod) for k in _NAME_KEYS if k in pairs}
    name = next((v for k, v in names.items() if is_tool_name(v)), None)
    if name is None:
        if isinstance(names.get("name"), Unresolved) and "inputSchema" in pairs:
            reason = names["name"].reason
            r.mod.project.skipped.append(
                Skipped(rel, f"tool name built at run time: {reason}", obj.start_point[0] + 1)
            )
        return None
    if _hidden(r, obj, mod):
        return None
    tool = ExtractedTool(
        name=name, file=rel, line=obj.start_point[0] + 1, language="typescript", pattern="ts.object"
    )
    display = names.get("name")
    if display != name and isinstance(display, str):
        tool.title = display
    _apply_config(r, tool, pairs, mod)
    return tool


_TOOL_METHOD = re.compile(r"^(tool|\w*Tool\w*)$")
_NOT_A_DEFINITION = re.compile(
    r"^(get|call|remove|delete|disable|enable|has|find|run|invoke|execute|handle|list|set|update|is|to|on)[A-Z_]"
)


def _from_call(r: Resolver, mod: JsModule, rel: str, node: ts.Node) -> ExtractedTool | None:
    """`x.tool(...)`, `x.registerTool(...)` and wrappers named like them (`accountTool`, ...)."""
    fn, args = node.child_by_field_name("function"), node.child_by_field_name("arguments")
    if fn is None or args is None or fn.type != "member_expression":
        return None
    method = node_text(fn.child_by_field_name("property") or fn)
    if not _TOOL_METHOD.match(method) or _NOT_A_DEFINITION.match(method):
        return None
    argv = [a for a in args.named_children if a.type != "comment"]
    if len(argv) < 2:
        return None
    cfg = _config_object(r, argv[1], mod)
    keys = set(_pairs(cfg)) if cfg is not None else set()
    config_style = bool(keys & {"description", "inputSchema", "title", "annotations", "parameters"})
    if method != "tool" and not config_style and argv[1].type not in ("string", "template_string"):
        return None
    name = r.value(argv[0], mod)
    line = node.start_point[0] + 1
    if not is_tool_name(name):
        if isinstance(name, Unresolved) and (config_style or method in ("tool", "registerTool")):
            r.mod.project.skipped.append(Skipped(rel, f"tool name built at run time: {name.reason}", line))
        return None
    tool = ExtractedTool(name=name, file=rel, line=line, language="typescript", pattern=f"ts.{method}")
    rest = argv[1:]
    if config_style and cfg is not None:
        _apply_config(r, tool, _pairs(cfg), mod)
        return tool
    # server.tool(name, description?, paramsSchemaOrAnnotations?, annotations?, cb)
    rest = [a for a in rest if a.type not in ("arrow_function", "function_expression", "function")]
    if rest and rest[-1].type == "identifier" and r.declaration(node_text(rest[-1]), node, mod) is None:
        rest = rest[:-1]  # a handler passed by name from elsewhere
    if rest:
        first = r.value(rest[0], mod)
        if isinstance(first, str) or (
            isinstance(first, Unresolved) and rest[0].type not in ("object", "identifier", "call_expression")
        ):
            tool.set_text("description", first)
            rest = rest[1:]
    for a in rest:
        obj = _config_object(r, a, mod)
        keys = set(_pairs(obj)) if obj is not None else set()
        if obj is not None and keys and keys <= {"title", *annotations_keys()}:
            tool.annotations = annotations_from(r.value(obj, mod))
        elif tool.input_schema is None:
            s = r.schema(a, mod)
            if isinstance(s, dict):
                tool.input_schema = s
    return tool


def annotations_keys() -> set[str]:
    return {"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"}


def _from_class(r: Resolver, mod: JsModule, rel: str, cls: ts.Node) -> ExtractedTool | None:
    body = cls.child_by_field_name("body")
    if body is None:
        return None
    fields: dict[str, ts.Node] = {}
    for m in body.named_children:
        if m.type == "public_field_definition" or m.type == "field_definition":
            n = m.child_by_field_name("name") or m.child_by_field_name("property")
            v = m.child_by_field_name("value")
            if n is not None and v is not None:
                fields[node_text(n)] = v
    if "description" not in fields:
        return None
    name = next((r.value(fields[k], mod) for k in ("toolName", "name") if k in fields), None)
    if not is_tool_name(name):
        return None
    tool = ExtractedTool(
        name=name, file=rel, line=cls.start_point[0] + 1, language="typescript", pattern="ts.class"
    )
    _apply_config(r, tool, fields, mod)
    return tool


def extract_typescript(project: Project, path: Path, src: bytes, tree: ts.Tree) -> list[ExtractedTool]:
    mod = JsModule(project, path, src, tree)
    project.put(path, mod)
    rel = project.rel(path)
    r = Resolver(mod)
    tools: list[ExtractedTool] = []
    covered = -1  # end byte of the last tool call: its config object belongs to it
    lang = "typescript" if path.suffix.lower() in (".ts", ".mts", ".cts") else "tsx"
    lang = "javascript" if path.suffix.lower() in (".js", ".mjs", ".cjs", ".jsx") else lang
    kinds = ("call_expression", "object", "class_declaration", "class")
    if lang != "javascript":
        kinds = (*kinds, "abstract_class_declaration")
    for node in project.find(tree, lang, kinds):
        if node.start_byte < covered:
            continue
        t = node.type
        if t == "call_expression":
            tool = _from_call(r, mod, rel, node)
            if tool is not None:
                covered = node.end_byte
        elif t == "object":
            tool = _from_object(r, mod, rel, node)
        else:
            tool = _from_class(r, mod, rel, node)
        if tool is not None:
            tools.append(tool)
    return tools


def parse_json_schema(text: str) -> dict[str, Any] | None:
    try:
        v = json.loads(text)
    except ValueError:
        return None
    return v if isinstance(v, dict) else None
