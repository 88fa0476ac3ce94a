"""名簿レポート: one report per 担当課 with its rosters as of a 基準日 — what 選挙管理委員会事務局 or
学校教育課 checks after a rehearsal before trusting the new system's 名簿: how many are 掲載 / 表示 /
対象外, why (the reasons counted by kind: 年齢未満, 転入後3か月未満, 消除（死亡） …) and the breakdown
by the roster's own columns (投票区, 学年, 就学予定校, 祝い年齢). Counts only: no person appears, so the
report carries no personal data (the roster files themselves: ``kikan roster``, masked and audited).

    kikan roster-report --as-of 2024-09-01 --store URL --out DIR     → DIR/名簿_<担当課>.{html,xlsx,json}
"""
from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from jinja2 import Environment, FileSystemLoader, select_autoescape

from kikan_hub.modules.rosters.engine import DISPLAYED, LISTED, OUT, RosterResult, iter_judged
from kikan_hub.modules.rosters.rules import roster_names

TEMPLATES = Path(__file__).parent / "templates"
_DETAIL = re.compile(r"（[^（）]*\d[^（）]*）")          # a parenthesis holding dates or numbers: per person
_SEP = re.compile(r"／|; ")
_MONTH_END = re.compile(r"\d{1,2}月末日")                 # 日不詳: 9月末日として判定 → one kind for every month


_NOTE = re.compile(r"として判定|で判定$|要確認|判定できません")   # how a person was judged, not why in or out


def reason_kinds(reason: str) -> list[str]:
    """The kinds of a reason text, without the per-person details: '年齢未満（18歳到達 2024-09-02）／
    転入後3か月未満（…）' → ['年齢未満', '転入後3か月未満']; '消除（死亡）' stays whole. Notes on how the
    person was judged (日不詳: 月末日として判定, …要確認) are kinds too: ``is_note`` tells them apart."""
    text, prev = reason or "", None
    while prev != text:                                  # nested: 75歳以上の単身世帯（75歳以上（到達 …）／単身世帯）
        prev, text = text, _DETAIL.sub("", text)
    return [_MONTH_END.sub("月末日", k.strip()) for k in _SEP.split(text) if k.strip()]


def is_note(kind: str) -> bool:
    return bool(_NOTE.search(kind))


def roster_section(res: RosterResult) -> dict:
    """Counts of one roster: by 判定, by reason kind (in / out), by each derived column of the listed."""
    t = res.table
    # the per-person details go in Arrow (whole column), then the few distinct texts are split in Python
    plain = pc.fill_null(t["理由"], "")
    for _ in range(3):                                   # nested parentheses, innermost first
        plain = pc.replace_substring_regex(plain, _DETAIL.pattern, "")
    grouped = pa.table({"j": t["判定"], "r": plain}).group_by(["j", "r"]).aggregate([("j", "count")])
    counts: Counter = Counter()
    why_in: Counter = Counter()
    why_out: Counter = Counter()
    notes: Counter = Counter()
    for j, r, n in zip(*(grouped[c].to_pylist() for c in ("j", "r", "j_count"))):
        counts[j] += n
        for k in reason_kinds(r):
            if is_note(k):
                notes[(j, k)] += n
            else:
                (why_out if j == OUT else why_in)[(j, k)] += n
    listed = res.listed()
    derived = [c for c in res.rule.columns if c in listed.column_names and c not in _person_columns(res)]
    breakdown = {col: _by_sex(listed, col) for col in derived}
    if "学年" in breakdown and res.rule.grade_names:          # 就学予定, 小1 … 中3: the rule's order
        order = {name: i for i, name in sorted(res.rule.grade_names.items())}
        breakdown["学年"].sort(key=lambda r: order.get(r["値"], len(order)))
    return {"name": res.rule.name, "title": res.rule.title, "division": res.rule.division,
            "legal_basis": list(res.rule.legal_basis), "as_of": res.as_of.isoformat(),
            "counts": {LISTED: counts.get(LISTED, 0), DISPLAYED: counts.get(DISPLAYED, 0), OUT: counts.get(OUT, 0)},
            "judged": t.num_rows,
            "reasons_in": [{"判定": j, "理由": k, "件数": n} for (j, k), n in sorted(why_in.items(), key=lambda kv: -kv[1])],
            "reasons_out": [{"理由": k, "件数": n} for (_, k), n in sorted(why_out.items(), key=lambda kv: -kv[1])],
            "notes": [{"判定": j, "注記": k, "件数": n} for (j, k), n in sorted(notes.items(), key=lambda kv: -kv[1])],
            "by_sex": _by_sex(listed, None)[0] if listed.num_rows else {"値": "計", "男": 0, "女": 0, "計": 0},
            "breakdown": breakdown}


SEX = {"1": "男", "2": "女"}                     # codes/seibetsu.yaml (JIS X 0303)


def _natural(text: str) -> list:
    """第2投票区 before 第10投票区, 小2 before 中1 (as written in the rule's grade names)."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def _by_sex(listed: pa.Table, col: str | None) -> list[dict]:
    """Rows {値, 男, 女, 計} per value of ``col`` (None: one row for the whole roster) — what a 選管 reports
    (登録者数 男・女・計 per 投票区); Arrow group_by over the listed persons."""
    value = pc.fill_null(listed[col], "") if col else pa.array([""] * listed.num_rows, pa.string())
    sex = pc.fill_null(listed["seibetsu"], "") if "seibetsu" in listed.column_names else \
        pa.array([""] * listed.num_rows, pa.string())
    g = pa.table({"v": value, "s": sex}).group_by(["v", "s"]).aggregate([("v", "count")])
    rows: dict[str, dict] = {}
    for v, s_, n in zip(g["v"].to_pylist(), g["s"].to_pylist(), g["v_count"].to_pylist()):
        r = rows.setdefault(v or ("（なし）" if col else "計"), {"値": v or ("（なし）" if col else "計"), "男": 0, "女": 0, "計": 0})
        if SEX.get(s_):
            r[SEX[s_]] += n
        r["計"] += n
    return [rows[k] for k in sorted(rows, key=_natural)]


def _person_columns(res: RosterResult) -> set[str]:
    """Columns of the person (from 住民記録), as opposed to the rule's derived ones (投票区, 学年 …)."""
    derived = {c for lk in res.rule.lookups for c in lk.columns} | {"学年", "年齢", "区分"}
    return {c for c in res.rule.columns if c not in derived}


def build(engine, as_of, names: list[str] | None = None) -> dict[str, dict]:
    """{担当課: report} for the rosters ``names`` (default: all) on ``as_of`` — one snapshot query."""
    out: dict[str, dict] = {}
    for res in iter_judged(engine, names or roster_names(), as_of):    # one roster's result in memory at a time
        div = res.rule.division
        rep = out.setdefault(div, {"title": f"名簿レポート（{div}）", "division": div, "as_of": res.as_of.isoformat(),
                                   "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                                   "rosters": []})
        rep["rosters"].append(roster_section(res))
    return out


def render_html(report: dict) -> str:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = lambda v: f"{v:,}" if isinstance(v, int) else v
    return env.get_template("roster_report.html.j2").render(r=report, statuses=(LISTED, DISPLAYED, OUT))


def write_xlsx(report: dict, path: Path) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False})
    bold = wb.add_format({"bold": True, "bg_color": "#e8eef7", "border": 1})
    ws = wb.add_worksheet("概要")
    ws.write(0, 0, report["title"], wb.add_format({"bold": True, "font_size": 14}))
    ws.write(1, 0, f"基準日 {report['as_of']}　作成 {report['generated_at']}")
    ws.write_row(3, 0, ["名簿", "名前", LISTED, DISPLAYED, OUT, "判定した人数"], bold)
    for i, s in enumerate(report["rosters"]):
        ws.write_row(4 + i, 0, [s["title"], s["name"], *s["counts"].values(), s["judged"]])
    ws.set_column(0, 0, 28)
    for s in report["rosters"]:
        sh = wb.add_worksheet(s["title"][:31])
        row = 0
        sh.write(row, 0, f"{s['title']}（基準日 {s['as_of']}）", bold)
        row += 2
        sh.write_row(row, 0, ["判定", "理由", "件数"], bold)
        for r in s["reasons_in"]:
            row += 1
            sh.write_row(row, 0, [r["判定"], r["理由"], r["件数"]])
        row += 2
        sh.write_row(row, 0, ["対象外の理由", "", "件数"], bold)
        for r in s["reasons_out"]:
            row += 1
            sh.write_row(row, 0, [OUT, r["理由"], r["件数"]])
        row += 2
        sh.write_row(row, 0, ["判定", "判定の注記（推定・要確認）", "件数"], bold)
        for r in s["notes"]:
            row += 1
            sh.write_row(row, 0, [r["判定"], r["注記"], r["件数"]])
        for col, vals in {"総数": [s["by_sex"]], **s["breakdown"]}.items():
            row += 2
            sh.write_row(row, 0, [f"内訳: {col}", col, "男", "女", "計"], bold)
            for v in vals:
                row += 1
                sh.write_row(row, 0, ["", v["値"], v["男"], v["女"], v["計"]])
        sh.set_column(0, 0, 14)
        sh.set_column(1, 1, 48)
    wb.close()


def write_reports(engine, as_of, out_dir: Path, names: list[str] | None = None) -> dict[str, dict[str, str]]:
    """DIR/名簿_<担当課>.{json,html,xlsx}; returns {担当課: {format: path}}."""
    reports = build(engine, as_of, names)          # a bad 基準日 or name fails before anything is written
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for div, rep in reports.items():
        stem = "名簿_" + re.sub(r'[\\/:*?"<>|\s]', "_", div)
        paths = {"json": out_dir / f"{stem}.json", "html": out_dir / f"{stem}.html", "xlsx": out_dir / f"{stem}.xlsx"}
        paths["json"].write_text(json.dumps(rep, ensure_ascii=False, indent=2), encoding="utf-8")
        paths["html"].write_text(render_html(rep), encoding="utf-8")
        write_xlsx(rep, paths["xlsx"])
        written[div] = {k: str(v) for k, v in paths.items()}
    return written
