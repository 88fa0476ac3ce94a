"""Great Expectations export: the catalogue's checks as an expectation suite + Data Docs.

Only on the `kikan validate --ge-suite DIR` path; great_expectations is imported lazily
inside ``export_ge`` (it takes seconds to import). ``expectation_specs`` is plain data (no GE
import): per rule, the GE expectations that express it and how faithfully — ``exact``,
``partial`` (GE checks a necessary condition only, e.g. 10 digits but not the M11 digit) or
``none`` (history over time, cross-table references: no built-in expectation can say it).

Data Docs are rewritten after GE builds them so they load nothing from outside: every
``<script src>`` / ``<link href>`` / ``<img src>`` that is not a local file is removed, local
CSS/JS are inlined, and a Content-Security-Policy that forbids fetching is added.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from kikan_hub.layouts.isl import all_tables, load_code_table
from kikan_hub.mapping.era_dates import load_eras
from kikan_hub.validation.catalogue import Rule, gate_rules
from kikan_hub.validation.checks import KANA_RE, byte_limit, zokugara_pattern

# polars (Rust regex) → Python regex for GE's pandas engine
KANA_PY = KANA_RE.replace(r"\x{30A0}", "\u30a0").replace(r"\x{30FF}", "\u30ff").replace(r"\x{3000}", "\u3000") \
    .replace(r"\x{FF65}", "\uff65").replace(r"\x{FF9F}", "\uff9f")


def _e(kind: str, **kwargs) -> dict:
    return {"type": kind, "kwargs": kwargs}


def expectation_specs(rules: list[Rule] | None = None, gyomu: str | None = None) -> list[dict]:
    out = []
    for rule in rules if rules is not None else gate_rules(gyomu):
        kind = rule.check.get("kind")
        table = all_tables().get(rule.table)
        if table is None:
            continue
        items = [table.item(i) for i in rule.check.get("items", [])] if rule.check.get("items") else []
        exps: list[dict] = []
        eq, note = "exact", ""
        if kind == "isl_required":
            exps = [_e("expect_column_values_to_not_be_null", column=it.id) for it in items if it.type != "wareki_date"]
            exps += [_e("expect_column_values_to_not_be_null", column=f"{it.id}_literal") for it in items if it.type == "wareki_date"]
            eq, note = "partial", "GE は空文字を欠損と見なさない"
        elif kind == "isl_type":
            for it in items:
                if it.type == "digits":
                    exps.append(_e("expect_column_values_to_match_regex", column=it.id, regex=r"^[0-9]+$"))
                elif it.type == "kana":
                    exps.append(_e("expect_column_values_to_match_regex", column=it.id, regex=KANA_PY))
                elif it.type == "code":
                    exps.append(_e("expect_column_values_to_match_regex", column=it.id, regex=r"^[0-9A-Za-z]+$"))
                elif it.type == "integer":
                    exps.append(_e("expect_column_values_to_be_between", column=it.id, min_value=0, max_value=10 ** it.length - 1))
        elif kind == "isl_chars":
            exps = [_e("expect_column_value_lengths_to_be_between", column=it.id, min_value=0, max_value=it.length) for it in items]
            eq, note = "partial", "GE は異体字セレクタも1文字と数える"
        elif kind == "isl_bytes":
            exps = [_e("expect_column_value_lengths_to_be_between", column=it.id, min_value=0, max_value=byte_limit(it))
                    for it in items if it.type in ("digits", "code")]
            eq, note = "partial", "GE に CP932 のバイト数の期待値はない（半角項目の文字数で代用）"
        elif kind == "isl_code":
            exps = [_e("expect_column_values_to_be_in_set", column=it.id, value_set=sorted(load_code_table(it.code).codes))
                    for it in items if it.code]
        elif kind in ("isl_m11", "isl_mynumber"):
            exps = [_e("expect_column_values_to_match_regex", column=it.id, regex=rf"^[0-9]{{{it.length}}}$") for it in items]
            eq, note = "partial", "GE にモジュラス11の期待値はない（桁数と数字のみ）"
        elif kind == "zokugara_vocab":
            exps = [_e("expect_column_values_to_match_regex", column=rule.check.get("column", "zokugara"),
                       regex=zokugara_pattern(rule.check.get("code_table", "zokugara")))]
        elif kind == "birth_before":
            exps = [_e("expect_column_pair_values_a_to_be_greater_than_b", column_A=rule.check.get("event", "idou_date"),
                       column_B=rule.check.get("birth", "birth_date"), or_equal=True, ignore_row_if="either_value_is_missing")]
        elif kind == "history_consecutive":
            exps = [_e("expect_compound_columns_to_be_unique", column_list=[rule.check["key"], rule.check["seq"]])]
            eq, note = "partial", "GE は重複のみ検出（1からの連番は検査できない）"
        elif kind == "juki_dates":
            exps = [_e("expect_column_values_to_be_between", column=it.id, min_value=load_eras()[0][0].start.isoformat())
                    for it in table.items if it.type in ("wareki_date", "date")]
            eq, note = "partial", "元号の期間・不詳日の許容は GE の期待値で表せない"
        else:
            eq, note = "none", "GE の組み込み期待値で表せない（時点ごとの集計・テーブル間参照）"
        for e in exps:
            e["meta"] = {"rule_id": rule.id, "title": rule.title, "division": rule.division}
        out.append({"rule_id": rule.id, "title": rule.title, "table": rule.table, "equivalence": eq, "note": note,
                    "expectations": exps})
    return out


def _camel(snake: str) -> str:
    return "".join(p.capitalize() for p in snake.split("_"))


def build_suites(specs: list[dict]):
    """GE ExpectationSuite objects, one per table (imports GE)."""
    import great_expectations as gx

    suites: dict[str, Any] = {}
    for spec in specs:
        for e in spec["expectations"]:
            suite = suites.setdefault(spec["table"], gx.ExpectationSuite(name=f"kikan_{spec['table']}"))
            cls = getattr(gx.expectations, _camel(e["type"]))
            suite.add_expectation(cls(**e["kwargs"], meta=e["meta"]))
    return suites


def export_ge(directory: Path, result=None, frames: dict | None = None, gyomu: str | None = None) -> dict:
    """Write a GE file context with the suites (and, when `frames` are given, validation results) and
    self-contained Data Docs into DIRECTORY."""
    import os

    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")   # no usage statistics leave the machine
    import great_expectations as gx

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rules = [r.rule for r in result.rules] if result is not None else None
    specs = expectation_specs(rules, gyomu)
    (directory / "kikan_expectations.json").write_text(json.dumps(specs, ensure_ascii=False, indent=2), encoding="utf-8")
    context = gx.get_context(mode="file", project_root_dir=str(directory))
    suites = build_suites(specs)
    for table_id, suite in suites.items():
        try:
            context.suites.delete(suite.name)
        except Exception:
            pass
        suite = context.suites.add(suite)
        suites[table_id] = suite
    if frames:
        ds = context.data_sources.add_or_update_pandas("kikan")
        for table_id, suite in suites.items():
            if table_id not in frames:
                continue
            asset = ds.add_dataframe_asset(name=table_id)
            bd = asset.add_batch_definition_whole_dataframe(f"{table_id}_all")
            vd = context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=f"kikan_{table_id}", data=bd, suite=suite))
            df = frames[table_id]
            pdf = df.to_pandas() if hasattr(df, "to_pandas") else df
            vd.run(batch_parameters={"dataframe": pdf})
    context.build_data_docs()
    docs = directory / "gx" / "uncommitted" / "data_docs" / "local_site"
    removed = make_offline(docs) if docs.exists() else 0
    return {"external_assets_removed": removed, "suite": str(directory / "gx" / "expectations"), "data_docs": str(docs / "index.html"),
            "specs": str(directory / "kikan_expectations.json"), "suites": sorted(suites)}


_CSP = ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; '
        'script-src \'unsafe-inline\'; img-src data:; font-src data:">')
_EXTERNAL = re.compile(r"^(?:https?:)?//", re.I)


def make_offline(site: Path) -> int:
    """Rewrite every HTML page of a Data Docs site to load no external asset. Returns tags removed."""
    removed = 0
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")

        def script(m: re.Match) -> str:
            nonlocal removed
            src = m.group(1)
            if _EXTERNAL.match(src):
                removed += 1
                return ""
            local = (page.parent / src).resolve()
            return f"<script>{local.read_text(encoding='utf-8')}</script>" if local.is_file() else ""

        def link(m: re.Match) -> str:
            nonlocal removed
            tag = m.group(0)
            href = re.search(r'href=["\']([^"\']+)["\']', tag)
            if not href:
                return tag
            url = href.group(1)
            if _EXTERNAL.match(url):
                removed += 1
                return ""
            local = (page.parent / url).resolve()
            if "stylesheet" in tag and local.is_file():
                return f"<style>{local.read_text(encoding='utf-8')}</style>"
            if "icon" in tag or "preconnect" in tag or "prefetch" in tag:
                return ""
            return tag

        def img(m: re.Match) -> str:
            nonlocal removed
            if _EXTERNAL.match(m.group(2)):
                removed += 1
                return m.group(1) + 'data:,' + m.group(3)
            return m.group(0)

        text = re.sub(r'<script[^>]*\bsrc=["\']([^"\']+)["\'][^>]*>\s*</script>', script, text, flags=re.I)
        text = re.sub(r"<link\b[^>]*>", link, text, flags=re.I)
        text = re.sub(r'(<img\b[^>]*\bsrc=["\'])([^"\']+)(["\'])', img, text, flags=re.I)
        # links out (newsletter, docs): nothing to follow offline, and no referrer to leak
        text = re.sub(r'(<a\b[^>]*\bhref=)["\'](?:https?:)?//[^"\']*["\']', r'\1"#"', text, flags=re.I)
        # CSS @import / url(...) pointing outside
        text = re.sub(r"@import\s+url\([^)]*https?://[^)]*\)\s*;?", "", text, flags=re.I)
        text = re.sub(r"url\(\s*['\"]?https?://[^)]*\)", "none", text, flags=re.I)
        if "Content-Security-Policy" not in text:
            text = re.sub(r"<head[^>]*>", lambda m: m.group(0) + _CSP, text, count=1, flags=re.I)
        page.write_text(text, encoding="utf-8")
    return removed
