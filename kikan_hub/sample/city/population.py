"""The city's people as the 住民記録 sample left them: the latest loaded history row of every 宛名番号
(truth/jumin.parquet, i.e. exactly what the store will hold), plus the 住登外者 the 税 sample invented
(特別徴収義務者・償却資産の所有者, 宛名番号 900000000+i) so that every 宛名番号 of every 業務 exists in
住民記録 ∪ 住登外 (XREF-ATENA-GYOMU)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from kikan_hub.layouts.isl import load_code_table
from kikan_hub.validation.check_digits import m11_check_digit

PERSON_COLUMNS = ("atena_no", "rireki_no", "setai_no", "jumin_shubetsu", "jumin_jotai", "shimei", "shimei_kana",
                  "birth_date", "seibetsu", "zokugara", "jusho", "katagaki", "yubin_no", "jumin_date", "kojin_bango",
                  "idou_date", "shojo_date")
HEAD = "01"                                   # 続柄コード 世帯主 (codes/zokugara.yaml)


@dataclass(frozen=True, slots=True)
class Person:
    atena_no: str
    setai_no: str
    shimei: str
    shimei_kana: str | None
    birth_date: dt.date | None
    seibetsu: str | None
    zokugara: str | None
    jusho: str | None
    katagaki: str | None
    yubin_no: str | None
    jumin_date: dt.date | None
    kojin_bango: str | None
    japanese: bool
    resident: bool
    removed_date: dt.date | None              # 消除日 (転出・死亡) of a former resident
    jutogai: bool = False                     # 住登外者 (not in 住民記録)

    def age_on(self, day: dt.date) -> int | None:
        """Full years on `day` (年齢計算ニ関スル法律: the year is added on the day before the birthday)."""
        b = self.birth_date
        if b is None:
            return None
        nxt = day + dt.timedelta(days=1)
        return nxt.year - b.year - ((nxt.month, nxt.day) < (b.month, b.day))

    def birthday(self, years: int) -> dt.date | None:
        """The `years`-th birthday (29 February → 1 March in common years)."""
        b = self.birth_date
        if b is None:
            return None
        try:
            return b.replace(year=b.year + years)
        except ValueError:
            return dt.date(b.year + years, 3, 1)


@dataclass
class Population:
    people: list[Person]
    households: dict[str, list[Person]] = field(default_factory=dict)    # setai_no → residents, head first
    by_atena: dict[str, Person] = field(default_factory=dict)
    _by_status: dict[str, list[Person]] = field(default_factory=dict)

    def by_status(self, status: str) -> list[Person]:
        if status not in self._by_status:
            self._by_status[status] = [p for p in self.people if not p.jutogai and (
                status == "any" or (status == "resident") == p.resident)]
        return self._by_status[status]

    def head_of(self, p: Person) -> Person:
        members = self.households.get(p.setai_no)
        return members[0] if members else p


def _m11_ok(number: str | None) -> bool:
    return bool(number) and number.isdigit() and int(number[-1]) == m11_check_digit(number[:-1])


def _latest_rows(path: Path) -> list[dict]:
    """The latest history row (highest 履歴番号) of each 宛名番号, in 宛名番号 order; read in batches so that
    only one row per person becomes Python objects (bounded memory at any city size)."""
    latest: dict[str, tuple] = {}
    pf = pq.ParquetFile(path)
    for batch in pf.iter_batches(batch_size=32_768, columns=list(PERSON_COLUMNS)):
        for row in zip(*(batch.column(c).to_pylist() for c in PERSON_COLUMNS)):
            old = latest.get(row[0])
            if old is None or row[1] > old[1]:          # (atena_no, rireki_no, …)
                latest[row[0]] = row
    return [dict(zip(PERSON_COLUMNS, latest[k])) for k in sorted(latest)]


def load_population(truth_dir: Path) -> Population:
    """The people of 住民記録; add the 住登外者 with Population.add_jutogai."""
    genzon = set(load_code_table("jumin_jotai").extra.get("genzon", ["1"]))
    people: list[Person] = []
    rows = _latest_rows(truth_dir / "jumin.parquet")
    for r in rows:
        if not (_m11_ok(r["atena_no"]) and _m11_ok(r["setai_no"])):
            continue        # a planted 住民記録 check-digit defect: its number would carry the warning into every 業務
        resident = r["jumin_jotai"] in genzon
        people.append(Person(
            atena_no=r["atena_no"], setai_no=r["setai_no"], shimei=r["shimei"], shimei_kana=r["shimei_kana"],
            birth_date=r["birth_date"], seibetsu=r["seibetsu"], zokugara=r["zokugara"], jusho=r["jusho"],
            katagaki=r["katagaki"], yubin_no=r["yubin_no"], jumin_date=r["jumin_date"], kojin_bango=r["kojin_bango"],
            japanese=r["jumin_shubetsu"] == "1", resident=resident,
            removed_date=None if resident else (r["shojo_date"] or r["idou_date"])))
    pop = Population(people)
    for p in people:
        pop.by_atena[p.atena_no] = p
        if p.resident:
            pop.households.setdefault(p.setai_no, []).append(p)
    for members in pop.households.values():
        members.sort(key=lambda q: (q.zokugara != HEAD, q.atena_no))
    return pop


def add_jutogai(pop: Population, atena_numbers: list[str]) -> None:
    """住登外者 known only by their 宛名番号 (the 税 sample's 事業者): their rows get names from the profile."""
    for a in atena_numbers:
        p = Person(atena_no=a, setai_no="", shimei="", shimei_kana=None, birth_date=None, seibetsu=None,
                   zokugara=None, jusho=None, katagaki=None, yubin_no=None, jumin_date=None, kojin_bango=None,
                   japanese=True, resident=False, removed_date=None, jutogai=True)
        pop.people.append(p)
        pop.by_atena[a] = p


def zei_jutogai_atena(truth_dir: Path, known: set[str] | dict) -> list[str]:
    """宛名番号 in the 税 truth that are not people of 住民記録: the 税 sample's 事業者 (住登外), and residents
    whose every 住民記録 row was planted with a defect (quarantined: the store has no 住民 row for them)."""
    out: set[str] = set()
    for path in sorted((truth_dir / "zei").glob("*.parquet")):
        pf = pq.ParquetFile(path)
        names = [n for n in pf.schema_arrow.names if n.endswith("atena_no")]
        if not names:
            continue
        for batch in pf.iter_batches(batch_size=65_536, columns=names):
            for name in names:
                vals = pc.unique(batch.column(name)).to_pylist()
                out.update(v for v in vals if v and v not in known)
    return sorted(out)
