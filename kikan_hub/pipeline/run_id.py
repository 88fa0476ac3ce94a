"""The run id: a hash of everything that decides a rehearsal's result.

Same inputs → same run id (and the same store content, lineage included); change anything
that could change a count, a level or a loaded value and the run id changes: the manifest
(rule overrides included), the mapping, the layouts, the gaiji register (and the MJ index it
resolves through), the input bytes and
declared encodings, the ISL definitions and code tables, the rule catalogue, the era table
and the hub's own version.
"""
from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

from kikan_hub.pipeline.manifest import Manifest


def hub_version() -> str:
    try:
        return metadata.version("kikan-hub")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


def definition_files() -> list[Path]:
    """Every data file the hub judges and converts by: ISL definitions (+ code tables), rules, eras,
    those of the folders on KIKAN_DEFINITIONS_PATH included."""
    from kikan_hub.layouts.isl import definition_folders
    from kikan_hub.mapping.era_dates import ERAS_FILE
    from kikan_hub.validation.catalogue import rule_folders

    files = [p for folder in definition_folders() for p in sorted(folder.rglob("*.yaml"))]
    files += [p for folder in rule_folders() for p in sorted(folder.glob("*.yaml")) if p not in files] + [ERAS_FILE]
    return [p for p in files if p.is_file()]


def compute_run_id(manifest: Manifest) -> str:
    h = hashlib.sha256(f"kikan-hub {hub_version()}\n".encode())
    h.update(manifest.sha256.encode())
    for p in [manifest.mapping.path, manifest.register_path] + [f.layout_path for f in manifest.files]:
        if p:
            h.update(hashlib.sha256(Path(p).read_bytes()).hexdigest().encode())
    for f in manifest.files:
        h.update(f"{f.id}:{f.encoding}:{f.sha256}".encode())
    h.update(manifest.mj_index_digest.encode())  # the MJ index, when register rows resolve through it
    for p in definition_files():
        h.update(f"{p.name}:{hashlib.sha256(p.read_bytes()).hexdigest()}".encode())
    return "R" + h.hexdigest()[:15]
