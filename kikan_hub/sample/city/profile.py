"""The city sample's data: vendor conventions (profiles/city/vendors.yaml) and one profile per 業務
(profiles/city/<gyomu_id>.yaml), read into strict pydantic models (an unknown key is an error naming
the file and the path, as the 住民記録 profile's loader does)."""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kikan_hub.sample.profile import ProfileError

CITY_PROFILES = Path(__file__).resolve().parent.parent / "profiles" / "city"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Vendor(_Strict):
    """One old system's way of writing its extracts."""
    name: str                                   # 表1 の名 (ベンダー・システム名)
    dir: str                                    # ascii directory name under DIR/vendors/
    format: Literal["fixed", "delimited"]
    encoding: Literal["cp932", "utf-8"] = "cp932"
    bom: bool = False                           # UTF-8 with a byte order mark before the header line
    terminator: Literal["crlf", "lf", "none"] = "crlf"
    control: bool = False                       # fixed: header 1 / data 2 / trailer 9 (件数)
    header_line: bool = False                   # delimited: the first line names the columns
    quote_all: bool = False                     # delimited: every field in quotes
    date: Literal["era_code", "western", "slash"] = "western"   # 4250315 / 20130315 / 2013/03/15
    decimal: Literal["zoned", "packed"] = "zoned"      # fixed files: how amounts are written
    integer: Literal["digits", "packed"] = "digits"    # fixed files: counters (履歴番号・年度) as digits or COMP-3
    flag: tuple[str, str] = ("1", "0")          # how true / false are written
    gaiji_base: str | None = None               # first CP932 user-defined code of the vendor's gaiji (F040 …)
    code_maps: dict[str, dict[str, str]] = Field(default_factory=dict)  # code table → {vendor value: standard}
    m11: bool = True                            # declares check_digit: m11 on 宛名番号・世帯番号 fields


class Vendors(_Strict):
    vendors: dict[str, Vendor]


class Subjects(_Strict):
    """Who gets rows: people, households, or the rows / household members of an earlier table."""
    unit: Literal["person", "household", "rows_of", "members_of"] = "person"
    of: str | None = None                       # rows_of / members_of: an earlier table of the same 業務
    status: Literal["resident", "any", "removed", "jutogai"] = "resident"
    age: tuple[int | None, int | None] | None = None   # [min, max] full years on `on` (inclusive)
    at: dt.date | None = None                   # the day ages are counted on (default: the as-of date)
    sex: str | None = None                      # seibetsu code
    japanese: bool | None = None
    head: bool | None = None                    # person: only 世帯主 (or not)
    share: float = 1.0                          # probability per candidate
    limit: int | None = None                    # at most this many subjects (a fixed list such as 選挙)
    member_age: tuple[int | None, int | None] | None = None  # household: has a member of this age
    member_at: dt.date | None = None

    @model_validator(mode="after")
    def _of(self):
        if self.unit in ("rows_of", "members_of") and not self.of:
            raise ValueError(f"unit {self.unit} needs of: <table>")
        return self


class Defect(_Strict):
    """One planted defect class. kind: what is done to the row (the rule it must break is `rule`)."""
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    class_: str = Field(alias="class")
    rule: str                                   # expected_rule, as in the catalogues (.<table> added for per-table rules)
    kind: Literal["unknown_code", "impossible_date", "check_digit", "ghost_atena", "set", "duplicate"]
    item: str | None = None
    set: dict[str, Any] = Field(default_factory=dict)   # kind set / duplicate: item → expression
    expected: Literal["loaded", "quarantined"] = "quarantined"
    per_table: bool = False                     # rule id gets .<table> (ISL-M11, XREF-ATENA-GYOMU, SHIKAKU-OVERLAP)


class TableProfile(_Strict):
    subjects: Subjects = Field(default_factory=Subjects)
    rows: list[int] = Field(default_factory=lambda: [1])   # rows per subject, drawn with equal weight
    values: dict[str, Any] = Field(default_factory=dict)   # item → expression (city/expr.py)
    optional_share: float = 0.5                 # optional items not in values: filled with this probability
    empty: list[str] = Field(default_factory=list)         # optional items always left empty
    defects: list[Defect] = Field(default_factory=list)


class GyomuProfile(_Strict):
    gyomu: str                                  # gyomu_id (codes/gyomu.yaml)
    vendor: str                                 # a key of vendors.yaml
    file_prefix: str | None = None              # vendor file names: <PREFIX>_<TABLE>.DAT/CSV
    default_rate: float = 0.01
    tables: dict[str, TableProfile]


def _load(model: type[BaseModel], path: Path):
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"{path.name}: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ProfileError(f"{path.name}: {where}: {first['msg']}") from None


@lru_cache(maxsize=4)
def load_vendors(directory: Path = CITY_PROFILES) -> Vendors:
    return _load(Vendors, directory / "vendors.yaml")


def load_gyomu_profiles(directory: Path = CITY_PROFILES) -> dict[str, GyomuProfile]:
    """Every <gyomu_id>.yaml of the folder, in file-name order; the vendor must exist."""
    vendors = load_vendors(directory).vendors
    out: dict[str, GyomuProfile] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name == "vendors.yaml":
            continue
        p = _load(GyomuProfile, path)
        if p.gyomu != path.stem:
            raise ProfileError(f"{path.name}: gyomu: {p.gyomu!r} differs from the file name")
        if p.vendor not in vendors:
            raise ProfileError(f"{path.name}: vendor: {p.vendor!r} is not in vendors.yaml ({', '.join(vendors)})")
        out[p.gyomu] = p
    return out
