"""Legacy 続柄 words (長男, 孫, 養子 …) map to the j110 vocabulary only where the word says one thing;
the rest go to review through MAP-CODE, never guessed (jyuki-stnd j110)."""
from __future__ import annotations

import pyarrow as pa

from kikan_hub.layouts.isl import get_table, load_code_table
from kikan_hub.layouts.zokugara_words import code_map_from_words, legacy_words
from kikan_hub.mapping.engine import map_batch
from kikan_hub.mapping.row_errors import RowErrors
from kikan_hub.mapping.spec import ColumnSpec, TargetSpec


def test_words_map_into_the_vocabulary_or_to_review():
    vocab = load_code_table("zokugara").codes
    words = legacy_words()
    assert all(v in vocab for v in words.values() if v is not None)
    assert words["孫"] == "2020" and vocab[words["孫"]] == "子の子"          # j110's own example
    assert {words[w] for w in ("長男", "次女", "養子", "養女")} == {"20"}      # 住民票: 実子も養子も「子」
    for ambiguous in ("祖父", "祖母", "義父", "おじ", "甥", "準世帯主", "家事使用人"):
        assert words[ambiguous] is None, ambiguous


def test_code_map_leaves_ambiguous_and_unknown_words_for_review():
    cm, review = code_map_from_words({"01": "世帯主", "05": "長男", "07": "孫", "08": "祖父", "09": "子(子の妻)",
                                      "10": "子の妻", "11": "ばあちゃん"})
    assert cm == {"01": "01", "05": "20", "07": "2020", "10": "2012"}
    assert review == ["08", "09", "11"]


def test_review_words_are_quarantined_by_map_code_not_guessed():
    cm, _ = code_map_from_words({"05": "長男", "08": "祖父"})
    table = get_table("juki_jumin")
    target = TargetSpec(table="juki_jumin", file="X", record_type="r",
                        columns=(ColumnSpec(target="zokugara", source="z", code_map=cm, code_map_name="zokugara"),))
    batch = pa.record_batch({"z": pa.array(["05", "08"]), "_record_no": pa.array([1, 2]), "_offset": pa.array([0, 10])})
    errors = RowErrors(2)
    cols = map_batch(batch, target, table, {}, errors).columns
    assert cols["zokugara"].to_pylist()[0] == "20"
    assert list(errors.failed) == [False, True] and "MAP-CODE" in errors.rules[1]
