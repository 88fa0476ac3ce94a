"""Fidelity report (文字の忠実性レポート): what could not be resolved and what was folded.

A report is data first (a dict with Japanese labels, written as JSON), rendered second
(self-contained HTML from a Jinja2 template under ``templates/``, and an Excel workbook).
Counts are exact; samples are limited and masked (names are shown only partly).
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path

from .codes import PUA_MAX, PUA_MIN, is_variation_selector

TEMPLATES = Path(__file__).with_name("templates")
MASK = "＊"


def show_char(ch: str) -> str:
    """Private-use characters do not render: show them as [U+E000]."""
    return "".join(f"[U+{ord(c):04X}]" if PUA_MIN <= ord(c) <= PUA_MAX else c for c in ch)


def mask_value(value: str | None, keep: Iterable[str] = ()) -> str:
    """Mask a name partly: the first character and the characters in question stay, the rest → ＊."""
    if not value:
        return ""
    keep = set(keep)
    out = []
    for i, c in enumerate(value):
        if i == 0 or c in keep or is_variation_selector(c) or c in " 　":
            out.append(c)
        else:
            out.append(MASK)
    return show_char("".join(out))


def _get(o, key, default=None):
    if isinstance(o, Mapping):
        return o.get(key, default)
    return getattr(o, key, default)


def build_fidelity_report(unresolved: Iterable, folds: Iterable = (), *, title: str = "外字・文字の忠実性レポート",
                          run_id: str | None = None, sample_limit: int = 5) -> dict:
    """``unresolved``: occurrences with ``field``, ``record_ref``, ``source_code``, ``char`` and
    optionally ``value``; ``folds``: occurrences with ``field``, ``record_ref``, ``from``, ``to``,
    ``category`` and optionally ``value`` (mappings or objects)."""
    un: dict[tuple[str, str], dict] = {}
    un_fields: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    total_un = 0
    for o in unresolved:
        key = (_get(o, "source_code", ""), _get(o, "char", ""))
        e = un.setdefault(key, {"移行元コード": key[0], "文字": show_char(key[1]), "件数": 0, "サンプル": []})
        e["件数"] += 1
        total_un += 1
        un_fields[key][_get(o, "field", "")] += 1
        if len(e["サンプル"]) < sample_limit:
            e["サンプル"].append({"項目": _get(o, "field", ""), "レコード": str(_get(o, "record_ref", "")),
                                 "値(マスク済)": mask_value(_get(o, "value"), key[1])})
    for key, e in un.items():
        e["項目別件数"] = dict(sorted(un_fields[key].items()))
    fo: dict[tuple[str, str, str], dict] = {}
    fo_fields: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    total_fo = 0
    for o in folds:
        src, dst, cat = _get(o, "from", None) or _get(o, "from_", ""), _get(o, "to") or "", _get(o, "category", "")
        key = (src, dst, cat)
        e = fo.setdefault(key, {"変換前": show_char(src), "変換後": dst or "（縮退不可）", "区分": cat, "件数": 0, "サンプル": []})
        e["件数"] += 1
        total_fo += 1
        fo_fields[key][_get(o, "field", "")] += 1
        if len(e["サンプル"]) < sample_limit:
            e["サンプル"].append({"項目": _get(o, "field", ""), "レコード": str(_get(o, "record_ref", "")),
                                 "値(マスク済)": mask_value(_get(o, "value"), src)})
    for key, e in fo.items():
        e["項目別件数"] = dict(sorted(fo_fields[key].items()))
    return {
        "表題": title,
        "実行ID": run_id,
        "作成日時": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        "未解決外字": {"出現件数": total_un, "文字種数": len(un),
                    "明細": sorted(un.values(), key=lambda e: (-e["件数"], e["移行元コード"]))},
        "縮退": {"件数": total_fo, "種類数": len(fo),
               "明細": sorted(fo.values(), key=lambda e: (-e["件数"], e["変換前"]))},
    }


def render_html(report: dict) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    return env.get_template("fidelity_report.html.j2").render(r=report)


def write_excel(report: dict, path: Path) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    ws = wb.add_worksheet("概要")
    rows = [("表題", report["表題"]), ("実行ID", report["実行ID"] or ""), ("作成日時", report["作成日時"]),
            ("未解決外字 出現件数", report["未解決外字"]["出現件数"]), ("未解決外字 文字種数", report["未解決外字"]["文字種数"]),
            ("縮退 件数", report["縮退"]["件数"]), ("縮退 種類数", report["縮退"]["種類数"])]
    for i, (k, v) in enumerate(rows):
        ws.write_string(i, 0, k, head)
        ws.write(i, 1, v)
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 40)
    for sheet, section, cols in (("未解決外字", "未解決外字", ("移行元コード", "文字", "件数")),
                                 ("縮退", "縮退", ("変換前", "変換後", "区分", "件数"))):
        ws = wb.add_worksheet(sheet)
        header = list(cols) + ["項目別件数", "サンプル(項目/レコード/値)"]
        for c, h in enumerate(header):
            ws.write_string(0, c, h, head)
        for r, e in enumerate(report[section]["明細"], start=1):
            for c, col in enumerate(cols):
                ws.write(r, c, e[col])
            ws.write_string(r, len(cols), "、".join(f"{k}:{v}" for k, v in e["項目別件数"].items()))
            ws.write_string(r, len(cols) + 1, "\n".join(f"{s['項目']} / {s['レコード']} / {s['値(マスク済)']}" for s in e["サンプル"]))
        ws.set_column(0, len(header), 18)
        ws.freeze_panes(1, 0)
    wb.close()


def write_report(report: dict, out_dir: str | Path, stem: str = "gaiji_fidelity") -> dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / f"{stem}.json", "html": out / f"{stem}.html", "xlsx": out / f"{stem}.xlsx"}
    paths["json"].write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    paths["html"].write_text(render_html(report), encoding="utf-8")
    write_excel(report, paths["xlsx"])
    return paths
