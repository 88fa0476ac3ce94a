"""Every 住民記録 roster of `kikan sample --roster-edges`, rehearsed into SQLite and the real PostgreSQL,
equals the generator's ground truth (kikan_hub/sample/roster_truth.py: written from the statutes, no
code shared with modules/rosters) exactly — person by person, 判定 and 学年 / 年齢 — on the edge-case
file's 基準日 and others; and each planted edge case (profiles/roster_edges.yaml) comes out as the
file's hand-worked ``expect`` says, in the truth and in the module."""
from __future__ import annotations

import datetime as dt

import pyarrow.parquet as pq
import pytest

from kikan_hub.modules.rosters import compute_all
from kikan_hub.sample.roster_edges import edge_dates, load_edges
from kikan_hub.sample.roster_truth import Register, roster_truth, write_roster_truth

JUKI = ("senkyo", "gakureibo", "keiro", "seijin")
EXTRA = {"gakureibo": "学年", "keiro": "年齢", "seijin": "年齢"}
EDGES = load_edges()
EXPECT = {(key.split()[0], dt.date.fromisoformat(key.split()[1]), p["id"]): str(v)
          for p in EDGES["people"] for key, v in (p.get("expect") or {}).items()}
DATES = sorted({*edge_dates(EDGES), dt.date(2016, 4, 1), dt.date(2020, 9, 1), dt.date(2023, 4, 2), dt.date(2024, 3, 31), *(d for _, d, _ in EXPECT)})


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    import kikan_hub.sample.generator as gen
    out = tmp_path_factory.mktemp("edges") / "sample"
    gen.generate(gen.SampleOptions(residents=1500, out=out, seed=14, defect_rate=0.0, roster_edges=True))
    reg = Register(out / "truth")
    ids = dict(zip(*pq.read_table(out / "truth" / "roster_edges.parquet").to_pydict().values()))
    return out, reg, ids


def rehearsed_rosters(backend: str, manifest, base, names: list[str], dates):
    """Rehearse MANIFEST into a fresh store (SQLite or the real PostgreSQL) and yield the module's rosters:
    {(name, date): {atena: (判定, 区分)}} for every date. Shared with test_roster_truth_city.py."""
    import kikan_hub.pipeline.manifest as manifest_mod
    import kikan_hub.pipeline.rehearsal as rehearsal
    from kikan_hub.store.engine import open_engine
    from kikan_testenv import pg_database
    drop = None
    if backend == "sqlite":
        url = f"sqlite:///{base / 'kikan.db'}"
    else:
        url, drop = pg_database("kikan_rosters")
    try:
        result = rehearsal.rehearse(manifest_mod.load_manifest(manifest), url, base / "run")
        assert result.exit_code == 0, result.summary
        engine = open_engine(url)
        got = {}
        for on in dates:
            for name, res in compute_all(engine, list(names), on).items():
                t = res.listed()
                extra = t[EXTRA[name]].to_pylist() if name in EXTRA else [""] * t.num_rows
                got[name, on] = dict(zip(t["atena_no"].to_pylist(), zip(t["判定"].to_pylist(), extra)))
        engine.dispose()
        yield got
    finally:
        if drop is not None:
            drop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def rosters(request, sample, tmp_path_factory):
    """{(name, date): {atena: (判定, 区分)}} of the module on the rehearsed store, every date of DATES."""
    out, _, _ = sample
    yield from rehearsed_rosters(request.param, out / "manifest.yaml", tmp_path_factory.mktemp(request.param),
                                 list(JUKI), DATES)


def truth_of(sample, name, on) -> dict:
    out, reg, _ = sample
    t = roster_truth(out / "truth", name, on, reg)
    return dict(zip(t["atena_no"].to_pylist(), zip(t["判定"].to_pylist(), t["区分"].to_pylist())))


@pytest.mark.parametrize("name", JUKI)
def test_every_roster_equals_the_truth(sample, rosters, name):
    for on in DATES:
        want, got = truth_of(sample, name, on), rosters[name, on]
        diff = {a: (got.get(a), want.get(a)) for a in set(got) | set(want) if got.get(a) != want.get(a)}
        assert not diff, (name, on, sorted(diff.items())[:10])
        assert want or name == "seijin", (name, on)      # something listed (a small city may lack a 20-year cohort)


def _verdict(listed: dict, atena: str) -> str:
    judge, extra = listed.get(atena, ("対象外", ""))
    return extra or judge


@pytest.mark.parametrize("key", sorted(EXPECT), ids=lambda k: f"{k[0]}-{k[1]}-{k[2]}")
def test_edge_case(sample, rosters, key):
    name, on, pid = key
    atena = sample[2][pid]
    assert _verdict(truth_of(sample, name, on), atena) == EXPECT[key], "truth"
    assert _verdict(rosters[name, on], atena) == EXPECT[key], "module"


def test_edge_cases_cover_what_the_issue_names(sample):
    """Birthdays on 4月1日 / 4月2日 / the 基準日, 転入 exactly 3 months before, 死亡 and 転出 on the date, 日不詳."""
    people = {p["id"]: p for p in EDGES["people"]}
    births = {(p["birth"].month, p["birth"].day) for p in people.values()}
    assert {(4, 1), (4, 2)} <= births
    on_date = [(p, k) for p in people.values() for k in (p.get("expect") or {})
               if (p["birth"].month, p["birth"].day) == (dt.date.fromisoformat(k.split()[1]).month,
                                                         dt.date.fromisoformat(k.split()[1]).day)]
    assert on_date
    leave_on = {p["leave"]["kind"] for p in people.values() if p.get("leave")
                and any(k.endswith(p["leave"]["date"].isoformat()) for k in p.get("expect") or {})}
    assert {"死亡", "転出"} <= leave_on
    assert any(p.get("birth_unknown") == "day" for p in people.values())
    three = [p for p in people.values() if p["arrive"].get("todoke") and any(
        k.startswith("senkyo") and dt.date.fromisoformat(k.split()[1]) == p["arrive"]["todoke"].replace(
            month=p["arrive"]["todoke"].month + 3) for k in p.get("expect") or {})]
    assert three
    # the truth's own 不詳 births are met: the sample's 年頃 / 月頃 births are judged (not skipped)
    out, reg, _ = sample
    unknown = {a for a, rows in reg.rows.items() if rows[0]["birth_date"] is None}
    listed = set(truth_of(sample, "senkyo", dt.date(2023, 9, 1)))
    assert unknown & listed


def test_write_roster_truth(sample, tmp_path):
    out, _, _ = sample
    written = write_roster_truth(out / "truth", [dt.date(2023, 9, 1)], names=JUKI)
    assert sorted(p.name for p in written) == sorted(f"{n}_2023-09-01.parquet" for n in JUKI)
    t = pq.read_table(out / "truth" / "rosters" / "senkyo_2023-09-01.parquet")
    assert t.column_names == ["atena_no", "判定", "区分", "根拠"] and t.num_rows == len(truth_of(sample, "senkyo", dt.date(2023, 9, 1)))
    with pytest.raises(FileNotFoundError, match="kokuho_hihokensha"):
        roster_truth(out / "truth", "kokuho", dt.date(2023, 9, 1))


def test_edge_file_errors_name_the_person(tmp_path):
    from kikan_hub.sample.roster_edges import EdgeCaseError
    bad = tmp_path / "edges.yaml"
    for body, msg in (("people:\n  - {id: a, birth: 2000-01-01, arrive: {kind: 改製, jumin: 1990-01-01}, bday: 1}\n",
                       r"edges.yaml: people\[0\] \(a\): unknown key \['bday'\]"),
                      ("people:\n  - {id: a, birth: 2000-01-01, arrive: {kind: 引越, date: 2001-01-01}}\n", "arrive.kind"),
                      ("people:\n  - {id: b, birth: 2000-01-01, arrive: {kind: 出生}, with: a}\n", "not an earlier person")):
        bad.write_text(body, encoding="utf-8")
        with pytest.raises(EdgeCaseError, match=msg):
            load_edges(bad)
