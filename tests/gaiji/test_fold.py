from __future__ import annotations

import csv
from pathlib import Path

import pytest

from kikan_hub.gaiji.fold import CATEGORY_NAMES, UNFOLDABLE, fold_text, in_target


def test_required_examples():
    assert fold_text("髙﨑", "jisx0213")[0] == "高﨑"
    folded, recs = fold_text("髙﨑", "jisx0208")
    assert folded == "高崎"
    assert [(r.position, r.from_, r.to) for r in recs] == [(0, "髙", "高"), (1, "﨑", "崎")]
    assert all(r.category in CATEGORY_NAMES for r in recs)


def test_category_names_use_kijun_spelling():
    assert "JIS包摂規準・UCS統合規則" in CATEGORY_NAMES
    assert not any("基準" in c for c in CATEGORY_NAMES)
    assert CATEGORY_NAMES == ("JIS包摂規準・UCS統合規則", "法務省告示582号別表第四", "法務省戸籍法関連通達・通知",
                              "辞書類等による関連字", "読み・字形による類推")


def test_characters_already_in_the_target_are_not_folded():
    text = "山田太郎 ABC ｱｲｳ 高崎"
    assert fold_text("高崎山田", "jisx0208") == ("高崎山田", [])
    assert fold_text("﨑", "jisx0213") == ("﨑", [])
    assert fold_text("髙﨑", "cp932") == ("髙﨑", [])        # both are IBM extensions in CP932
    assert fold_text(text, "jisx0213")[1] == []


def test_ivs_folds_to_its_base_and_positions_count_code_points():
    folded, recs = fold_text("辻\U000E0102子", "jisx0208")
    assert folded == "辻子"
    assert recs[0].position == 0 and recs[0].from_ == "辻\U000E0102" and recs[0].to == "辻"


def test_unfoldable_is_reported_and_left_never_replaced():
    folded, recs = fold_text("a\ue000b", "jisx0208")
    assert folded == "a\ue000b"
    assert [(r.position, r.to, r.category) for r in recs] == [(1, None, UNFOLDABLE)]
    assert "\ufffd" not in folded


@pytest.fixture(scope="module")
def mojikiban_rows(mj_dir: Path):
    with open(mj_dir / "mojikiban_moji.csv", encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("with_related", [False, True], ids=["jntajis-only", "with-index"])
@pytest.mark.parametrize("target", ["jisx0208", "jisx0213"])
def test_folds_agree_with_mojikiban_shrink_column(mojikiban_rows, mj_index, target, with_related):
    """Every fold lands in the target set; no U+FFFD; where the file's shrink column offers a
    candidate inside the target set, we fold too, and the characters already in the target stay."""
    related = mj_index.shrink_map() if with_related else None
    folded_n = agree = 0
    missed = []
    wrong_target = []
    for row in mojikiban_rows:
        ch, shrink = row["kanji"], row["shrink"]
        out, recs = fold_text(ch, target, related)
        assert "\ufffd" not in out
        if in_target(ch, target):
            assert out == ch and recs == []
            continue
        if recs and recs[0].to is not None:
            folded_n += 1
            if not in_target(out, target):
                wrong_target.append((row["mj"], ch, out))
            if out in shrink:
                agree += 1
        elif any(in_target(c, target) for c in shrink):
            missed.append((row["mj"], ch, shrink))
    assert wrong_target == []
    assert folded_n > 10000
    # the shrink column is the MJ縮退マップ seen from the same data; allow for its 辞書類等 entries
    assert agree / folded_n > 0.95, (agree, folded_n)
    # jntajis-python compiles four of the map's five categories (no 辞書類等による関連字); with the
    # index's shrink column the fifth is there too
    assert len(missed) / folded_n < (0.005 if with_related else 0.08), (len(missed), missed[:20])


def test_codepage_target():
    folded, recs = fold_text("𠮷野", "cp932")
    assert folded == "吉野" and recs[0].from_ == "𠮷"
