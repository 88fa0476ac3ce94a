"""Shared CLI plumbing: user-facing failures (exit 2, no traceback) and mounting sub-apps."""
from __future__ import annotations

import importlib
import importlib.util
from typing import NoReturn

import typer
from rich.console import Console

_err = Console(stderr=True)

# (sub-command name, module, attribute). Each area keeps its own small CLI module.
SUBCOMMANDS: tuple[tuple[str, str, str], ...] = (
    ("sample", "kikan_hub.api.cli_sample", "app"),
    ("gaiji", "kikan_hub.api.cli_gaiji", "app"),
    ("layouts", "kikan_hub.api.cli_layouts", "app"),
)


def fail(message: str, code: int = 2) -> NoReturn:
    _err.print(f"[bold red]エラー:[/] {message}", markup=True, highlight=False)
    raise typer.Exit(code)


def install_subcommands(app: typer.Typer) -> None:
    for name, module, attr in SUBCOMMANDS:
        if importlib.util.find_spec(module) is None:  # an area not built yet; tests list what must exist
            continue
        sub = getattr(importlib.import_module(module), attr)
        if isinstance(sub, typer.Typer):
            if sub.registered_commands and len(sub.registered_commands) == 1 and not sub.registered_groups and name == "sample":
                app.command(name)(sub.registered_commands[0].callback)
            else:
                app.add_typer(sub, name=name)
        else:
            app.command(name)(sub)
