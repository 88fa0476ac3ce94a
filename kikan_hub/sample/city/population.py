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


@dataclass(frozen=True)
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

    def head_of(self, p: Person) -> Person:
        members = self.households.get(p.setai_no)
        return members[0] if members else p


def _m11_ok(number: str | None) -> bool:
    return bool(number) and number.isdigit() and int(number[-1]) == m11_check_digit(number[:-1])


def load_population(truth_dir: Path, jutogai_atena: list[str]) -> Population:
    t = pq.read_table(truth_dir / "jumin.parquet", columns=list(PERSON_COLUMNS))
    # the latest history row per 宛名番号: sort by (atena_no, rireki_no) and keep each key's last row
    t = t.sort_by([("atena_no", "ascending"), ("rireki_no", "ascending")])
    genzon = set(load_code_table("jumin_jotai").extra.get("genzon", ["1"]))
    cols = {c: t.column(c).to_pylist() for c in PERSON_COLUMNS}
    n = t.num_rows
    people: list[Person] = []
    for i in range(n):
        if i + 1 < n and cols["atena_no"][i + 1] == cols["atena_no"][i]:
            continue
        if not (_m11_ok(cols["atena_no"][i]) and _m11_ok(cols["setai_no"][i])):
            continue        # a planted 住民記録 check-digit defect: its number would carry the warning into every 業務
        resident = cols["jumin_jotai"][i] in genzon
        people.append(Person(
            atena_no=cols["atena_no"][i], setai_no=cols["setai_no"][i], shimei=cols["shimei"][i],
            shimei_kana=cols["shimei_kana"][i], birth_date=cols["birth_date"][i], seibetsu=cols["seibetsu"][i],
            zokugara=cols["zokugara"][i], jusho=cols["jusho"][i], katagaki=cols["katagaki"][i],
            yubin_no=cols["yubin_no"][i], jumin_date=cols["jumin_date"][i], kojin_bango=cols["kojin_bango"][i],
            japanese=cols["jumin_shubetsu"][i] == "1", resident=resident,
            removed_date=None if resident else (cols["shojo_date"][i] or cols["idou_date"][i])))
    for a in sorted(set(jutogai_atena)):
        people.append(Person(atena_no=a, setai_no="", shimei="", shimei_kana=None, birth_date=None, seibetsu=None,
                             zokugara=None, jusho=None, katagaki=None, yubin_no=None, jumin_date=None,
                             kojin_bango=None, japanese=True, resident=False, removed_date=None, jutogai=True))
    pop = Population(people)
    for p in people:
        pop.by_atena[p.atena_no] = p
        if p.resident:
            pop.households.setdefault(p.setai_no, []).append(p)
    for members in pop.households.values():
        members.sort(key=lambda q: (q.zokugara != HEAD, q.atena_no))
    return pop


def zei_jutogai_atena(truth_dir: Path, known: set[str]) -> list[str]:
    """宛名番号 in the 税 truth that are not people of 住民記録: the 税 sample's 事業者 (住登外)."""
    out: set[str] = set()
    zdir = truth_dir / "zei"
    for path in sorted(zdir.glob("*.parquet")):
        schema = pq.read_schema(path)
        for name in schema.names:
            if name.endswith("atena_no"):
                vals = pc.unique(pq.read_table(path, columns=[name]).column(name)).to_pylist()
                out.update(v for v in vals if v and v not in known)
    return sorted(out)
