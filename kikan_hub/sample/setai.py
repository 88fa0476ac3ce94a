"""The SETAI record family (世帯履歴, SETAI.DAT): one chunk's household rows → 128-byte blocks without
terminator (履歴番号 and 世帯人数 COMP-3) → the file, records.parquet and setai.parquet.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from kikan_hub.sample import defects as planting
from kikan_hub.sample.context import RECORDS_SCHEMA, RunContext
from kikan_hub.sample.fields import (
    RecordMatrix, blank_where, conform, date_array, digits_matrix, digits_to_int, matrix_strings, null_where,
    packed_matrix, western_matrix,
)
from kikan_hub.sample.people import Numbers, People, Places
from kikan_hub.sample.simulation import ChunkData


@dataclass
class SetaiRows:
    house: np.ndarray
    rireki: np.ndarray
    head: np.ndarray          # person or -1 (世帯主未設定)
    addr: np.ndarray
    jinzu: np.ndarray
    kosei_day: np.ndarray
    shori_day: np.ndarray

    @classmethod
    def from_chunk(cls, c: ChunkData) -> "SetaiRows":
        S = c.s
        return cls(**{name: np.array(S[key], dtype=np.int64) for name, key in (
            ("house", "house"), ("rireki", "rireki"), ("head", "head"), ("addr", "addr"), ("jinzu", "jinzu"),
            ("kosei_day", "kosei_day"), ("shori_day", "shori_day"))})

    def __len__(self) -> int:
        return len(self.house)


def emit_setai(ctx: RunContext, people: People, nums: Numbers, places: Places, rows: SetaiRows,
               rng: np.random.Generator) -> None:
    """Assemble, plant defects, write the records and their truth."""
    rec = _assemble(ctx, people, nums, places, rows)
    defect = _plant_defects(ctx, people, places, rows, rec, rng)
    offsets, record_no, expected = _write(ctx, rows, rec, defect)
    _write_truth(ctx, people, nums, places, rows, rec, offsets, record_no, expected)


def _assemble(ctx: RunContext, people: People, nums: Numbers, places: Places, rows: SetaiRows) -> RecordMatrix:
    rec = RecordMatrix(len(rows), ctx.setai.record_length, ctx.setai.positions, b"2")
    no_head = rows.head < 0
    headx = np.maximum(rows.head, 0)
    rec.put("setai_no", digits_matrix(nums.setai_no[rows.house], 10))
    rec.put("rireki_no", packed_matrix(rows.rireki, rec.width("rireki_no")))
    rec.put("setainushi_atena_no", blank_where(no_head, digits_matrix(nums.atena[headx], 10)))
    rec.put("setainushi_shimei", blank_where(no_head, people.name_m[headx][:, :rec.width("setainushi_shimei")]))
    rec.put("jusho", places.addr_m[rows.addr][:, :rec.width("jusho")])
    rec.put("jusho_code", digits_matrix(places.acode[rows.addr], 9))
    rec.put("yubin_no", digits_matrix(places.yubin[places.machi_idx[rows.addr]], 7))
    rec.put("setai_jinzu", packed_matrix(rows.jinzu, rec.width("setai_jinzu")))
    rec.put("setai_kosei_date", western_matrix(rows.kosei_day))
    rec.put("shori_date", western_matrix(rows.shori_day))
    return rec


def _plant_defects(ctx: RunContext, people: People, places: Places, rows: SetaiRows, rec: RecordMatrix,
                   rng: np.random.Generator) -> np.ndarray:
    """The defect class per record (None: clean); no 方書 in SETAI, so only the 住所 text's gaiji count."""
    m = len(rows)
    no_head = rows.head < 0
    mask = np.where(no_head, 0, people.name_mask[np.maximum(rows.head, 0)]) | (places.text_mask[rows.addr] if m else 0)
    defect = np.full(m, None, dtype=object)
    defect[(mask & ctx.unresolved_mask) != 0] = "gaiji_unresolved"
    lengths = np.full(m, ctx.setai.record_length, dtype=np.int64)
    planting.plant(ctx.profile.defects.files["SETAI"], rec, lengths, mask == 0, ctx.opts.defect_rate, rng, {},
                   defect)
    if (lengths != ctx.setai.record_length).any():
        raise ValueError("SETAI.DAT has no terminator: a record_length defect cannot be planted in it")
    return defect


def _write(ctx: RunContext, rows: SetaiRows, rec: RecordMatrix,
           defect: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The records to SETAI.DAT and records.parquet; returns (offsets, record numbers, expected)."""
    m, rl, w = len(rows), ctx.setai.record_length, ctx.setai_file
    offsets = w.offset + np.arange(m, dtype=np.int64) * rl
    record_no = w.record_no + 1 + np.arange(m, dtype=np.int64)
    w.write(rec.m.tobytes())
    w.record_no += m
    written = rec.field("setai_no")
    w.hash_total += int(digits_to_int(written).sum())
    w.data_records += m
    expected, rules = planting.outcome(ctx.profile.defects, "SETAI", defect)
    ctx.truth.records.write_table(pa.table({
        "file_id": pa.array(["SETAI"] * m), "record_no": record_no, "offset": offsets,
        "length": np.full(m, rl, dtype=np.int64), "record_type": pa.array(["household"] * m),
        "key_no": matrix_strings(written), "rireki_no": rows.rireki,
        "expected": pa.array(expected.tolist(), type=pa.string()),
        "defect_class": pa.array(defect.tolist(), type=pa.string()),
        "expected_rule": pa.array(rules, type=pa.string())}, schema=RECORDS_SCHEMA))
    nq = int((expected == "quarantined").sum())
    ctx.stats.count("SETAI", "household", m - nq, nq)
    ctx.stats.add_defects("SETAI", defect, ctx.profile.defects.rules("SETAI"))
    return offsets, record_no, expected


def _write_truth(ctx: RunContext, people: People, nums: Numbers, places: Places, rows: SetaiRows,
                 rec: RecordMatrix, offsets: np.ndarray, record_no: np.ndarray, expected: np.ndarray) -> None:
    """setai.parquet: the canonical rows of the records that load."""
    m = len(rows)
    no_head = rows.head < 0
    headx = np.maximum(rows.head, 0)
    machi = places.machi_idx[rows.addr]
    cols = {
        "setai_no": matrix_strings(rec.field("setai_no")), "rireki_no": pa.array(rows.rireki),
        "setainushi_atena_no": null_where(no_head, matrix_strings(digits_matrix(nums.atena[headx], 10))),
        "setainushi_shimei": null_where(no_head, pa.array(people.name_res, type=pa.string()).take(headx)),
        "jusho": pa.array(places.addr_res, type=pa.string()).take(rows.addr),
        "jusho_code": matrix_strings(digits_matrix(places.acode[rows.addr], 9)),
        "yubin_no": matrix_strings(digits_matrix(places.yubin[machi], 7)),
        "setai_kosei_date": date_array(rows.kosei_day), "shori_date": date_array(rows.shori_day),
        "_source_file": pa.array(["SETAI.DAT"] * m), "_source_offset": pa.array(offsets),
        "_record_no": pa.array(record_no),
    }
    ctx.truth.setai.write_table(conform(cols, ctx.truth.setai_schema, m).filter(pa.array(expected == "loaded")))
