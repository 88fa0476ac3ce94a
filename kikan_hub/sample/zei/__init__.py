"""The fictional old vendor's 税 extract (個人住民税・固定資産税・軽自動車税) with ground truth.

    generate_zei(out_dir, seed, defects=True) -> summary dict

Reads the residents the 住民記録 sample already wrote (``truth/jumin.parquet``), simulates their
taxes for 年度 2023–2026 by the rules of 地方税法 as encoded in the code tables (rates, windows),
and writes ``DIR/zei/``: one CP932 CSV per canonical table, its legacy layout, a mapping and a
rehearsal manifest (``kikan rehearse DIR/zei/manifest.yaml`` loads every 税 table), plus
``DIR/truth/zei/<table>.parquet`` (the rows that must load) and ``defects.json`` (the rows planted
to break exactly one tax rule each). Edge cases are always present: 令和6年度の定額減税 (no June
給与特徴, 11 instalments), the 14年 boundary of 経年重課 (初回指定 2011-03 vs 2011-04),
新基準原付 (第463条の15第1項第1号ハ), グリーン化特例, 旧税率, 共有 and 区分所有の共用土地, 償却資産.
"""
from __future__ import annotations

import random
from pathlib import Path

from kikan_hub.sample.profile import ZeiProfile, load_profile
from kikan_hub.sample.zei.extract import write_extract
from kikan_hub.sample.zei.kei import simulate_kei
from kikan_hub.sample.zei.kojin import simulate_kojin
from kikan_hub.sample.zei.kotei import simulate_kotei
from kikan_hub.sample.zei.population import Population, load_population


def generate_zei(out_dir: Path, seed: int = 0, defects: bool = True, profile: ZeiProfile | None = None) -> dict:
    """Proportions and value distributions from the profile (default profiles/zei.yaml)."""
    out_dir = Path(out_dir)
    profile = profile or load_profile("zei")
    pop = load_population(out_dir / "truth" / "jumin.parquet", seed, profile.population)
    rnd = random.Random(f"zei-{seed}")
    rows: dict[str, list[dict]] = {}
    planted: list[dict] = []
    for simulate in (simulate_kojin, simulate_kotei, simulate_kei):
        part_rows, part_defects = simulate(pop, rnd, defects, profile)
        for table, r in part_rows.items():
            rows.setdefault(table, []).extend(r)
        planted += part_defects
    return write_extract(out_dir, rows, planted)


__all__ = ["generate_zei", "Population"]
