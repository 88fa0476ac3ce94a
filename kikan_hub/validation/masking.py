"""Masking of personal data in report samples (on by default).

* 個人番号 (items with ``personal: mynumber``), other identifiers (``personal: identifier``:
  基礎年金番号, 在留カード等の番号) and 住民票コード: never shown.
* names (氏名, 世帯主の氏名, 筆頭者, 旧氏, 通称, フリガナ …): first character of each part,
  the rest ＊ — 山田 → 山＊, 山田　太郎 → 山＊　太＊.
* addresses (住所, 方書, 本籍, 転入前住所 …): cut to the 町字 (架空市桜町1丁目2番3号 → 架空市桜町1丁目…);
  方書 is dropped entirely.

The Parquet files under report/failures/ keep the rows in full for the migration team; only
what a report shows is masked.
"""
from __future__ import annotations

import re

from kikan_hub.layouts.isl import Table

HIDDEN = "（非表示）"
NAME_IDS = {"shimei", "shimei_kana", "shimei_alphabet", "setainushi_shimei", "hittosha", "kyu_uji", "tsusho",
            "kyu_uji_kana", "tsusho_kana", "kagaisha_shimei",
            "todokedenin_shimei", "tennyu_mae_setainushi_shimei"}
ADDRESS_IDS = {"jusho", "honseki", "tennyu_mae_jusho", "tenshutsu_saki_jusho", "saishu_toroku_jusho",
               "tenshutsu_saki_jusho_yotei", "tenshutsu_saki_jusho_kakutei", "sofusaki_jusho", "kagaisha_jusho"}
DROP_IDS = {"katagaki", "juminhyo_code"}
_SPLIT = re.compile(r"([ 　]+)")
_MACHIAZA = re.compile(r"^([^0-9０-９]*(?:[0-9０-９]+丁目)?)")


def kind_of(column: str, table: Table | None) -> str | None:
    base = column.removesuffix("_literal")
    if table is not None:
        try:
            item = table.item(base)
        except KeyError:
            item = None
        if item is not None and item.personal in ("mynumber", "identifier"):
            return "hidden"
    if column in DROP_IDS or column.endswith("kojin_bango"):
        return "hidden"
    if column in NAME_IDS or column.endswith("_shimei") or column.endswith("shimei_kana"):
        return "name"
    if column in ADDRESS_IDS or column.endswith("_jusho") or column == "jusho":
        return "address"
    return None


def mask_name(value: str) -> str:
    parts = _SPLIT.split(value)
    return "".join(p if _SPLIT.fullmatch(p) or not p else p[0] + "＊" * (len(p) - 1) for p in parts)


def mask_address(value: str) -> str:
    m = _MACHIAZA.match(value)
    head = m.group(1) if m else ""
    return head + "…" if head != value else value


def mask_value(column: str, value, table: Table | None = None, enabled: bool = True):
    if value is None or not enabled:
        return value
    kind = kind_of(column, table)
    if kind == "hidden":
        return HIDDEN
    if not isinstance(value, str):
        return value
    if kind == "name":
        return mask_name(value)
    if kind == "address":
        return mask_address(value)
    return value
