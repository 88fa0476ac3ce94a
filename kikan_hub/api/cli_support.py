"""Shared CLI plumbing: user-facing failures (exit 2, no traceback) and mounting each area's CLI."""
from __future__ import annotations

import importlib
import importlib.util
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

# soft_wrap: an error is one line however narrow the terminal, and never cut at 80 columns when
# stderr is a file or a pipe (logs, CI): the whole message stays greppable.
_err = Console(stderr=True, soft_wrap=True)

# (name under `kikan`, module, attribute, kind). Each area keeps its own small CLI module;
# "group" mounts a Typer app as `kikan NAME …`, "command" mounts one function as `kikan NAME`.
SUBCOMMANDS: tuple[tuple[str, str, str, str], ...] = (
    ("sample", "kikan_hub.api.cli_sample", "sample_command", "command"),
    ("gaiji", "kikan_hub.api.cli_gaiji", "app", "group"),
    ("layouts", "kikan_hub.api.cli_layouts", "app", "group"),
    ("preview", "kikan_hub.api.cli_preview", "preview_command", "command"),
    ("codecs", "kikan_hub.api.cli_codecs", "app", "group"),
    ("validate", "kikan_hub.api.cli_validate", "validate_command", "command"),
    ("report", "kikan_hub.api.cli_validate", "report_app", "group"),
    ("export", "kikan_hub.api.cli_handover", "export_app", "group"),
    ("import", "kikan_hub.api.cli_handover", "import_app", "group"),
    ("verify-export", "kikan_hub.api.cli_handover", "verify_export_command", "command"),
    ("serve", "kikan_hub.api.cli_serve", "serve", "command"),
    ("clients", "kikan_hub.api.cli_serve", "clients_app", "group"),
    ("audit", "kikan_hub.api.cli_serve", "audit", "command"),
    ("linkage-csv", "kikan_hub.api.cli_serve", "linkage_csv", "command"),
    ("runs", "kikan_hub.api.cli_runs", "app", "group"),
    ("juki", "kikan_hub.api.cli_modules", "juki_app", "group"),
    ("atena", "kikan_hub.api.cli_modules", "atena_app", "group"),
    ("euc", "kikan_hub.api.cli_modules", "euc_app", "group"),
    ("roster", "kikan_hub.api.cli_rosters", "roster_command", "command"),
    ("roster-report", "kikan_hub.api.cli_rosters", "roster_report_command", "command"),
    ("schema", "kikan_hub.api.cli_schema", "schema_command", "command"),
)


def fail(message: str, code: int = 2) -> NoReturn:
    _err.print(f"[bold red]エラー:[/] {escape(str(message))}", markup=True, highlight=False)
    raise typer.Exit(code)


def definition_error(path, message: str) -> str:
    """An engineer's error in a definition file, in both languages: a Japanese lead names what is
    wrong, the loader's detail (English for layouts and mappings) follows with the file."""
    # a message that opens in Japanese speaks for itself; one that opens with a path inside the
    # file (targets[0]: …) or in English gets the Japanese lead
    opens_japanese = bool(message) and "\u3040" <= message.lstrip()[0] <= "\u9fff"
    lead = "" if opens_japanese else "定義ファイルの誤り (definition error) — "
    return f"{lead}{path}: {message}" if path else f"{lead}{message}"


def hub_version() -> str:
    """The installed distribution's version (pyproject.toml), or 'unknown' when run from a bare tree."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kikan-hub")
    except PackageNotFoundError:
        return "unknown"


def install_subcommands(app: typer.Typer) -> None:
    for name, module, attr, kind in SUBCOMMANDS:
        if importlib.util.find_spec(module) is None:
            continue
        mod = importlib.import_module(module)
        if not hasattr(mod, attr):
            continue
        sub = getattr(mod, attr)
        if kind == "group":
            app.add_typer(sub, name=name)
        else:
            app.command(name)(sub)
