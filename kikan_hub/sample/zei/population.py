"""Who the 税 sample is about: the residents of the 住民記録 sample, plus 事業者 (住登外) 宛名."""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from kikan_hub.validation.check_digits import m11_check_digit, m11_fails


@dataclass(frozen=True)
class Person:
    atena_no: str
    setai_no: str
    birth: dt.date
    zokugara: str


@dataclass
class Population:
    persons: list[Person]
    households: dict[str, list[Person]] = field(default_factory=dict)
    companies: list[str] = field(default_factory=list)     # 宛名番号 of 事業者 (住登外, not in juki_jumin)


def company_atena(i: int) -> str:
    data = 900_000_000 + i
    return f"{data:09d}{m11_check_digit(data, 9)}"


def load_population(jumin_parquet: Path, seed: int) -> Population:
    """The current residents (last 履歴 is 住民, no 消除) with a known birth date, in 宛名番号 order."""
    j = pl.read_parquet(jumin_parquet, columns=["atena_no", "rireki_no", "setai_no", "birth_date", "zokugara",
                                                "jumin_jotai", "shojo_jiyu"])
    last = (j.sort("atena_no", "rireki_no").group_by("atena_no", maintain_order=True).last()
            .filter((pl.col("jumin_jotai") == "1") & pl.col("shojo_jiyu").is_null() & pl.col("birth_date").is_not_null()
                    & pl.col("setai_no").is_not_null()
                    # rows loaded under a planted wrong check digit (a warning since issue 19, j130) are not persons
                    & ~m11_fails("atena_no", 10) & ~m11_fails("setai_no", 10)))
    persons = [Person(r["atena_no"], r["setai_no"], r["birth_date"], r["zokugara"] or "")
               for r in last.iter_rows(named=True)]
    pop = Population(persons)
    for p in persons:
        pop.households.setdefault(p.setai_no, []).append(p)
    rnd = random.Random(f"zei-companies-{seed}")
    pop.companies = [company_atena(i) for i in range(max(3, len(persons) // 60 + rnd.randint(0, 2)))]
    return pop


def age_on(birth: dt.date, day: dt.date) -> int:
    """Age on `day` (年齢計算ニ関スル法律: a year is added at the end of the day before the birthday)."""
    after = day + dt.timedelta(days=1)
    return after.year - birth.year - ((after.month, after.day) < (birth.month, birth.day))
