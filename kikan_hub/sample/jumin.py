"""The JUMIN record family (住民異動履歴, JUMIN.DAT): one chunk's history rows → fixed-width records
(with the planted defects) → the file, records.parquet, jumin.parquet and persons.parquet.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from kikan_hub.sample import defects as planting
from kikan_hub.sample import juki_extras
from kikan_hub.sample.context import PERSONS_SCHEMA, RECORDS_SCHEMA, RunContext
from kikan_hub.sample.fields import (
    NONE, RecordMatrix, blank_where, conform, date_array, digits_matrix, digits_to_int, literal_strings,
    matrix_strings, null_where, western_matrix,
)
from kikan_hub.sample.people import BirthDates, JuminRows, Numbers, People, Places

ERA_DATE_FIELDS = {"jumin_date": "jumin_day", "jusho_date": "jusho_day", "idou_date": "idou_day",
                   "shojo_date": "shojo_day"}        # written as era code + YYMMDD (jusho_date: letter era)


def _codes(arr: np.ndarray, table: dict | None) -> pa.Array:
    """Vendor codes → canonical codes (mapping.yaml code_maps); blank → null."""
    vals = [x.decode() for x in arr.tolist()]
    if table is not None:
        vals = [table.get(x) if x else None for x in vals]
    return pa.array([x if x else None for x in vals], type=pa.string())


class JuminChunk:
    """One chunk of JUMIN records: assembled, defects planted, written, truth written."""

    def __init__(self, ctx: RunContext, people: People, nums: Numbers, births: BirthDates, places: Places,
                 rows: JuminRows, era: dict[str, np.ndarray]) -> None:
        self.ctx, self.p, self.nums, self.births, self.pl, self.rows, self.era = (
            ctx, people, nums, births, places, rows, era)
        self.n = len(rows)
        self.hit = places.hittosha[rows.house]
        self.no_head = rows.head < 0    # 世帯主未設定 (j100): the 世帯主の氏名 is blank
        self.rec = RecordMatrix(self.n, ctx.jumin.record_length, ctx.jumin.positions, b"2")

    # ---------------------------------------------------------------- assembly
    def assemble(self) -> dict[str, pa.Array]:
        """Fill the record matrix; returns the truth columns of the extra items (juki_extras)."""
        p, pl, r, rec, n = self.p, self.pl, self.rows, self.rec, self.n
        person, addr, house = r.person, r.addr, r.house
        rec.put("atena_no", digits_matrix(self.nums.atena[person], 10))
        rec.put("rireki_no", digits_matrix(r.rireki, 4))
        rec.put("setai_no", digits_matrix(self.nums.setai_no[house], 10))
        rec.put("jumin_shubetsu", np.where(p.foreign[person], ord("2"), ord("1")).astype(np.uint8)[:, None])
        rec.put("jumin_jotai", r.jotai.view(np.uint8).reshape(n, 1))
        rec.put("shimei", p.name_m[person])
        rec.put("shimei_kana", p.kana_m[person])
        rec.put("seibetsu", (48 + p.sex[person]).astype(np.uint8)[:, None])
        rec.put("birth_date", self.births.written[person])
        rec.put("birth_fusho", self.births.fusho_matrix(rec.width("birth_fusho"))[person])
        rec.put("zokugara", r.zoku.view(np.uint8).reshape(n, 2))
        rec.put("setainushi_shimei", blank_where(self.no_head, p.name_m[np.maximum(r.head, 0)]))
        rec.put("jusho", pl.addr_m[addr])
        rec.put("katagaki", pl.kata_m[addr])
        rec.put("jusho_code", digits_matrix(pl.acode[addr], 9))
        rec.put("machiaza", pl.machi_m[pl.machi_idx[addr]])
        rec.put("yubin_no", digits_matrix(pl.yubin[pl.machi_idx[addr]], 7))
        rec.put("honseki", pl.honseki_m[house])
        hitto_m = blank_where(self.hit < 0, p.name_m[np.maximum(self.hit, 0)])
        width = rec.width("hittosha")
        rec.put("hittosha", hitto_m[:, :width] if p.name_m.shape[1] > width else hitto_m)
        for name in ERA_DATE_FIELDS:
            rec.put(name, self.era[name])
        self.kojin_m = blank_where(~r.mynum, digits_matrix(self.nums.kojin[person], 12))
        rec.put("kojin_bango", self.kojin_m)
        rec.put("juminhyo_code", digits_matrix(self.nums.jcode[person], 11))
        rec.put("idou_jiyu", r.idou.view(np.uint8).reshape(n, 2))
        rec.put("todokede_date", western_matrix(r.todoke_day))
        rec.put("shori_date", western_matrix(r.shori_day))
        rec.put("tennyu_mae_jusho", blank_where(r.tennyu < 0, pl.places_m[np.maximum(r.tennyu, 0)]))
        rec.put("tenshutsu_saki_jusho", blank_where(r.tenshutsu < 0, pl.places_m[np.maximum(r.tenshutsu, 0)]))
        shojo_m = r.shojo.view(np.uint8).reshape(n, 2).copy()
        shojo_m[shojo_m == 0] = 0x20
        rec.put("shojo_jiyu", shojo_m)
        ex_truth = self._extras()
        self._check_hittosha_width()
        return ex_truth

    def _extras(self) -> dict[str, pa.Array]:
        """外国人住民, 旧氏, 届出の年月日, 支援措置 (juki_extras; its own generator, seeded per chunk)."""
        ctx, p, r = self.ctx, self.p, self.rows
        ex_rng = np.random.default_rng([ctx.opts.seed, int(p.gid[0]) if len(p.gid) else 0, 19])
        ex_mats, ex_truth = juki_extras.emit(ex_rng, people=p, nums=self.nums, rows=r, assets=ctx.assets,
                                             sinks=ctx.sinks, profile=ctx.profile, fields=self.rec.pos)
        for name, mat in ex_mats.items():
            self.rec.put(name, mat)
        return ex_truth

    def _check_hittosha_width(self) -> None:
        # hittosha is the household's first head; guard the field width (a long name would be cut)
        name_m, width, hit = self.p.name_m, self.rec.width("hittosha"), self.hit
        if name_m.shape[1] > width:
            over = (name_m[:, width:] != 0x20).any(axis=1)
            if over[np.maximum(hit, 0)][hit >= 0].any():
                raise ValueError("筆頭者 field too short for a name")

    # ---------------------------------------------------------------- defects
    def plant_defects(self, rng: np.random.Generator) -> None:
        ctx, p, pl, r = self.ctx, self.p, self.pl, self.rows
        person, head, hit = r.person, r.head, self.hit
        row_mask = (p.name_mask[person] | np.where(self.no_head, 0, p.name_mask[np.maximum(head, 0)])
                    | pl.addr_mask[r.addr] | pl.honseki_mask[r.house]
                    | np.where(hit >= 0, p.name_mask[np.maximum(hit, 0)], 0))
        self.defect = np.full(self.n, None, dtype=object)
        self.defect[(row_mask & ctx.unresolved_mask) != 0] = "gaiji_unresolved"
        self.lengths = np.full(self.n, ctx.jumin.record_length, dtype=np.int64)
        conditions = {"birth_exact": p.bkind[person] == 0}
        planting.plant(ctx.profile.defects.files["JUMIN"], self.rec, self.lengths, row_mask == 0,
                       ctx.opts.defect_rate, rng, conditions, self.defect)

    # ---------------------------------------------------------------- output
    def write(self) -> None:
        """The records to JUMIN.DAT (CRLF after each; a planted length keeps its CRLF) and records.parquet."""
        ctx, n, rec, rl = self.ctx, self.n, self.rec.m, self.ctx.jumin.record_length
        w, lengths = ctx.jumin_file, self.lengths
        term = np.frombuffer(b"\r\n", dtype=np.uint8)
        self.offsets = w.offset + np.concatenate([[0], np.cumsum(lengths + 2)[:-1]])
        self.record_no = w.record_no + 1 + np.arange(n, dtype=np.int64)
        full = np.concatenate([rec, np.broadcast_to(term, (n, 2))], axis=1)
        prev = 0
        for i in np.flatnonzero(lengths != rl):
            if i > prev:
                w.write(full[prev:i].tobytes())
            body = rec[i, :rl - 1].tobytes() if lengths[i] < rl else rec[i].tobytes() + b" "
            w.write(body + b"\r\n")
            prev = i + 1
        if prev < n:
            w.write(full[prev:].tobytes())
        w.record_no += n
        atena_written = self.rec.field("atena_no")
        w.hash_total += int((digits_to_int(atena_written)).sum())
        w.data_records += n

        defects = ctx.profile.defects
        self.expected, rules = planting.outcome(defects, "JUMIN", self.defect)
        self.key_str = matrix_strings(atena_written)
        ctx.truth.records.write_table(pa.table({
            "file_id": pa.array(["JUMIN"] * n), "record_no": self.record_no, "offset": self.offsets,
            "length": lengths, "record_type": pa.array(["resident"] * n), "key_no": self.key_str,
            "rireki_no": self.rows.rireki, "expected": pa.array(self.expected.tolist(), type=pa.string()),
            "defect_class": pa.array(self.defect.tolist(), type=pa.string()),
            "expected_rule": pa.array(rules, type=pa.string())}, schema=RECORDS_SCHEMA))
        nq = int((self.expected == "quarantined").sum())
        ctx.stats.count("JUMIN", "resident", n - nq, nq)
        ctx.stats.add_defects("JUMIN", self.defect, defects.rules("JUMIN"))

    def write_truth(self, ex_truth: dict[str, pa.Array]) -> None:
        """jumin.parquet (the canonical rows of the records that load) and persons.parquet."""
        ctx, p, pl, r, n = self.ctx, self.p, self.pl, self.rows, self.n
        cm = ctx.code_maps
        person, addr, house = r.person, r.addr, r.house
        name_res_a = pa.array(p.name_res, type=pa.string())
        addr_res_a = pa.array(pl.addr_res, type=pa.string())
        birth_iso, birth_literal, birth_unknown = self.births.truth(p.birth, p.bkind)

        def era_cols(name: str) -> tuple[pa.Array, pa.Array, pa.Array]:
            days = getattr(r, ERA_DATE_FIELDS[name])
            return date_array(days), literal_strings(self.era[name]), pa.array(np.zeros(n, dtype=bool))

        cols: dict[str, pa.Array] = {}
        cols["atena_no"] = self.key_str
        cols["rireki_no"] = pa.array(r.rireki)
        cols["setai_no"] = matrix_strings(self.rec.field("setai_no"))
        cols["jumin_shubetsu"] = pa.array(np.where(p.foreign[person], "2", "1").tolist(), type=pa.string())
        cols["jumin_jotai"] = _codes(r.jotai, cm["jumin_jotai"])
        cols["shimei"] = name_res_a.take(person)
        cols["shimei_kana"] = pa.array(p.kana_full, type=pa.string()).take(person)
        cols["birth_date"] = birth_iso.take(person)
        cols["birth_date_literal"] = birth_literal.take(person)
        cols["birth_date_unknown"] = pa.array(birth_unknown[person])
        cols["seibetsu"] = pa.array((p.sex[person]).astype(str).tolist(), type=pa.string())
        cols["zokugara"] = _codes(r.zoku, cm["zokugara"])
        cols["setainushi_shimei"] = null_where(self.no_head, name_res_a.take(np.maximum(r.head, 0)))
        cols["jusho"] = addr_res_a.take(addr)
        cols["katagaki"] = pa.array(pl.kata_res, type=pa.string()).take(addr)
        cols["jusho_code"] = matrix_strings(digits_matrix(pl.acode[addr], 9))
        cols["machiaza"] = pl.machi_res.take(pl.machi_idx[addr])
        cols["yubin_no"] = matrix_strings(digits_matrix(pl.yubin[pl.machi_idx[addr]], 7))
        cols["honseki"] = pl.honseki_res.take(house)
        cols["hittosha"] = pa.array([p.name_res[h] if h >= 0 else None for h in self.hit.tolist()], type=pa.string())
        cols["jumin_date"], cols["jumin_date_literal"], cols["jumin_date_unknown"] = era_cols("jumin_date")
        cols["jusho_date"], cols["jusho_date_literal"], cols["jusho_date_unknown"] = era_cols("jusho_date")
        cols["kojin_bango"] = literal_strings(self.kojin_m)
        cols["juminhyo_code"] = matrix_strings(digits_matrix(self.nums.jcode[person], 11))
        cols["idou_jiyu"] = _codes(r.idou, cm["idou_jiyu"])
        cols["idou_date"], cols["idou_date_literal"], cols["idou_date_unknown"] = era_cols("idou_date")
        cols["todokede_date"] = date_array(r.todoke_day)
        cols["shori_date"] = date_array(r.shori_day)
        cols["tennyu_mae_jusho"] = null_where(r.tennyu < 0, pl.places_res.take(np.maximum(r.tennyu, 0)))
        cols["tenshutsu_saki_jusho"] = null_where(r.tenshutsu < 0, pl.places_res.take(np.maximum(r.tenshutsu, 0)))
        cols["shojo_jiyu"] = _codes(r.shojo, cm["shojo_jiyu"])
        cols["shojo_date"], cols["shojo_date_literal"], cols["shojo_date_unknown"] = era_cols("shojo_date")
        cols.update(ex_truth)
        cols["_source_file"] = pa.array(["JUMIN.DAT"] * n)
        cols["_source_offset"] = pa.array(self.offsets)
        cols["_record_no"] = pa.array(self.record_no)
        ok = pa.array(self.expected == "loaded")
        ctx.truth.jumin.write_table(conform(cols, ctx.truth.jumin_schema, n).filter(ok))
        self._write_persons(cols)

    def _write_persons(self, cols: dict[str, pa.Array]) -> None:
        """persons.parquet: the simulation itself (defects not applied), one row per history row."""
        r, n, cm = self.rows, self.n, self.ctx.code_maps
        same_next = np.zeros(n, dtype=bool)
        same_next[:-1] = r.person[1:] == r.person[:-1]
        valid_to = np.full(n, NONE, dtype=np.int64)
        valid_to[:-1] = np.where(same_next[:-1], r.idou_day[1:], NONE)
        self.ctx.truth.persons.write_table(pa.table({
            "atena_no": matrix_strings(digits_matrix(self.nums.atena[r.person], 10)), "rireki_no": pa.array(r.rireki),
            "setai_no": matrix_strings(digits_matrix(self.nums.setai_no[r.house], 10)),
            "shimei": cols["shimei"], "zokugara": _codes(r.zoku, cm["zokugara"]), "jusho": cols["jusho"],
            "katagaki": cols["katagaki"], "machiaza": cols["machiaza"], "idou_jiyu": _codes(r.idou, cm["idou_jiyu"]),
            "valid_from": date_array(r.idou_day), "valid_to": date_array(valid_to),
            "resident": pa.array(r.jotai == b"0"), "jumin_jotai": _codes(r.jotai, cm["jumin_jotai"])},
            schema=PERSONS_SCHEMA))
