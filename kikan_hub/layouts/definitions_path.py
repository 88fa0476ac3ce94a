"""KIKAN_DEFINITIONS_PATH: extra folders of definitions beside the ones the package ships.

Each folder (``:``-separated, like PATH) is laid out as the shipped definitions are:

    <folder>/*.yaml         ISL definitions (one 業務 each; as layouts/intermediate_standard/*.yaml)
    <folder>/codes/*.yaml   code tables (as layouts/intermediate_standard/codes/)
    <folder>/rules/*.yaml   rule catalogues (as validation/rules/)

Legacy layouts, mappings and manifests need no registration: a manifest names them by path, so
they may live anywhere (in the same folder, for instance). An id defined twice (a 業務, a table,
a code table, a rule) is an error naming both files: an extra folder adds, it never overrides.
"""
from __future__ import annotations

import os
from pathlib import Path

from kikan_hub.layouts.errors import LayoutError

ENV = "KIKAN_DEFINITIONS_PATH"


def extra_folders() -> tuple[Path, ...]:
    """The folders on KIKAN_DEFINITIONS_PATH, in order; a folder that is not there is an error."""
    raw = os.environ.get(ENV, "")
    folders: list[Path] = []
    for part in raw.split(os.pathsep):
        if not part.strip():
            continue
        folder = Path(part.strip()).expanduser()
        if not folder.is_dir():
            raise LayoutError(folder, f"{ENV} に指定されたフォルダがありません (no such folder on {ENV})")
        folder = folder.resolve()
        if folder not in folders:
            folders.append(folder)
    return tuple(folders)


def clash(kind: str, ident: str, first: Path, second: Path) -> LayoutError:
    """The error for an id defined in two files (a shipped one and an extra one, or two extras)."""
    return LayoutError(second, f"{kind} {ident!r} は {first} でも定義されています "
                               f"({kind} {ident!r} is already defined in {first}; an id may be defined once)")
