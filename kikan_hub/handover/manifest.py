"""manifest.json of a handover directory: what each file is and how to prove it unchanged."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from kikan_hub.handover.errors import HandoverError

MANIFEST = "manifest.json"
FOLDS_FILE = "folds.csv"
FORMAT_ID = "kikan-handover/1"
FOLDS_HEADER = ["file", "table", "record_no", "record_key", "column", "item_name", "position",
                "from", "from_ucs", "to", "to_ucs", "category"]
CHUNK_RECORDS = 10_000


def sha256_file(path: Path, bufsize: int = 1 << 20) -> tuple[str, int]:
    h = hashlib.sha256()
    n = 0
    with path.open("rb") as fh:
        while True:
            b = fh.read(bufsize)
            if not b:
                break
            h.update(b)
            n += len(b)
    return h.hexdigest(), n


def write_manifest(out_dir: Path, manifest: dict) -> Path:
    path = out_dir / MANIFEST
    tmp = out_dir / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def read_manifest(directory: Path) -> dict:
    path = directory / MANIFEST
    if not directory.is_dir():
        raise HandoverError(f"引継ぎディレクトリがありません: {directory}")
    if not path.is_file():
        raise HandoverError(f"{path}: manifest.json がありません (kikan export isl の出力ディレクトリを指定してください)")
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HandoverError(f"{path}: manifest.json を読めません: {exc}") from None
    if not isinstance(m, dict) or m.get("format") != FORMAT_ID:
        raise HandoverError(f"{path}: この manifest の形式 {m.get('format') if isinstance(m, dict) else None!r} は "
                            f"読めません (expected {FORMAT_ID})")
    for f in m.get("files", []):
        for k in ("path", "table", "records", "sha256", "bytes", "columns"):
            if k not in f:
                raise HandoverError(f"{path}: files[{f.get('path', '?')}] に {k} がありません")
    return m
