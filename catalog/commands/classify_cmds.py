"""Classifier commands: classify (one tool or a JSONL batch), evaluate, train.

Thin on purpose: each command parses its options, calls one function of ``classifier`` and
prints the result. Heavy imports (the catalog store, scikit-learn for training) happen only in
the command that needs them, so a one-off ``mcpcat classify NAME`` starts fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from catalog.commands.common import DbOption, JsonOption, console, db_url, print_json

__all__ = ["register"]

IgnoreAnnotations = Annotated[
    bool,
    typer.Option(
        "--ignore-annotations", help="Judge the definition alone; disregard declared MCP annotations."
    ),
]


def _json_object(value: str | None, option: str) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        obj = json.loads(value)
    except json.JSONDecodeError as e:
        raise typer.BadParameter(f"not JSON: {e.msg}", param_hint=option) from e
    if not isinstance(obj, dict):
        raise typer.BadParameter("must be a JSON object", param_hint=option)
    return obj


def _stored(name: str, db: str | None) -> list[dict[str, Any]]:
    """Stored classifications of tools with this name, per server; [] when there is no catalog.

    A SQLite catalog is opened only when its file exists, so a one-off classify creates nothing.
    """
    url = db_url(db)
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if not path or path.startswith(":memory:") or not Path(path.split("?", 1)[0]).is_file():
            return []
    from catalog.store import Catalog

    with Catalog(url) as cat:
        rows: list[dict[str, Any]] = cat.tools_named(name)
    return [
        {k: r.get(k) for k in ("server", "tool", "label", "confidence", "rationale", "overridden")}
        for r in rows
    ]


def classify(
    name: Annotated[str | None, typer.Argument(help="The tool's name.", show_default=False)] = None,
    description: Annotated[str | None, typer.Option("--description", help="The tool's description.")] = None,
    schema: Annotated[str | None, typer.Option("--schema", help="The input schema, as JSON.")] = None,
    annotations: Annotated[
        str | None, typer.Option("--annotations", help="Declared MCP annotations, as JSON.")
    ] = None,
    input_file: Annotated[
        Path | None,
        typer.Option("--input", help="Classify every line of a JSONL file ('-' for stdin) instead of NAME."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", help="With --input: write JSONL here instead of stdout.")
    ] = None,
    ignore_annotations: IgnoreAnnotations = False,
    as_json: JsonOption = False,
    db: DbOption = "",
) -> None:
    """Class a tool as Read, Write or Destructive, with the evidence; or a JSONL batch with --input.

    Example: mcpcat classify fetch_playback_progress
    """
    import classifier
    from classifier.errors import InvalidInput

    if input_file is not None:
        if name is not None:
            raise typer.BadParameter("give either NAME or --input, not both", param_hint="NAME")
        _batch(input_file, output, ignore_annotations)
        return
    if name is None or not name.strip():
        raise InvalidInput("tool name is empty")
    c = classifier.classify(
        name,
        description,
        _json_object(schema, "--schema"),
        _json_object(annotations, "--annotations"),
        ignore_annotations=ignore_annotations,
    )
    stored = _stored(name, db)
    if as_json:
        print_json(
            {
                "name": name,
                **c.to_dict(),
                "classifier_version": classifier.CLASSIFIER_VERSION,
                "stored": stored,
            }
        )
        return
    out = console()
    colour = {"Read": "green", "Write": "yellow", "Destructive": "red"}[c.label]
    out.print(
        Text(name, style="bold") + ": " + Text(c.label, style=colour) + f" (confidence {c.confidence:.2f})"
    )
    for line in c.rationale:
        out.print(f"  {line}", markup=False, highlight=False)
    for flag in c.flags:
        out.print(f"  flag {flag['id']} {flag['name']}: {flag['evidence']}", markup=False, highlight=False)
    if stored:
        out.print("in the catalog:", highlight=False)
        for row in stored:
            mark = " (override)" if row["overridden"] else ""
            out.print(f"  {row['server']}: {row['label']}{mark}", markup=False, highlight=False)


def _batch(input_file: Path, output: Path | None, ignore_annotations: bool) -> None:
    from classifier.batch import classify_jsonl

    source = sys.stdin if str(input_file) == "-" else input_file.open(encoding="utf-8")
    try:
        if output is None:
            classify_jsonl(source, sys.stdout, ignore_annotations=ignore_annotations)
        else:
            with output.open("w", encoding="utf-8") as out:
                classify_jsonl(source, out, ignore_annotations=ignore_annotations)
    finally:
        if source is not sys.stdin:
            source.close()


def evaluate(
    file: Annotated[Path, typer.Argument(help="JSONL of tools, each with its true label.")],
    ignore_annotations: IgnoreAnnotations = False,
    as_json: JsonOption = False,
) -> None:
    """Measure the classifier on labeled tools: precision, recall, F1, confusion, under-classification.

    Example: mcpcat evaluate labeled.jsonl --ignore-annotations
    """
    from rich.table import Table

    from classifier.batch import evaluate_rows, read_jsonl

    with file.open(encoding="utf-8") as fh:
        rows = read_jsonl(fh)
    result = evaluate_rows(rows, ignore_annotations=ignore_annotations)
    if as_json:
        print_json(result)
        return
    table = Table(title=f"{result['tools']} tools, macro-F1 {result['macro_f1']:.3f}")
    for col in ("class", "precision", "recall", "F1", "support", "as Read", "as Write", "as Destructive"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for label, m in result["per_class"].items():
        conf = result["confusion"][label]
        table.add_row(
            label,
            f"{m['precision']:.3f}",
            f"{m['recall']:.3f}",
            f"{m['f1']:.3f}",
            str(m["support"]),
            *(str(conf[p]) for p in ("Read", "Write", "Destructive")),
        )
    out = console()
    out.print(table)
    out.print(
        f"under-classification {result['under_classification']:.2%} ({result['under_classified']} tools), "
        f"Destructive called Read: {result['destructive_called_read']}",
        highlight=False,
    )


def train(
    corpus: Annotated[
        Path | None,
        typer.Option("--corpus", help="Also train on a labeled corpus (e.g. ../shared/corpus/dev.jsonl)."),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", help="Where to write the artifact.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Rebuild the model artifact from the training data, deterministically (same inputs, same bytes).

    Example: mcpcat train --corpus ../shared/corpus/dev.jsonl
    """
    from classifier.model import ARTIFACT_PATH
    from classifier.model import train as train_model

    meta = train_model(corpus=corpus, output=output or ARTIFACT_PATH)
    if as_json:
        print_json(meta)
        return
    console().print(
        f"trained on {meta['rows']} tools {meta['classes']}: {meta['features']} features, "
        f"artifact sha256 {meta['artifact_sha256']}",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("classify")(classify)
    app.command("evaluate")(evaluate)
    app.command("train")(train)
