"""The 住民記録 queries against the sample generator's ground truth, after a real rehearsal.

`kikan sample` writes truth/persons.parquet (one row per simulated history row with valid_from /
valid_to); the rehearsal loads the extract into the store; every query here must agree with it."""
import datetime as dt
import random
from collections import defaultdict

import pyarrow.parquet as pq
import pytest

from kikan_hub.modules import juki
from modhelpers import rehearse_sample


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory):
    engine, out = rehearse_sample(tmp_path_factory.mktemp("gt"), residents=400, seed=11)
    return engine, pq.read_table(out / "truth" / "persons.parquet").to_pylist()


def _d(v):
    return dt.date.fromisoformat(v) if isinstance(v, str) else v


def test_person_and_household_match_truth(rehearsed):
    engine, truth = rehearsed
    by_person = defaultdict(list)
    for r in truth:
        by_person[r["atena_no"]].append(r)
    rnd = random.Random(3)
    checked = 0
    dates = [dt.date(y, m, 1) for y in range(1990, 2025, 3) for m in (1, 7)]
    for atena_no, rows in sorted(by_person.items()):
        if any(_d(r["valid_from"]) is None for r in rows):
            continue                              # unknown 異動日: covered by the unit tests
        for d in rnd.sample(dates, 4):
            live = [r for r in rows if _d(r["valid_from"]) <= d and (r["valid_to"] is None or d < _d(r["valid_to"]))]
            p = juki.person(engine, atena_no, d)
            if not live:
                assert p.row is None or not p.resident or _d(rows[0]["valid_from"]) > d, (atena_no, d)
                continue
            t = max(live, key=lambda r: r["rireki_no"])
            assert p.row is not None, (atena_no, d)
            assert (p.row["setai_no"], p.row["machiaza"], p.resident) == (t["setai_no"], t["machiaza"], bool(t["resident"])), (atena_no, d)
            checked += 1
    assert checked > 500
    # households: every truth household on a date equals the query
    d = dt.date(2020, 1, 1)
    households = defaultdict(set)
    for r in truth:
        if r["resident"] and _d(r["valid_from"]) and _d(r["valid_from"]) <= d and (r["valid_to"] is None or d < _d(r["valid_to"])):
            households[r["setai_no"]].add(r["atena_no"])
    for setai_no, members in list(households.items())[:150]:
        assert {m["atena_no"] for m in juki.household(engine, setai_no, d)} >= members, setai_no
