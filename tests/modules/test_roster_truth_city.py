"""All eight rosters over the whole-city sample (住民記録 + every 業務, with the roster edge cases),
rehearsed from its one manifest into SQLite and the real PostgreSQL, equal the generator's ground truth
(kikan_hub/sample/roster_truth.py over truth/jumin.parquet and truth/gyomu/*.parquet) exactly."""
from __future__ import annotations

import datetime as dt

import pyarrow.parquet as pq
import pytest

from kikan_hub.sample.roster_truth import NAMES, Register, roster_truth, write_roster_truth

from test_roster_truth import rehearsed_rosters

# below the city sample's FORCE_ONE_FROM (2,000): with --defect-rate 0 no planted row is in the store
# that the clean truth/gyomu tables leave out (a KAIGO-1GO-AGE row loads with a warning)
RESIDENTS = 1500
DATES = [dt.date(2023, 4, 1), dt.date(2023, 9, 1), dt.date(2024, 3, 31)]


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    from kikan_hub.sample.city import CityOptions, generate_city
    out = tmp_path_factory.mktemp("city") / "sample"
    generate_city(CityOptions(residents=RESIDENTS, out=out, seed=14, defect_rate=0.0, roster_edges=True))
    assert (out / "truth" / "roster_edges.parquet").is_file()
    return out, Register(out / "truth")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def rosters(request, city, tmp_path_factory):
    out, _ = city
    yield from rehearsed_rosters(request.param, out / "manifest.yaml", tmp_path_factory.mktemp(f"city-{request.param}"),
                                 list(NAMES), DATES)


@pytest.mark.parametrize("name", NAMES)
def test_city_roster_equals_the_truth(city, rosters, name):
    out, reg = city
    for on in DATES:
        t = roster_truth(out / "truth", name, on, reg)
        want = dict(zip(t["atena_no"].to_pylist(), zip(t["判定"].to_pylist(), t["区分"].to_pylist())))
        got = rosters[name, on]
        diff = {a: (got.get(a), want.get(a)) for a in set(got) | set(want) if got.get(a) != want.get(a)}
        assert not diff, (name, on, sorted(diff.items())[:10])
        assert want or name == "seijin", (name, on)


def test_city_truth_files(city):
    """write_roster_truth: every roster (the 業務 ones too, truth/gyomu/ being there) per date."""
    out, _ = city
    written = write_roster_truth(out / "truth", [dt.date(2024, 3, 31)])
    assert sorted(p.name for p in written) == sorted(f"{n}_2024-03-31.parquet" for n in NAMES)
    hinan = pq.read_table(out / "truth" / "rosters" / "hinan_2024-03-31.parquet").to_pylist()
    kinds = {k for r in hinan for k in r["根拠"].split("／")}
    assert "要介護3以上" in kinds and "75歳以上の単身世帯" in kinds and any(k.startswith("手帳") for k in kinds), kinds
