"""`kikan schema NAME`: the JSON Schema of a definition file format (the models are the documentation).

An editor (VS Code's YAML extension, for instance) can check a definition file as it is typed
with the printed schema; `kikan schema` without a name lists the kinds.
"""
from __future__ import annotations

import json
from typing import Optional

import typer
from rich.console import Console

from kikan_hub.api.cli_support import fail
from kikan_hub.layouts.definition_models import MODELS

_out = Console(soft_wrap=True, highlight=False)


def schema_command(
    name: Optional[str] = typer.Argument(None, help=f"定義の種類: {' | '.join(MODELS)}"),
) -> None:
    """定義ファイルの書式 (JSON Schema) を表示します。名前なしで種類の一覧。"""
    if name is None:
        for kind, model in MODELS.items():
            _out.print(f"{kind:16} {(model.__doc__ or '').strip().splitlines()[0]}", markup=False)
        return
    model = MODELS.get(name.strip().lower())
    if model is None:
        fail(f"定義の種類 {name!r} はありません (no such kind; one of: {', '.join(MODELS)})")
    schema = model.model_json_schema(by_alias=True)
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": name, **schema}
    print(json.dumps(schema, ensure_ascii=False, indent=2))
