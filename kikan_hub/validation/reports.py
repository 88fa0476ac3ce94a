"""Validation reports business divisions can read: data first (a dict → JSON), rendered second.

    write_reports(run_dir, result, summary)   # the rehearsal calls this

writes into RUN_DIR/report/:

* failures/<rule>.parquet — every failing unit in full (exact counts; never capped)
* report.json / report.html / report.xlsx — the whole run
* report_<担当課>.* and report_<業務>.* — the same, cut to one division or one 業務

The HTML is one self-contained page in Japanese (inline CSS, charts as inline SVG, a CSP that
forbids every fetch), the workbook a summary sheet plus one sheet per failing rule. Samples
are masked (masking.py); counts are always the exact counts.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl
from jinja2 import Environment, FileSystemLoader, select_autoescape

from kikan_hub.layouts.isl import all_tables
from kikan_hub.validation.catalogue import (LEVEL_ORDER, division_for, divisions_for, full_catalogue, gyomu_name, level_for,
                                           worst)
from kikan_hub.validation.masking import mask_value

SAMPLE_ROWS = 20
TEMPLATES = Path(__file__).parent / "templates"
LEVEL_LABELS = {"ok": "合格", "warn": "警告", "error": "エラー", "critical": "重大"}
STATUS_LABELS = {"loaded": "ロードしました", "rejected": "不採用（重大な検査結果のため何もロードしていません）"}
SPECIAL_LABELS = {"_items": "項目", "_reason": "理由", "_at": "時点", "_members": "世帯員数", "_heads": "世帯主の数",
                  "_head_atena": "世帯主の宛名番号", "_rows": "履歴の件数", "_seqs": "履歴番号"}
REPORT_VERSION = 1


def _json_default(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, bytes):
        return v.hex()
    return str(v)


def _label(col: str, table) -> str:
    if col in SPECIAL_LABELS:
        return SPECIAL_LABELS[col]
    if table is not None:
        base = col.removesuffix("_literal").removesuffix("_unknown")
        try:
            name = table.item(base).name
            return name + ("（元の値）" if col.endswith("_literal") else "（不詳）" if col.endswith("_unknown") else "")
        except KeyError:
            pass
    return col


def _sample_columns(failures: pl.DataFrame, key_columns: list[str], table) -> list[str]:
    cols = [c for c in key_columns if c in failures.columns]
    if "_items" in failures.columns:
        items: list[str] = []
        for v in failures.head(SAMPLE_ROWS).get_column("_items").to_list():
            for i in (v or "").split(","):
                if i and i not in items and i not in cols:
                    items.append(i)
        for i in items[:4]:
            if i in failures.columns:
                cols.append(i)
            if f"{i}_literal" in failures.columns:
                cols.append(f"{i}_literal")
        # who the row is about: the table's first name item (personal: name), shown masked
        name = next((it.id for it in (table.items if table else []) if it.personal == "name"
                     and it.id in failures.columns), None)
        if name and name not in cols:
            cols.append(name)
        cols.append("_reason")
        return cols
    return [c for c in failures.columns if not c.startswith("_") or c in SPECIAL_LABELS]


def sample_of(failures: pl.DataFrame, key_columns: list[str], table_id: str, mask: bool = True,
              rows: int = SAMPLE_ROWS) -> dict:
    table = all_tables().get(table_id)
    if failures.height == 0:
        return {"columns": [], "labels": [], "rows": []}
    cols = _sample_columns(failures, key_columns, table)
    data = failures.head(rows).select(cols).to_dicts()
    out_rows = [[_plain(mask_value(c, r[c], table, mask)) for c in cols] for r in data]
    return {"columns": cols, "labels": [_label(c, table) for c in cols], "rows": out_rows}


def _plain(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, bytes):
        return v.hex()
    return v


def _accounting(summary: dict) -> dict:
    """read = staged + quarantined; loaded = staged when the run was loaded, 0 when it was rejected."""
    files = []
    for fid, rts in (summary.get("files") or {}).items():
        for rt, c in rts.items():
            staged = c.get("staged", c.get("loaded", 0))
            files.append({"file_id": fid, "record_type": rt, "read": c.get("read", 0), "staged": staged,
                          "loaded": c.get("loaded", 0), "quarantined": c.get("quarantined", 0),
                          "balanced": c.get("read", 0) == staged + c.get("quarantined", 0)})
    read = summary.get("records_read", sum(f["read"] for f in files))
    loaded = summary.get("records_loaded", sum(f["loaded"] for f in files))
    staged = summary.get("records_staged", sum(f["staged"] for f in files) if files else loaded)
    quarantined = summary.get("records_quarantined", sum(f["quarantined"] for f in files))
    return {"records_read": read, "records_staged": staged, "records_loaded": loaded, "records_quarantined": quarantined,
            "balanced": read == staged + quarantined and all(f["balanced"] for f in files), "files": files}


def _quarantine_rules(summary: dict) -> list[dict]:
    """One row per record rule; a rule without a division of its own (MAP-DATE, MAP-CODE) gives one row per 業務
    whose records it stopped (``by_gyomu`` of the rehearsal), each routed to that 業務's division."""
    cat = full_catalogue()
    out = []
    for g in (summary.get("gate") or {}).get("rules", []):
        rid = g.get("rule_id") or g.get("id")
        rule = cat.get(rid)
        parts = {k: int(v) for k, v in (g.get("by_gyomu") or {}).items()}
        failed = int(g.get("failed", 0))
        base = {"id": rid, "title": g.get("title") or (rule.title if rule else rid), "gyomu": "", "by_gyomu": parts,
                "division": g.get("division") or (rule.division if rule else ""), "failed": failed,
                "level": g.get("level", "error"), "level_label": LEVEL_LABELS.get(g.get("level", "error"), g.get("level")),
                "description": rule.description if rule else ""}
        if parts and rule is not None and not rule.division:
            out += [{**base, "gyomu": gid, "division": division_for(gid), "failed": n} for gid, n in parts.items()]
            if failed > sum(parts.values()):
                out.append({**base, "division": division_for("default"), "failed": failed - sum(parts.values())})
        else:
            out.append(base)
    return out


def _quarantine_of_gyomu(rows: list[dict], gyomu: str) -> list[dict]:
    """The record rules' rows that concern one 業務, counting only its records where the rehearsal knows them."""
    out = []
    for q in rows:
        if q["gyomu"] not in ("", gyomu) or _rule_gyomu(q["id"]) not in ("", gyomu):
            continue
        if q["gyomu"] == "" and q["by_gyomu"]:
            q = {**q, "failed": q["by_gyomu"].get(gyomu, 0)}
            if not q["failed"]:
                continue
        out.append(q)
    return out


def _in_division(gyomu: str, division: str) -> bool:
    """The 業務 is one of the 担当課's (表7; a 業務 of two divisions is in both)."""
    return bool(gyomu) and division in divisions_for(gyomu)


def _quarantine_of_division(rows: list[dict], division: str) -> list[dict]:
    """The record rules' rows a 担当課 reads: those routed to it, and every rule that stopped records of
    its 業務 (READ-* keep their own 担当課 in the row, counted over this division's 業務 only)."""
    out = []
    for q in rows:
        if q["division"] == division or _in_division(q["gyomu"], division):
            out.append(q)
        elif not q["gyomu"] and q["by_gyomu"]:
            mine = {g: n for g, n in q["by_gyomu"].items() if _in_division(g, division)}
            if mine:
                out.append({**q, "failed": sum(mine.values()), "by_gyomu": mine})
    return out


def _rule_in_scope(r, division: str | None, gyomu: str | None) -> bool:
    if gyomu and r.gyomu != gyomu:
        return False
    if not division or r.division == division:
        return True
    # a rule routed by its 業務 (no division of its own) is also the 業務's second division's
    return r.division == division_for(r.gyomu) and _in_division(r.gyomu, division)


def _by_gyomu(summary: dict, division: str | None, gyomu: str | None) -> list[dict]:
    """The records of each 業務 in the run (summary by_gyomu), cut to the report's scope."""
    out = []
    for gid, g in (summary.get("by_gyomu") or {}).items():
        if gyomu and gid != gyomu:
            continue
        if division and division not in (g.get("divisions") or [g.get("division")]):
            continue
        read, staged, quarantined = g.get("records_read", 0), g.get("records_staged", 0), g.get("records_quarantined", 0)
        out.append({"gyomu_id": gid, "gyomu": g.get("gyomu") or gyomu_name(gid),
                    "division": "・".join(g.get("divisions") or [g.get("division", "")]), "files": g.get("files", []),
                    "read": read, "staged": staged, "loaded": g.get("records_loaded", 0), "quarantined": quarantined,
                    "balanced": read == staged + quarantined})
    return out


def quarantine_samples(quarantine: list | None, mask: bool = True, rows: int = SAMPLE_ROWS) -> list[dict]:
    """The first quarantined records of each file, laid out by the vendor's layout and masked (the
    workbook has them all): what a clerk looks up in the old system."""
    import pyarrow.parquet as pq

    from kikan_hub.validation.quarantine_sheet import headers, rows as quarantined_rows

    out = []
    for q in quarantine or []:
        shown = []
        for row in quarantined_rows(q, mask, batch_size=rows):
            if len(shown) >= rows:
                break
            shown.append([_plain(v) for v in row])
        out.append({"file_id": q.file_id, "total": pq.ParquetFile(q.parquet).metadata.num_rows,
                    "labels": headers(q), "rows": shown})
    return out


def build_report(result, summary: dict | None = None, division: str | None = None, gyomu: str | None = None,
                 run_dir: Path | None = None, mask: bool = True, quarantine: list | None = None) -> dict:
    """The report as data. `division` / `gyomu` cut it to one 担当課 / 業務 (accounting stays whole);
    `quarantine` (QuarantineFile list, already cut to the scope) adds a masked sample of the records."""
    summary = summary or {}
    rules = []
    for r in result.rules:
        if not _rule_in_scope(r, division, gyomu):
            continue
        d = r.to_dict()
        d["level_label"] = LEVEL_LABELS.get(r.level, r.level)
        d["share"] = (r.failed / r.total) if r.total else 0.0
        # the sample comes from the rows the result keeps in memory; the full set may be on disk only
        failures = getattr(r, "sample", None)
        failures = r.failures if failures is None else failures
        d["sample"] = sample_of(failures, r.key_columns, r.table, mask) if r.failed else {"columns": [], "labels": [], "rows": []}
        d["sample_shown"] = len(d["sample"]["rows"])
        rows = getattr(r, "failure_rows", None)
        d["failure_rows"] = (r.failures.height if rows is None else rows) if r.failed else 0   # rows in failures/<rule>.parquet (≥ units)
        d["failures_file"] = f"failures/{r.id}.parquet" if r.failed else None
        rules.append(d)
    qrules = _quarantine_rules(summary)
    if division:
        qrules = _quarantine_of_division(qrules, division)
    if gyomu:
        qrules = _quarantine_of_gyomu(qrules, gyomu)
    by_gyomu = _by_gyomu(summary, division, gyomu)
    by_level = {lv: sum(1 for r in rules if r["level"] == lv) for lv in LEVEL_LABELS}
    gate_rehearsal = (summary.get("gate") or {}).get("outcome", "ok")
    outcome = worst([r["level"] for r in rules] + [q["level"] for q in qrules])
    scope = "全体" if not (division or gyomu) else (division or gyomu_name(gyomu or ""))
    return {
        "report_version": REPORT_VERSION,
        "title": f"移行リハーサル 検証レポート（{scope}）",
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "run_id": summary.get("run_id", ""),
        "source_system": summary.get("source_system", ""),
        "run_dir": str(run_dir) if run_dir else summary.get("run_dir", ""),
        "scope": {"division": division, "gyomu": gyomu, "gyomu_name": gyomu_name(gyomu) if gyomu else None, "label": scope},
        "masked": mask,
        "gate": {"outcome": outcome, "outcome_label": LEVEL_LABELS.get(outcome, outcome),
                 "rehearsal_outcome": gate_rehearsal, "rehearsal_outcome_label": LEVEL_LABELS.get(gate_rehearsal, gate_rehearsal),
                 "status": summary.get("status", ""), "status_label": STATUS_LABELS.get(summary.get("status", ""), ""),
                 "validation_outcome": worst(r["level"] for r in rules)},
        "overrides": [_override_row(o) for o in summary.get("rule_overrides") or []],
        "accounting": _accounting(summary),
        "by_gyomu": by_gyomu,
        # nothing failed in this scope: no rule found anything and no record of its 業務 was quarantined
        "all_passed": (not any(r["failed"] for r in rules) and not any(q["failed"] for q in qrules)
                       and not any(g["quarantined"] for g in by_gyomu)),
        "quarantine": {"rules": qrules, "by_file": summary.get("quarantine_counts", {}),
                       "records": quarantine_samples(quarantine, mask)},
        "tables": dict(result.table_rows),
        "totals": {"rules": len(rules), "failing_rules": sum(1 for r in rules if r["failed"]),
                   "failed_units": sum(r["failed"] for r in rules), "by_level": by_level},
        "rules": rules,
        "divisions": sorted({r.division for r in result.rules if r.division}),
    }


def _thresholds_text(t: dict | None) -> str:
    return "、".join(f"{LEVEL_LABELS.get(k, k)} {v:g}" if isinstance(v, float) and v < 1 else f"{LEVEL_LABELS.get(k, k)} {v}"
                    for k, v in (t or {}).items()) or "なし"


def _override_row(o: dict) -> dict:
    """One rule override of the rehearsal (manifest rules:) as the report shows it: before → after, why."""
    before = o.get("before") or {}
    change = []
    if "thresholds" in o:
        change.append(f"しきい値 {_thresholds_text(before.get('thresholds'))} → {_thresholds_text(o['thresholds'])}")
    if "severity" in o:
        change.append(f"重大度 {LEVEL_LABELS.get(before.get('severity'), before.get('severity'))} → "
                      f"{LEVEL_LABELS.get(o['severity'], o['severity'])}（これより上の水準にしない）")
    return {"rule_id": o["rule_id"], "title": o.get("title", o["rule_id"]), "change": "；".join(change),
            "reason": o.get("reason", ""), "applies_to": list(o.get("applies_to") or [])}


def _rule_gyomu(rule_id: str) -> str:
    r = full_catalogue().get(rule_id)
    return r.gyomu if r else ""


# ---------------------------------------------------------------- rendering

@lru_cache(maxsize=1)
def _env() -> Environment:
    """One environment per process: it keeps the compiled template (compiling it took ~0.2 s per report,
    and a whole-city run writes a report per 担当課 and per 業務)."""
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = lambda v: f"{v:,}" if isinstance(v, int) else v
    env.filters["pct"] = lambda v: f"{v * 100:.2f}%"
    return env


def bar_chart_svg(rows: list[tuple[str, int, str]], width: int = 640) -> str:
    """Horizontal bars (label, count, level) as inline SVG; lengths proportional to the count."""
    if not rows:
        return ""
    colors = {"ok": "#4caf50", "warn": "#f2a900", "error": "#d9480f", "critical": "#9c0000"}
    bar_h, gap, label_w = 18, 6, 300
    top = max(c for _, c, _ in rows) or 1
    h = len(rows) * (bar_h + gap) + gap
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" role="img" aria-label="ルール別の件数">']
    from markupsafe import escape

    for i, (label, count, level) in enumerate(rows):
        y = gap + i * (bar_h + gap)
        w = max(1, int((width - label_w - 80) * count / top)) if count else 0
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" font-size="12">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h}" fill="{colors.get(level, "#888")}"/>')
        parts.append(f'<text x="{label_w + w + 4}" y="{y + 13}" font-size="12">{count:,}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: dict) -> str:
    failing = [r for r in report["rules"] if r["failed"]]
    chart = bar_chart_svg([(r["title"], r["failed"], r["level"]) for r in failing])
    qchart = bar_chart_svg([(q["title"], q["failed"], q["level"]) for q in report["quarantine"]["rules"]])
    return _env().get_template("report.html.j2").render(r=report, chart=chart, qchart=qchart, levels=LEVEL_LABELS)


def _sheet_name(rule_id: str, used: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", "_", rule_id)[:31]
    base, i = name, 2
    while name in used:
        suffix = f"~{i}"
        name = base[:31 - len(suffix)] + suffix
        i += 1
    used.add(name)
    return name


BY_GYOMU_HEADERS = ["業務", "担当課", "読込", "変換済", "ロード", "隔離", "一致"]
SUMMARY_HEADERS = ["ルールID", "内容", "担当課", "業務", "テーブル", "水準", "件数", "対象数", "単位", "割合", "明細シート"]


def write_xlsx(report: dict, path: Path, quarantine: list | None = None, mask: bool = True) -> None:
    """The report as a workbook; `quarantine` (QuarantineFile list) adds one sheet per input file
    with every quarantined record laid out by its layout (quarantine_sheet.py)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False})
    bold = wb.add_format({"bold": True, "bg_color": "#e8eef7", "border": 1})
    ws = wb.add_worksheet("概要")
    ws.write(0, 0, report["title"], wb.add_format({"bold": True, "font_size": 14}))
    ws.write(1, 0, f"実行ID {report['run_id']}　判定 {report['gate']['outcome_label']}　作成 {report['generated_at']}")
    ws.write_row(3, 0, SUMMARY_HEADERS, bold)
    used: set[str] = {"概要", "件数照合", "業務別", "隔離", "ルール変更"}
    qsheets = {q.file_id: _sheet_name(f"隔離_{q.file_id}", used) for q in quarantine or []}
    sheets = {}
    for r in report["rules"]:
        if r["failed"]:
            sheets[r["id"]] = _sheet_name(r["id"], used)
    for i, r in enumerate(report["rules"]):
        ws.write_row(4 + i, 0, [r["id"], r["title"], r["division"], r["gyomu_name"], r["table"], r["level_label"]])
        ws.write_number(4 + i, 6, r["failed"])
        ws.write_number(4 + i, 7, r["total"])
        ws.write(4 + i, 8, r["unit"])
        ws.write_number(4 + i, 9, r["share"])
        ws.write(4 + i, 10, sheets.get(r["id"], ""))
    ws.set_column(0, 0, 34)
    ws.set_column(1, 1, 48)
    ws.set_column(2, 5, 14)
    ws.autofilter(3, 0, 3 + max(1, len(report["rules"])), len(SUMMARY_HEADERS) - 1)
    ws.freeze_panes(4, 0)

    acc = wb.add_worksheet("件数照合")
    a = report["accounting"]
    acc.write_row(0, 0, ["ファイル", "レコード種別", "読込", "変換済", "ロード", "隔離", "一致"], bold)
    for i, f in enumerate(a["files"]):
        acc.write_row(1 + i, 0, [f["file_id"], f["record_type"], f["read"], f["staged"], f["loaded"], f["quarantined"],
                                 "○" if f["balanced"] else "×"])
    n = len(a["files"])
    acc.write_row(1 + n, 0, ["合計", "", a["records_read"], a["records_staged"], a["records_loaded"], a["records_quarantined"],
                             "○" if a["balanced"] else "×"], bold)

    if report.get("overrides"):
        ov = wb.add_worksheet("ルール変更")
        ov.write(0, 0, "このリハーサルだけ判定を変えたルール（マニフェストの rules:）", wb.add_format({"bold": True}))
        ov.write_row(1, 0, ["ルールID", "内容", "変更", "理由", "対象ルール"], bold)
        for i, o in enumerate(report["overrides"]):
            ov.write_row(2 + i, 0, [o["rule_id"], o["title"], o["change"], o["reason"], ", ".join(o["applies_to"])])
        ov.set_column(0, 1, 30)
        ov.set_column(2, 3, 60)

    if report.get("by_gyomu"):
        bg = wb.add_worksheet("業務別")
        bg.write_row(0, 0, BY_GYOMU_HEADERS, bold)
        for i, g in enumerate(report["by_gyomu"]):
            bg.write_row(1 + i, 0, [g["gyomu"], g["division"], g["read"], g["staged"], g["loaded"], g["quarantined"],
                                    "○" if g["balanced"] else "×"])
        bg.set_column(0, 1, 24)
        if report.get("all_passed"):
            bg.write(2 + len(report["by_gyomu"]), 0, "全件合格（隔離も検証ルールの該当もありません）", bold)

    q = wb.add_worksheet("隔離")
    q.write_row(0, 0, ["ルールID", "内容", "担当課", "水準", "件数"], bold)
    for i, r in enumerate(report["quarantine"]["rules"]):
        q.write_row(1 + i, 0, [r["id"], r["title"], r["division"], r["level_label"]])
        q.write_number(1 + i, 4, r["failed"])
    if qsheets:
        from kikan_hub.validation.quarantine_sheet import write_sheet

        row = 2 + len(report["quarantine"]["rules"])
        q.write(row, 0, "隔離したレコードの明細（ファイル別のシート）", bold)
        for j, qf in enumerate(quarantine or []):
            n = write_sheet(wb, qsheets[qf.file_id], qf, bold, mask)
            q.write_row(row + 1 + j, 0, [qf.file_id, qsheets[qf.file_id], "", "", n])

    for r in report["rules"]:
        if not r["failed"]:
            continue
        s = wb.add_worksheet(sheets[r["id"]])
        s.write(0, 0, f"{r['id']}　{r['title']}", wb.add_format({"bold": True}))
        s.write(1, 0, "件数")
        s.write_number(1, 1, r["failed"])
        s.write(1, 2, f"{r['unit']}（対象 {r['total']:,}）　明細は {r['failures_file']}（全件）。下は見本 {r['sample_shown']} 件（個人情報はマスク）。")
        s.write_row(3, 0, r["sample"]["labels"], bold)
        for j, row in enumerate(r["sample"]["rows"]):
            s.write_row(4 + j, 0, ["" if v is None else (v if isinstance(v, (int, float, str)) else str(v)) for v in row])
        s.set_column(0, max(0, len(r["sample"]["labels"]) - 1), 18)
    wb.close()


def write_report_files(report: dict, directory: Path, stem: str, quarantine: list | None = None,
                       mask: bool = True) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    p = directory / f"{stem}.json"
    p.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=_json_default), encoding="utf-8")
    paths["json"] = str(p)
    p = directory / f"{stem}.html"
    p.write_text(render_html(report), encoding="utf-8")
    paths["html"] = str(p)
    p = directory / f"{stem}.xlsx"
    write_xlsx(report, p, quarantine, mask)
    paths["xlsx"] = str(p)
    return paths


def _safe_stem(text: str) -> str:
    return re.sub(r'[\\/:*?"<>|\s]', "_", text)


def _files_of(quarantine: list | None, by_gyomu: dict, wanted) -> list:
    """The quarantined files of the 業務 (summary by_gyomu entries) `wanted` picks."""
    files = {f for g in by_gyomu.values() if wanted(g) for f in g.get("files", [])}
    return [q for q in quarantine or [] if q.file_id in files]


def write_reports(run_dir: Path, result, summary: dict | None = None, mask: bool = True,
                  quarantine: list | None = None) -> dict:
    """Write RUN_DIR/report/: failures/*.parquet, report.{json,html,xlsx}, per division and per 業務.

    `quarantine`: the rehearsal's quarantined files (QuarantineFile); report.xlsx gets a sheet each."""
    run_dir = Path(run_dir)
    out_dir = run_dir / "report"
    summary = dict(summary or {})
    if "quarantine_counts" not in summary and (run_dir / "quarantine").is_dir():
        from kikan_hub.validation.engine import quarantine_counts

        summary["quarantine_counts"] = quarantine_counts(run_dir)
    written: dict[str, Any] = {"failures": result.write_failures(out_dir / "failures")}
    report = build_report(result, summary, run_dir=run_dir, mask=mask, quarantine=quarantine)
    written["all"] = write_report_files(report, out_dir, "report", quarantine, mask)
    by_gyomu = summary.get("by_gyomu") or {}
    # Every 担当課 whose 業務 are in the run gets a report (表7), failures or not; and so does every
    # division a rule routes findings to.
    divisions = sorted({r.division for r in result.rules if r.division} |
                       {q["division"] for q in report["quarantine"]["rules"] if q["division"]} |
                       {d for g in by_gyomu.values() for d in (g.get("divisions") or [g.get("division")]) if d})
    for div in divisions:
        mine = _files_of(quarantine, by_gyomu, lambda g: div in (g.get("divisions") or [g.get("division")]))
        written[f"division:{div}"] = write_report_files(
            build_report(result, summary, division=div, run_dir=run_dir, mask=mask, quarantine=mine),
            out_dir, f"report_{_safe_stem(div)}", mine, mask)
    # per 業務: the rules and counts; its quarantined records are in its 担当課's report (written once per
    # division: laying every record out again per 業務 doubled the time of a whole-city run's reports)
    for g in sorted({r.gyomu for r in result.rules if r.gyomu}):
        written[f"gyomu:{g}"] = write_report_files(build_report(result, summary, gyomu=g, run_dir=run_dir, mask=mask),
                                                   out_dir, f"report_{_safe_stem(gyomu_name(g))}")
    return written


__all__ = ["write_reports", "build_report", "render_html", "write_xlsx", "sample_of", "bar_chart_svg",
           "LEVEL_LABELS", "LEVEL_ORDER", "level_for"]
