"""One rehearsal for the whole city: the manifest takes one mapping and one gaiji register, so the
住民記録 and 税 samples' mappings and every vendor file's target are merged into DIR/mapping_city.yaml,
the registers into DIR/gaiji_register_city.csv, and DIR/manifest.yaml lists every file (the 住民記録
sample's own manifest stays beside it as manifest_juki.yaml)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import yaml

from kikan_hub.sample.assets_loader import register as juki_register
from kikan_hub.sample.city.profile import Vendor

CITY_SOURCE_SYSTEM = "架空市 基幹系 (全業務)"
REGISTER_COLUMNS = ("source_system", "source_code", "pua", "glyph_note", "mj", "gj", "ucs", "status", "decided_by",
                    "decided_at")


def _yaml(path: Path) -> dict:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)     # libyaml when present: the merged mapping is large
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def dump_yaml(data: dict) -> str:
    return _dump(data)


def _dump(data: dict) -> str:
    return yaml.dump(data, Dumper=_DUMPER, allow_unicode=True, sort_keys=False, width=200)


def vendor_gaiji_rows(vendor: Vendor) -> list[dict[str, str]]:
    """The vendor's own codes for the characters of the 住民記録 register (same glyphs, its code space).
    A vendor whose base is the 住民記録 vendor's (F040) is that vendor: no rows of its own."""
    reg = juki_register()
    base = int(vendor.gaiji_base or "F040", 16)
    if base == 0xF040:
        return []
    rows = []
    for i, e in enumerate(sorted(reg.entries.values(), key=lambda e: e.source_code)):
        code = f"{base + i:04X}"
        pua = bytes.fromhex(code).decode("cp932")
        row = dict(e.row)
        row.update(source_system=vendor.name, source_code=code, pua=f"U+{ord(pua):04X}")
        rows.append(row)
    return rows


def vendor_to_pua(vendor: Vendor) -> dict[str, str]:
    """resolved text → the PUA character the vendor's CP932 code decodes to."""
    reg = juki_register()
    if vendor.encoding != "cp932":
        return {}
    own = vendor_gaiji_rows(vendor)
    if not own:
        return {e.resolved: e.pua for e in reg.entries.values()}
    return {"".join(chr(int(cp, 16)) for cp in r["ucs"].split()): chr(int(r["pua"][2:], 16)) for r in own}


def write_city_manifest(out: Path, files: list[dict], targets: list[dict], code_maps: dict[str, dict],
                        vendors: list[Vendor]) -> None:
    juki_manifest = out / "manifest.yaml"
    juki = _yaml(juki_manifest)
    (out / "manifest_juki.yaml").write_text(juki_manifest.read_text(encoding="utf-8"), encoding="utf-8")
    jmap = _yaml(out / juki["mapping"])
    zei = _yaml(out / "zei" / "manifest.yaml")
    zmap = _yaml(out / "zei" / zei["mapping"])
    all_files = list(juki["files"])
    for f in zei["files"]:
        all_files.append({**f, "path": f"zei/{f['path']}", "layout": f"zei/{f['layout']}"})
    all_files += files
    mapping = {"targets": list(jmap["targets"]) + list(zmap["targets"]) + targets,
               "code_maps": {**(jmap.get("code_maps") or {}), **(zmap.get("code_maps") or {}), **code_maps}}
    head = ("# 架空市の全業務の移行リハーサルのマッピング (kikan sample --city が書く): 住民記録・税のサンプルの\n"
            "# マッピングと、各ベンダーのファイルから中間標準レイアウトのテーブルへの対応。ベンダー独自のコード値は\n"
            "# code_maps (<ベンダー>_<コード表>) で標準コードへ変換する。\n")
    (out / "mapping_city.yaml").write_text(head + _dump(mapping), encoding="utf-8")
    # one register: the 住民記録 vendor's rows and each other CP932 vendor's own codes for the same glyphs
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(REGISTER_COLUMNS), lineterminator="\n")
    w.writeheader()
    for row in csv.DictReader(io.StringIO((out / juki["gaiji_register"]).read_text(encoding="utf-8"))):
        w.writerow({k: row.get(k, "") for k in REGISTER_COLUMNS})
    for v in vendors:
        for row in vendor_gaiji_rows(v):
            w.writerow({k: row.get(k, "") for k in REGISTER_COLUMNS})
    (out / "gaiji_register_city.csv").write_text(buf.getvalue(), encoding="utf-8")
    manifest = {"name": "架空市 全業務 移行リハーサル (サンプル)", "source_system": CITY_SOURCE_SYSTEM,
                "mapping": "mapping_city.yaml", "gaiji_register": "gaiji_register_city.csv",
                "unresolved_gaiji": juki.get("unresolved_gaiji", "quarantine"), "files": all_files}
    juki_manifest.write_text("# 架空市の全業務 (住民記録・税・各ベンダーの抽出ファイル) を一度にリハーサルするマニフェスト\n"
                             + _dump(manifest), encoding="utf-8")
