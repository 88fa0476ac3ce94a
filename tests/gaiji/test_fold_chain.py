"""Folds beyond one MJ縮退マップ step: IVS glyph → UCS form → JIS X 0208 form, and the symbol table."""
from kikan_hub.gaiji.fold import REVERSE_CATEGORY, fold_text, fold_unit, symbol_folds


def test_ivs_glyph_folds_through_its_ucs_form(mj_index):
    related = mj_index.shrink_map()
    to, category = fold_unit("鷗\U000E0101", "jisx0208", related)
    assert to == "鴎"
    assert category == REVERSE_CATEGORY  # 鷗 is JIS X 0213: the map read backwards, and recorded so
    folded, records = fold_text("鷗\U000E0101外", "jisx0208", related)
    assert folded == "鴎外" and len(records) == 1 and records[0].to == "鴎"


def test_without_the_full_map_it_is_reported_not_guessed():
    to, category = fold_unit("鷗\U000E0101", "jisx0208", related={})
    assert to is None and category == "縮退不可"


def test_vendor_symbols_fold_only_by_the_table_and_are_recorded():
    category, table = symbol_folds()
    folded, records = fold_text("架空ビル①㈱", "jisx0208", related={})
    assert folded == "架空ビル(1)(株)"
    assert [(r.from_, r.to, r.category) for r in records] == [("①", "(1)", category), ("㈱", "(株)", category)]
    # CP932 itself holds ①: no fold for a CP932 receiver.
    assert fold_text("①", "cp932", related={}) == ("①", [])
    assert all(len(k) == 1 for k in table)
