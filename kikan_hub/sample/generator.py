"""The fictional old vendor's extract generator (旧住記, ベンダー「架空システム」).

``generate(SampleOptions(residents=N, out=DIR, seed=S))`` writes a deterministic legacy extract
set — JUMIN.DAT, SETAI.DAT, their layouts, the mapping, the gaiji register and the rehearsal
manifest — plus the ground truth under DIR/truth/ (see ``kikan_hub/sample/README.md``).

How it works: residents are simulated household by household in chunks (``simulation.py``; one
``random.Random`` per chunk, seeded from (seed, chunk number), so memory stays bounded and the
output depends on N and the seed only). A chunk's history rows are small integer columns; the
fixed-width records are then assembled with numpy, one record family per module (``jumin.py``,
``setai.py``, ``juki_extras.py`` for the CSV side files), defects planted as the profile says
(``defects.py``, ``profiles/juki.yaml``), and streamed to the files and the truth Parquet files.
This module runs the chunks and writes the control records and the summary; it also holds the
era and check-digit helpers the record families use (one table each, issue 12).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import yaml

from kikan_hub.layouts.types import arrow_type
from kikan_hub.mapping.era_dates import load_eras
from kikan_hub.sample import cp932w, juki_extras
from kikan_hub.sample.assets_loader import (
    ASSETS, FULLWIDTH_DIGITS, UNIDENTIFIED_ORDER, field_positions, load_assets, register,
)
from kikan_hub.sample.context import (
    RECORDS_SCHEMA, RecordLayout, RecordWriter, RunContext, SampleOptions, Stats, TruthWriters,
)
from kikan_hub.sample.fields import NONE, digits_matrix, ymd
from kikan_hub.sample.jumin import ERA_DATE_FIELDS, JuminChunk
from kikan_hub.sample.people import BirthDates, JuminRows, Numbers, People, Places
from kikan_hub.sample.profile import resolve_profiles
from kikan_hub.sample.setai import SetaiRows, emit_setai
from kikan_hub.sample.simulation import ChunkData, Simulator
from kikan_hub.validation.check_digits import m11_check_digits

GENERATOR_VERSION = "kikan-sample/1"

# ---------------------------------------------------------------- calendar

def _day(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01."""
    return (dt.date(y, m, d) - dt.date(1970, 1, 1)).days


# The era table is mapping/eras.yaml (the one copy); numpy views of it for the vectorised writers.
_ERAS = load_eras()[0]
ERA_NAMES = [e.name for e in _ERAS]
ERA_LETTERS = np.frombuffer("".join(e.letter for e in _ERAS).encode("ascii"), dtype=np.uint8)
ERA_START_DAYS = np.array([_day(e.start.year, e.start.month, e.start.day) for e in _ERAS], dtype=np.int64)
ERA_YEAR0 = np.array([e.start.year for e in _ERAS], dtype=np.int64)


# ---------------------------------------------------------------- check digits and eras


def era_of(days: np.ndarray) -> np.ndarray:
    return np.searchsorted(ERA_START_DAYS, days, side="right") - 1


def era_code_matrix(days: np.ndarray, letter: bool = False) -> np.ndarray:
    days = np.asarray(days, dtype=np.int64)
    none = days == NONE
    safe = np.where(none, ERA_START_DAYS[-1], days)
    e = era_of(safe)
    y, mo, dd = ymd(safe)
    yy = y - ERA_YEAR0[e] + 1
    m = np.empty((len(days), 7), dtype=np.uint8)
    m[:, 0] = ERA_LETTERS[e] if letter else (49 + e).astype(np.uint8)
    m[:, 1:3] = digits_matrix(yy, 2)
    m[:, 3:5] = digits_matrix(mo, 2)
    m[:, 5:7] = digits_matrix(dd, 2)
    m[none] = 0x20
    return m



def identifiers(gid: np.ndarray, hgid: np.ndarray) -> Numbers:
    """宛名番号, 個人番号, 住民票コード per person and 世帯番号 per household, each with its check digit."""
    atena_data = 100_000 + gid
    kojin_data = (gid * 48271 + 31_415_926_535) % 10 ** 11
    jcode_data = (gid * 69621 + 2_718_281_828) % 10 ** 10
    setai_data = 500_000 + hgid
    return Numbers(atena=atena_data * 10 + m11_check_digits(atena_data, 9),
                   kojin=kojin_data * 10 + m11_check_digits(kojin_data, 11),
                   jcode=jcode_data * 10 + m11_check_digits(jcode_data, 10),
                   setai_no=setai_data * 10 + m11_check_digits(setai_data, 9))


def birth_dates(birth: np.ndarray, bkind: np.ndarray) -> BirthDates:
    """生年月日 as the vendor writes it: era code + YYMMDD, 不詳 parts as 00 with the literal beside."""
    P = len(birth)
    e = era_of(birth)
    by, bm, bd = ymd(birth)
    yy = by - ERA_YEAR0[e] + 1
    lit_mm = np.where(np.isin(bkind, (1, 3)), 0, np.where(bkind == 4, 2, bm))
    lit_dd = np.where(np.isin(bkind, (1, 2, 3)), 0, np.where(bkind == 4, 29, bd))
    lit_yy = np.where(bkind == 3, 0, yy)
    # a 2/29 literal takes the era of that year's February (never an era boundary month)
    e_lit = np.where(bkind == 4, era_of(np.array([_day(int(y), 2, 28) for y in by]) if (bkind == 4).any() else e), e)
    lit_yy = np.where(bkind == 4, by - ERA_YEAR0[e_lit] + 1, lit_yy)
    birth_m = np.empty((P, 7), dtype=np.uint8)
    birth_m[:, 0] = (49 + e_lit).astype(np.uint8)
    birth_m[:, 1:3] = digits_matrix(lit_yy, 2)
    birth_m[:, 3:5] = digits_matrix(lit_mm, 2)
    birth_m[:, 5:7] = digits_matrix(lit_dd, 2)
    fusho = [""] * P
    for i in np.flatnonzero(np.isin(bkind, (1, 2, 3))):
        era_name = ERA_NAMES[e[i]]
        y_txt = "元" if yy[i] == 1 else str(int(yy[i])).translate(FULLWIDTH_DIGITS)
        if bkind[i] == 1:
            fusho[i] = f"{era_name}{y_txt}年頃"
        elif bkind[i] == 2:
            fusho[i] = f"{era_name}{y_txt}年{str(int(bm[i])).translate(FULLWIDTH_DIGITS)}月頃"
        else:
            fusho[i] = "年月日不詳"
    return BirthDates(written=birth_m, fusho=fusho)


def era_dates(rows: JuminRows) -> dict[str, np.ndarray]:
    """The JUMIN dates written as era code + YYMMDD (住所を定めた年月日 with a letter era)."""
    return {name: era_code_matrix(getattr(rows, days), letter=(name == "jusho_date"))
            for name, days in ERA_DATE_FIELDS.items()}


# ---------------------------------------------------------------- the run

def _layout_header(name: str) -> list[str]:
    return [str(c) for c in yaml.safe_load((ASSETS / name).read_text(encoding="utf-8"))["header"]]


def _check_options(opts: SampleOptions, n_gaiji: int) -> None:
    if opts.residents < 1:
        raise ValueError("residents must be ≥ 1")
    if not 0 <= opts.defect_rate <= 0.5:
        raise ValueError("defect_rate must be between 0 and 0.5")
    if not 0 <= opts.unidentified_gaiji <= n_gaiji:
        raise ValueError(f"unidentified_gaiji must be between 0 and {n_gaiji}")


def _write_definitions(out: Path, reg, unresolved_codes) -> int:
    """Copy layouts/mapping/manifest; write the register with the K 未同定 entries. Returns their bit mask."""
    for name in ("layout_jumin.yaml", "layout_setai.yaml", "layout_shien.yaml", "layout_tsusho.yaml", "mapping.yaml",
                 "manifest.yaml"):
        shutil.copyfile(ASSETS / name, out / name)
    unresolved_mask = 0
    lines = [",".join(reg.header)]
    for code, e in reg.entries.items():
        row = dict(e.row)
        if code in unresolved_codes:
            unresolved_mask |= 1 << e.bit
            row.update(mj="", gj="", ucs="", status="未同定", decided_by="", decided_at="")
        lines.append(",".join(row[h] for h in reg.header))
    (out / "gaiji_register.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return unresolved_mask


def _open_run(opts: SampleOptions, out: Path, t_jumin, t_setai, profile) -> RunContext:
    assets = load_assets()
    reg = register()
    unresolved_mask = _write_definitions(out, reg, UNIDENTIFIED_ORDER[:opts.unidentified_gaiji])
    code_maps = {k: {str(a): str(b) for a, b in v.items()} for k, v in assets.mapping["code_maps"].items()}
    sinks = {
        # the header line is the one the layout declares (and the reader checks)
        "SHIEN": juki_extras.CsvSink(out / "SHIEN.CSV", "SHIEN", "shien", _layout_header("layout_shien.yaml")),
        "TSUSHO": juki_extras.CsvSink(out / "TSUSHO.CSV", "TSUSHO", "tsusho", _layout_header("layout_tsusho.yaml")),
    }
    ctx = RunContext(
        opts=opts, assets=assets, register=reg, profile=profile, code_maps=code_maps,
        jumin=RecordLayout(field_positions(assets.layout_jumin, "resident"), int(assets.layout_jumin["record_length"])),
        setai=RecordLayout(field_positions(assets.layout_setai, "household"),
                           int(assets.layout_setai["record_length"])),
        unresolved_mask=unresolved_mask,
        jumin_file=RecordWriter(out / "JUMIN.DAT", b"\r\n"), setai_file=RecordWriter(out / "SETAI.DAT", b""),
        truth=TruthWriters.open(out / "truth", _truth_schema(t_jumin), _truth_schema(t_setai)),
        stats=Stats(), sinks=sinks)
    return ctx


def _control_record(ctx: RunContext, fid: str, rtype: str, w: RecordWriter, rl: int, body: bytes) -> None:
    """A header or trailer record: written as is, always loaded."""
    rec = body.ljust(rl, b" ")
    assert len(rec) == rl
    w.record_no += 1
    ctx.truth.records.write_table(pa.table({
        "file_id": [fid], "record_no": [w.record_no], "offset": [w.offset], "length": [rl],
        "record_type": [rtype], "key_no": [None], "rireki_no": [None], "expected": ["loaded"],
        "defect_class": [None], "expected_rule": [None]}, schema=RECORDS_SCHEMA))
    w.write(rec + w.term)
    ctx.stats.count(fid, rtype, 1, 0)


def _fixed_files(ctx: RunContext):
    return (("JUMIN", ctx.jumin_file, ctx.jumin.record_length), ("SETAI", ctx.setai_file, ctx.setai.record_length))


def _write_headers(ctx: RunContext) -> None:
    sakusei = ctx.profile.calendar.extract.strftime("%Y%m%d").encode()
    vendor = cp932w.encode(ctx.profile.vendor)
    for fid, w, rl in _fixed_files(ctx):
        _control_record(ctx, fid, "header", w, rl, b"1" + fid.encode().ljust(8) + sakusei + vendor.ljust(20)
                        + ctx.profile.dantai_code.encode())


def _write_trailers(ctx: RunContext) -> None:
    """Data-record count (10 digits) and hash total of the key numbers as written (18 digits)."""
    for fid, w, rl in _fixed_files(ctx):
        _control_record(ctx, fid, "trailer", w, rl, b"9" + str(w.data_records).zfill(10).encode()
                        + str(w.hash_total % 10 ** 18).zfill(18).encode())
    ctx.jumin_file.write(b"\x1a")
    for w in (ctx.jumin_file, ctx.setai_file):
        w.close()


def _close_sinks(ctx: RunContext) -> None:
    """The CSV side files: their records' truth and counts (the header line is a record of its own)."""
    for fid, sink in ctx.sinks.items():
        sink.close()
        if sink.rows:
            ctx.truth.records.write_table(pa.Table.from_pylist(sink.rows, schema=RECORDS_SCHEMA))
        types: dict[str, dict[str, int]] = {}
        for r in sink.rows:
            t = types.setdefault(r["record_type"], {"read": 0, "loaded": 0, "quarantined": 0})
            t["read"] += 1
            t["loaded"] += 1
        ctx.stats.files[fid] = {"types": types, "defects": {}, "rules": {}}


def _simulate_chunks(ctx: RunContext, sim: Simulator):
    """Yield (chunk, its random.Random) per chunk of opts.chunk_residents residents."""
    opts = ctx.opts
    next_gid = next_hgid = chunk_no = 0
    while next_gid < opts.residents:
        rnd = random.Random(f"kikan-sample:{opts.seed}:{chunk_no}")
        c = ChunkData()
        limit = min(opts.residents, next_gid + opts.chunk_residents)
        counter = [next_gid]

        def next_pid() -> int | None:
            if counter[0] >= limit:
                return None
            counter[0] += 1
            return counter[0] - 1

        while counter[0] < limit:
            sim.simulate_household(c, rnd, next_pid, next_hgid)
            next_hgid += 1
        next_gid = counter[0]
        ctx.stats.households = next_hgid
        yield c, rnd
        chunk_no += 1
        if opts.progress:
            opts.progress(next_gid, opts.residents)


def _edge_chunk(ctx: RunContext, sim: Simulator) -> tuple:
    from kikan_hub.sample.roster_edges import edge_chunk, load_edges
    opts = ctx.opts
    doc = load_edges(None if opts.roster_edges is True else opts.roster_edges)
    rnd = random.Random(f"kikan-sample:{opts.seed}:roster-edges")
    c, gids = edge_chunk(sim, doc, opts.residents, ctx.stats.households, rnd)
    ctx.stats.households += len(c.h_gid)
    ctx.stats.roster_edges = len(gids)
    atena = identifiers(np.array(list(gids.values()), dtype=np.int64), np.zeros(0, dtype=np.int64)).atena
    import pyarrow.parquet as pq
    pq.write_table(pa.table({"id": list(gids), "atena_no": [f"{a:010d}" for a in atena.tolist()]}),
                   Path(opts.out) / "truth" / "roster_edges.parquet")      # which 宛名番号 is which edge case
    return c, rnd


def _emit_chunk(ctx: RunContext, c: ChunkData, rnd: random.Random) -> None:
    """One chunk's JUMIN and SETAI records (and the CSV side files' records) with their truth."""
    np_rng = np.random.default_rng(rnd.getrandbits(64))
    jf = ctx.jumin.positions
    people = People.build(c, ctx.assets, jf["shimei"][1], jf["shimei_kana"][1])
    nums = identifiers(people.gid, np.array(c.h_gid, dtype=np.int64))
    births = birth_dates(people.birth, people.bkind)
    places = Places.build(c, ctx.assets, ctx.register, {k: jf[k][1] for k in (
        "jusho", "katagaki", "machiaza", "honseki", "tennyu_mae_jusho")})
    rows = JuminRows.sorted_from(c, people.gid)
    jumin = JuminChunk(ctx, people, nums, births, places, rows, era_dates(rows))
    ex_truth = jumin.assemble()
    jumin.plant_defects(np_rng)
    jumin.write()
    jumin.write_truth(ex_truth)
    emit_setai(ctx, people, nums, places, SetaiRows.from_chunk(c), np_rng)


def _summary(ctx: RunContext, out: Path, allow_multigen: bool) -> dict:
    opts = ctx.opts
    summary = {
        "generator": GENERATOR_VERSION,
        "residents": opts.residents,
        "households": ctx.stats.households,
        "seed": opts.seed,
        "defect_rate": opts.defect_rate,
        "unidentified_gaiji": list(UNIDENTIFIED_ORDER[:opts.unidentified_gaiji]),
        "zokugara_multigeneration": allow_multigen,
        **({"roster_edges": ctx.stats.roster_edges} if opts.roster_edges else {}),
        "files": {},
    }
    files = [(fid, w.fh.name, w.offset, w.sha.hexdigest()) for fid, w, _ in _fixed_files(ctx)]
    files += [(fid, sk.path, sk.offset, hashlib.sha256(Path(sk.path).read_bytes()).hexdigest())
              for fid, sk in ctx.sinks.items()]
    for fid, path, nbytes, sha in files:
        st = ctx.stats.files[fid]
        summary["files"][fid] = {
            "path": Path(path).name, "bytes": nbytes, "sha256": sha,
            "record_types": st["types"],
            "read": sum(t["read"] for t in st["types"].values()),
            "expected_loaded": sum(t["loaded"] for t in st["types"].values()),
            "expected_quarantined": sum(t["quarantined"] for t in st["types"].values()),
            "defect_classes": dict(sorted(st["defects"].items())),
            "expected_rules": dict(sorted(st["rules"].items())),
        }
    return summary


def generate(opts: SampleOptions) -> dict:
    reg = register()
    profiles = resolve_profiles(opts.profiles)
    if opts.defect_rate is None:
        opts = dataclasses.replace(opts, defect_rate=profiles["juki"].defects.default_rate)
    _check_options(opts, len(reg.entries))
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "truth").mkdir(exist_ok=True)

    from kikan_hub.layouts.isl import get_table
    t_jumin, t_setai = get_table("juki_jumin"), get_table("juki_setai")
    allow_multigen = t_jumin.item("zokugara").length >= 4
    ctx = _open_run(opts, out, t_jumin, t_setai, profiles["juki"])
    sim = Simulator(ctx.assets, allow_multigen, ctx.profile)
    _write_headers(ctx)
    for sink in ctx.sinks.values():
        sink.open()
    for c, rnd in _simulate_chunks(ctx, sim):
        _emit_chunk(ctx, c, rnd)
    if opts.roster_edges:           # the roster edge cases after the simulated residents (roster_edges.py)
        ctx.opts = dataclasses.replace(opts, defect_rate=0.0)   # no defect on them: their truth is hand-worked
        try:
            _emit_chunk(ctx, *_edge_chunk(ctx, sim))
        finally:
            ctx.opts = opts
    _write_trailers(ctx)
    _close_sinks(ctx)
    ctx.truth.close()

    summary = _summary(ctx, out, allow_multigen)
    from kikan_hub.sample.zei import generate_zei   # the 税 extract of the same residents: DIR/zei/ (its own manifest)
    summary["zei"] = generate_zei(out, opts.seed, defects=opts.defect_rate > 0, profile=profiles["zei"])
    (out / "truth" / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                                                encoding="utf-8")
    return summary


def _truth_schema(table) -> pa.Schema:
    fields = []
    for col in table.columns:
        if col.role in ("lineage", "wareki", "unknown_day", "non_calendar"):  # derived by the mapping, not truth
            continue
        fields.append((col.name, arrow_type(col)))
    fields += [("_source_file", pa.string()), ("_source_offset", pa.int64()), ("_record_no", pa.int64())]
    return pa.schema(fields)

