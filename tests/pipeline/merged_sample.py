"""The sample's 住民記録 and 税 extracts as ONE rehearsal (one manifest, one mapping): a run of several
業務 and 担当課 (市民課, 市民税課, 資産税課) without the whole-city sample."""
from __future__ import annotations

from pathlib import Path

import yaml


def merge_zei(sample: Path, prefixes: tuple[str, ...] = ("ZEI_",), rules: dict | None = None) -> Path:
    """Write sample/manifest_all.yaml (+ mapping_all.yaml): the 住記 files and those of sample/zei/ whose
    file id starts with one of ``prefixes``, in one run; ``rules`` becomes the manifest's rules: section."""
    juki = yaml.safe_load((sample / "manifest.yaml").read_text(encoding="utf-8"))
    zei = yaml.safe_load((sample / "zei" / "manifest.yaml").read_text(encoding="utf-8"))
    jmap = yaml.safe_load((sample / juki["mapping"]).read_text(encoding="utf-8"))
    zmap = yaml.safe_load((sample / "zei" / zei["mapping"]).read_text(encoding="utf-8"))
    zfiles = [f for f in zei["files"] if f["id"].startswith(prefixes)]
    ids = {f["id"] for f in zfiles}
    mapping = {**jmap, "targets": jmap["targets"] + [t for t in zmap["targets"] if t["source"]["file"] in ids]}
    (sample / "mapping_all.yaml").write_text(yaml.safe_dump(mapping, allow_unicode=True, sort_keys=False), encoding="utf-8")
    files = list(juki["files"]) + [{**f, "path": f"zei/{f['path']}", "layout": f"zei/{f['layout']}"} for f in zfiles]
    manifest = {**juki, "name": "サンプル移行リハーサル (住記 + 税)", "mapping": "mapping_all.yaml", "files": files,
                **({"rules": rules} if rules else {})}
    path = sample / "manifest_all.yaml"
    path.write_text(yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
