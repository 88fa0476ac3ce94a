"""Import an official 中間標準レイアウト データ項目一覧表 (Excel) into an ISL definition.

The official item lists are not public; a municipality or vendor that has one can turn it
into a definition in our format (see docs/architecture.md, "Canonical layout"):

    kikan layouts import-xlsx データ項目一覧表.xlsx --gyomu-id juki --out juki_official.yaml

What it does, per sheet:

* finds the header row: the first row (within ``HEADER_SEARCH_ROWS``) with a cell reading
  データ項目名称 (after NFKC normalisation, whitespace removed); title rows, merged cells and
  extra columns (項番, 説明, 備考 …) above / beside it are ignored;
* needs the columns データ項目名称, データ型 and 桁数; reads 外字使用（有無）, コード and 必須
  when present;
* maps the official data types (文字列(全角), 文字列(半角), 半角カナ, 数字, 数値, 日付,
  コード, フラグ …) to our item types;
* gives every item a deterministic id: the id of an item with the same Japanese name in the
  hub's own definitions when that name means one id everywhere, otherwise ``item_NNN``
  (NNN = the item's position in the sheet). Every item keeps its Japanese name and the
  provenance ``imported: FILE sheet SHEET row N``.

Sheets without a header row are skipped; a workbook with none is an error. Every error
names the sheet and the row (``XlsxImportError``); the CLI turns it into exit status 2.

This module imports nothing else from kikan_hub (it reads the hub's definition YAML files
directly, as data, for the name → id dictionary).
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any, Iterable

import yaml

HEADER_SEARCH_ROWS = 50
DEFINITIONS_DIR = Path(__file__).parent / "intermediate_standard"
VERSION = "V2.7-kikan.1"

# header cell (normalised) → our column key. Checked in order; first match wins.
HEADER_ALIASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("name", ("データ項目名称", "データ項目名", "項目名称", "項目名")),
    ("type", ("データ型", "データタイプ", "型")),
    ("length", ("桁数", "最大桁数", "桁", "長さ")),
    ("gaiji", ("外字使用(有無)", "外字使用有無", "外字使用", "外字有無", "外字")),
    ("code", ("コード", "コード名称", "コードid", "コード名", "コード表")),
    ("required", ("必須", "必須区分", "必須有無", "必須項目")),
)
REQUIRED_COLUMNS = ("name", "type", "length")
COLUMN_LABELS = {"name": "データ項目名称", "type": "データ型", "length": "桁数",
                 "gaiji": "外字使用（有無）", "code": "コード", "required": "必須"}

TRUE_MARKS = {"有", "あり", "有り", "○", "〇", "◯", "●", "y", "yes", "true", "1", "可", "必須", "要"}
FALSE_MARKS = {"", "無", "なし", "無し", "-", "ー", "―", "−", "×", "n", "no", "false", "0", "不可", "任意", "不要"}


class XlsxImportError(Exception):
    """A workbook the user must fix; str() names the file, sheet and row."""

    def __init__(self, path: str | Path, message: str, sheet: str | None = None, row: int | None = None) -> None:
        self.path = Path(path)
        self.sheet = sheet
        self.row = row
        self.message = message
        where = str(self.path.name)
        if sheet is not None:
            where += f" シート「{sheet}」"
        if row is not None:
            where += f" {row}行目"
        super().__init__(f"{where}: {message}")


def _norm(value: Any) -> str:
    """NFKC, no whitespace at all (header cells often hold line breaks), lower-case ASCII."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    return re.sub(r"\s+", "", text).lower()


def _header_key(cell: Any) -> str | None:
    text = _norm(cell)
    if not text:
        return None
    for key, aliases in HEADER_ALIASES:
        if text in aliases:
            return key
    return None


def _find_header(ws) -> tuple[int, dict[str, int]] | None:
    """(1-based row number, {column key: 0-based column index}) of the header row, or None."""
    for row_no, row in enumerate(ws.iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True), start=1):
        keys: dict[str, int] = {}
        for col, cell in enumerate(row):
            key = _header_key(cell)
            if key and key not in keys:
                keys[key] = col
        if "name" in keys:
            return row_no, keys
    return None


def map_type(raw: Any, name: str, length_scale: int | None) -> str | None:
    """Official データ型 → our item type; None when unknown."""
    t = _norm(raw)
    if not t:
        return None
    if "カナ" in t or "かな" in t:
        return "kana"
    if "和暦" in t or "元号" in t:
        return "wareki_date"
    if "日付" in t or "年月日" in t or t in ("date", "日時"):
        return "date"
    if "コード" in t or t == "code":
        return "code"
    if "フラグ" in t or t in ("flag", "論理", "boolean", "区分(有無)"):
        return "flag"
    if "数字" in t:  # 数字 / 数字文字列: digits kept as text, leading zeros preserved
        return "digits"
    if "数値" in t or "整数" in t or "金額" in t or t in ("number", "numeric", "integer", "int"):
        return "decimal" if length_scale else "integer"
    if "小数" in t or t == "decimal":
        return "decimal"
    if "文字" in t or t in ("text", "string", "char", "varchar"):
        if "半角" in t and any(k in name for k in ("カナ", "フリガナ", "ふりがな")):
            return "kana"
        return "text"
    return None


def parse_length(raw: Any) -> tuple[int, int] | None:
    """桁数 → (length, scale). Accepts 10, "10", "１０", "12,2", "12.2", "(12,2)", "12(2)". None if invalid."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return (raw, 0) if raw > 0 else None
    if isinstance(raw, float):
        if raw.is_integer() and raw > 0:
            return int(raw), 0
        m = re.fullmatch(r"(\d+)\.(\d+)", repr(raw))
        return (int(m.group(1)), int(m.group(2))) if m and int(m.group(1)) > 0 else None
    text = _norm(raw).strip("()")
    m = re.fullmatch(r"(\d+)(?:[,.、](\d+)|\((\d+)\))?(?:桁|byte|bytes|文字)?", text)
    if not m:
        return None
    length = int(m.group(1))
    scale = int(m.group(2) or m.group(3) or 0)
    if length <= 0 or scale > length:
        return None
    return length, scale


def _parse_mark(raw: Any) -> bool | None:
    text = _norm(raw)
    if text in TRUE_MARKS:
        return True
    if text in FALSE_MARKS:
        return False
    return None


def known_item_ids(directory: Path | None = None) -> dict[str, str]:
    """Japanese item name → item id, from the hub's own definitions (and KIKAN_DEFINITIONS_PATH),
    for names that mean one id only."""
    from kikan_hub.layouts.isl import load_definitions

    seen: dict[str, set[str]] = {}
    for d in load_definitions(str(directory) if directory else None).values():
        for table in d.tables:
            for item in table.items:
                seen.setdefault(_norm(item.name), set()).add(item.id)
    return {name: next(iter(ids)) for name, ids in seen.items() if len(ids) == 1}


def _cell(row: tuple, col: int | None) -> Any:
    if col is None or col >= len(row):
        return None
    return row[col]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _code_id(raw: Any) -> str | None:
    if _blank(raw):
        return None
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    if _norm(text) in FALSE_MARKS:
        return None
    return text.lower() if re.fullmatch(r"[A-Za-z0-9_\-]+", text) else text


def import_sheet(path: Path, ws, table_id: str, names: dict[str, str]) -> dict[str, Any] | None:
    found = _find_header(ws)
    if found is None:
        return None
    header_row, cols = found
    missing = [COLUMN_LABELS[k] for k in REQUIRED_COLUMNS if k not in cols]
    if missing:
        raise XlsxImportError(path, f"見出し行に列 {'・'.join(missing)} がありません", ws.title, header_row)
    items: list[dict[str, Any]] = []
    used: set[str] = set()
    for row_no, row in enumerate(ws.iter_rows(min_row=header_row + 1, values_only=True), start=header_row + 1):
        name_raw = _cell(row, cols["name"])
        if _blank(name_raw):
            others = [_cell(row, cols[k]) for k in ("type", "length") if k in cols]
            if any(not _blank(v) for v in others):
                raise XlsxImportError(path, "データ項目名称が空なのにデータ型・桁数があります", ws.title, row_no)
            continue
        name = unicodedata.normalize("NFKC", str(name_raw)).strip()
        name = re.sub(r"\s+", " ", name)
        length_raw = _cell(row, cols["length"])
        parsed = parse_length(length_raw)
        if parsed is None:
            raise XlsxImportError(path, f"項目「{name}」の桁数 {length_raw!r} は正の整数 (小数桁は 12,2 の形) ではありません",
                                  ws.title, row_no)
        length, scale = parsed
        type_raw = _cell(row, cols["type"])
        typ = map_type(type_raw, name, scale)
        if typ is None:
            raise XlsxImportError(path, f"項目「{name}」のデータ型 {type_raw!r} を解釈できません", ws.title, row_no)
        gaiji = False
        if "gaiji" in cols:
            mark = _parse_mark(_cell(row, cols["gaiji"]))
            if mark is None:
                raise XlsxImportError(path, f"項目「{name}」の外字使用（有無） {_cell(row, cols['gaiji'])!r} は 有/無 ではありません",
                                      ws.title, row_no)
            gaiji = mark
        required = False
        if "required" in cols:
            required = bool(_parse_mark(_cell(row, cols["required"])))
        code = _code_id(_cell(row, cols["code"])) if "code" in cols else None
        seq_no = len(items) + 1
        iid = names.get(_norm(name))
        if not iid or iid in used:
            iid = f"item_{seq_no:03d}"
        used.add(iid)
        item: dict[str, Any] = {"id": iid, "name": name, "type": typ, "length": length, "gaiji": gaiji,
                                "code": code, "required": required}
        if scale:
            item["scale"] = scale
        item["provenance"] = f"imported: {path.name} sheet {ws.title} row {row_no}"
        items.append(item)
    if not items:
        raise XlsxImportError(path, "見出し行の下にデータ項目がありません", ws.title, header_row)
    return {"id": table_id, "name": ws.title, "description": f"imported from {path.name} sheet {ws.title}",
            "primary_key": [], "items": items}


def import_workbook(path: str | Path, *, gyomu_id: str | None = None, table_id: str | None = None,
                    gyomu: str | None = None, sheets: Iterable[str] | None = None,
                    definitions_dir: Path | None = None) -> dict[str, Any]:
    """Read a データ項目一覧表 workbook and return an ISL definition (a dict ready for YAML)."""
    from openpyxl import load_workbook  # openpyxl is only needed here

    path = Path(path)
    if not path.is_file():
        raise XlsxImportError(path, "ファイルがありません")
    try:
        wb = load_workbook(path, read_only=False, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a bad file
        raise XlsxImportError(path, f"Excel ブック (.xlsx) として読めません: {exc}") from None
    gid = gyomu_id or re.sub(r"[^0-9a-z_]+", "_", path.stem.lower()).strip("_") or "imported"
    wanted = list(sheets) if sheets else None
    names = known_item_ids(definitions_dir)
    tables: list[dict[str, Any]] = []
    for ws in wb.worksheets:
        if wanted is not None and ws.title not in wanted:
            continue
        n = len(tables) + 1
        tid = table_id if table_id and n == 1 else (f"{table_id}_{n:02d}" if table_id else f"{gid}_table{n:02d}")
        table = import_sheet(path, ws, tid, names)
        if table is not None:
            tables.append(table)
    if not tables:
        searched = ", ".join(ws.title for ws in wb.worksheets)
        raise XlsxImportError(path, f"どのシートにも「データ項目名称」を含む見出し行がありません "
                                    f"(各シートの先頭 {HEADER_SEARCH_ROWS} 行を探しました: {searched})")
    return {"gyomu": gyomu or gid, "gyomu_id": gid, "version": VERSION,
            "provenance": f"imported: {path.name}", "tables": tables}


def dump_definition(definition: dict[str, Any]) -> str:
    """YAML text: top-level keys in block style, one flow-style mapping per item (like the hub's files)."""
    head = {k: v for k, v in definition.items() if k != "tables"}
    out = [yaml.safe_dump(head, allow_unicode=True, sort_keys=False, width=200).rstrip("\n"), "tables:"]
    for t in definition["tables"]:
        out.append(f"  - id: {t['id']}")
        for key in ("name", "description"):
            out.append(f"    {key}: {_scalar(t[key])}")
        out.append(f"    primary_key: [{', '.join(t['primary_key'])}]")
        out.append("    items:")
        for item in t["items"]:
            body = ", ".join(f"{k}: {_scalar(v)}" for k, v in item.items())
            out.append(f"      - {{{body}}}")
    return "\n".join(out) + "\n"


def _scalar(value: Any) -> str:
    # Dump inside a flow sequence so that PyYAML quotes anything a flow mapping cannot hold
    # as a plain scalar (", [ ] { }", ": " …), then drop the brackets.
    text = yaml.safe_dump([value], allow_unicode=True, default_flow_style=True, width=10_000).strip()
    return text[1:-1]


def import_to_yaml(path: str | Path, out: str | Path | None = None, **kwargs: Any) -> str:
    text = dump_definition(import_workbook(path, **kwargs))
    if out is not None:
        Path(out).write_text(text, encoding="utf-8")
    return text
