"""Sample generator profiles: what a 業務's sample looks like, as data (``profiles/<gyomu>.yaml``).

A profile holds the proportions (household kinds, shares of events), the value distributions
(ages, 国籍, 在留資格 …), the vendor's code values and which fields of which file get planted
defects, and how. The engine reads it; changing a share is a data change. The models are strict:
an unknown key is an error naming the file, the path inside it and the allowed keys.
"""
from __future__ import annotations

import datetime as dt
import random
import types
import typing
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

PROFILES = Path(__file__).with_name("profiles")


class ProfileError(ValueError):
    """A profile file that does not match its model (message names the file and the path)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Range = tuple[float, float]
IntRange = tuple[int, int]


# ---------------------------------------------------------------- calendar and vendor codes

class Calendar(_Strict):
    kaisei: dt.date
    mynumber: dt.date
    end: dt.date
    extract: dt.date


class VendorCodes(_Strict):
    idou: dict[str, str]
    todokede: list[str]
    zokugara: dict[str, str]

    @model_validator(mode="after")
    def _todokede_known(self) -> "VendorCodes":
        unknown = [k for k in self.todokede if k not in self.idou]
        if unknown:
            raise ValueError(f"todokede names events that idou does not define: {unknown}")
        return self


# ---------------------------------------------------------------- households and events

class HeadSpec(_Strict):
    male_share: float | None = None
    female_share: float | None = None
    age: Range
    legacy_age_max: float | None = None


class AgeShare(_Strict):
    share: float
    age: Range


class SpouseSpec(_Strict):
    mikodoke_share: float
    age_offset: Range
    min_age: float


class PlannedBirths(_Strict):
    head_age_below: float
    counts: list[int]


class ChildrenSpec(_Strict):
    family: list[int]
    single_parent: IntRange
    max_age: float
    parent_gap: float
    planned_births: PlannedBirths


class Multigeneration(_Strict):
    head_age_over: float
    share: float
    child_age_gap: Range
    partner_age_offset: Range
    grandchildren: IntRange
    grandchild_gap: float


class ParentSpec(_Strict):
    father_share: float
    age_gap: Range


class ThreeGenSpec(_Strict):
    multigeneration: Multigeneration
    children: IntRange
    child_gap: float
    child_max_age: float
    parent: ParentSpec


HOUSEHOLD_KINDS = ("single", "couple", "family", "single_parent", "three_gen", "foreign")


class Households(_Strict):
    kinds: dict[Literal["single", "couple", "family", "single_parent", "three_gen", "foreign"], int]
    legacy_share: float
    last_arrival_days: int
    head: dict[Literal["single", "couple", "family", "single_parent", "three_gen", "foreign"], HeadSpec]
    dokyonin: AgeShare
    spouse: SpouseSpec
    children: ChildrenSpec
    three_gen: ThreeGenSpec
    honseki_in_city_share: float

    @model_validator(mode="after")
    def _every_kind(self) -> "Households":
        for name in ("kinds", "head"):
            missing = [k for k in HOUSEHOLD_KINDS if k not in getattr(self, name)]
            if missing:
                raise ValueError(f"{name}: every household kind needs a value, missing {missing}")
        return self


class Chome(_Strict):
    ban: IntRange
    go: IntRange


class Banchi(_Strict):
    ban: IntRange
    edaban_share: float
    edaban: IntRange


class Katagaki(_Strict):
    share: float
    room_share: float
    floor: IntRange
    room: IntRange
    number: IntRange


class Addresses(_Strict):
    chome: Chome
    banchi: Banchi
    katagaki: Katagaki


class Fusho(_Strict):
    born_before: int
    share: float
    kinds: list[Literal["year", "year_month", "unknown"]]


class Persons(_Strict):
    fusho: Fusho
    feb29_common_year_share: float
    adult_age: int
    mother_max_age: float


class Death(_Strict):
    alone_over_age: float
    share: float


class HeadDeath(_Strict):
    over_age: float
    share: float
    no_new_head_share: float


class Events(_Strict):
    first_after_days: int
    move_share: float
    minor_share: float
    head_leaves_share: float
    leave_share: float
    leave_abroad_share: dict[Literal["foreign", "other"], float]
    arrival_abroad_share: float
    death: Death
    head_death: HeadDeath
    todokede_delay_days: IntRange
    legacy_settled_days: IntRange


class Tsusho(_Strict):
    tokuei_share: float
    other_share: float
    surnames: dict[str, str]


class ForeignResidents(_Strict):
    kubun: dict[str, float]
    kokuseki_chuchoki: dict[str, float]
    kokuseki_tokuei: dict[str, float]
    zairyu_shikaku: dict[str, float]
    zairyu_kikan: dict[str, list[str]]
    zairyu_kikan_other: list[str]
    joriku_kikan: str
    kari_taizai_kikan: str
    alphabet: dict[str, str]
    tsusho: Tsusho


# ---------------------------------------------------------------- planted defects

class BlankBytes(_Strict):
    field: str
    at: int = 0
    length: int = 1


class PutBytes(_Strict):
    field: str
    at: int = 0
    ascii: str | None = None
    hex: str | None = None

    @model_validator(mode="after")
    def _one_value(self) -> "PutBytes":
        if (self.ascii is None) == (self.hex is None):
            raise ValueError("put needs exactly one of ascii, hex")
        return self

    @property
    def value(self) -> bytes:
        return self.ascii.encode("ascii") if self.ascii is not None else bytes.fromhex(self.hex)


class Digit(_Strict):
    field: str
    at: int


class DefectWay(_Strict):
    """One way of planting a class: conditions, then exactly one action."""
    variants: list[int] | None = None
    if_: str | None = Field(None, alias="if")
    unless: str | None = None
    blank: list[BlankBytes] = []
    put: PutBytes | None = None
    bump_digit: Digit | None = None
    length: int | None = None

    @model_validator(mode="after")
    def _one_action(self) -> "DefectWay":
        actions = [a for a in ("put", "bump_digit", "length") if getattr(self, a) is not None]
        if len(actions) != 1:
            raise ValueError(f"a way needs exactly one action of put, bump_digit, length (has {actions or 'none'})")
        return self


class DefectClass(_Strict):
    class_: str = Field(alias="class")
    rule: str
    expected: Literal["loaded", "quarantined"] = "quarantined"
    ways: list[DefectWay]


class FileDefects(_Strict):
    variants: int
    classes: list[DefectClass]


class Defects(_Strict):
    default_rate: float
    gaiji_unresolved: str
    files: dict[str, FileDefects]

    def rules(self, fid: str) -> dict[str, str]:
        """defect class → the rule that stops (or warns about) a record of the file (rule ids may be per file)."""
        out = {c.class_: c.rule for c in self.files[fid].classes}
        out["gaiji_unresolved"] = self.gaiji_unresolved
        return out

    def loading(self, fid: str) -> set[str]:
        """The file's classes whose records load (with a warning)."""
        return {c.class_ for c in self.files[fid].classes if c.expected == "loaded"}


# ---------------------------------------------------------------- the profile

# The record families the 住民記録 engine writes, and the record conditions each offers to ``if``/``unless``.
JUKI_DEFECT_CONDITIONS = {"JUMIN": {"birth_exact"}, "SETAI": set()}

class JukiProfile(_Strict):
    gyomu: Literal["juki"]
    description: str
    city: str
    dantai_code: str
    vendor: str
    calendar: Calendar
    vendor_codes: VendorCodes
    households: Households
    addresses: Addresses
    persons: Persons
    events: Events
    foreign_residents: ForeignResidents
    kyu_uji_share: float
    shien_household_share: float
    defects: Defects

    @model_validator(mode="after")
    def _defect_files_known(self) -> "JukiProfile":
        files = self.defects.files
        if set(files) != set(JUKI_DEFECT_CONDITIONS):
            raise ValueError(f"defects.files: expected the files {sorted(JUKI_DEFECT_CONDITIONS)}, got {sorted(files)}")
        for fid, spec in files.items():
            known = JUKI_DEFECT_CONDITIONS[fid]
            for c in spec.classes:
                for w in c.ways:
                    unknown = {x for x in (w.if_, w.unless) if x is not None} - known
                    if unknown:
                        raise ValueError(f"defects.files.{fid}: class {c.class_}: unknown condition "
                                         f"{sorted(unknown)} (known: {sorted(known) or 'none'})")
        return self


# ---------------------------------------------------------------- 税

class Amount(_Strict):
    """An amount drawn by ``random.randrange(low, high, step)``."""
    range: IntRange
    step: int = 1

    def draw(self, rnd: random.Random) -> int:
        return rnd.randrange(self.range[0], self.range[1], self.step)


class ShareAmount(Amount):
    share: float


class UptoAmount(Amount):
    upto: float               # the income class's upper bound of the person's one uniform draw


class ZeiPopulation(_Strict):
    residents_per_company: int
    extra_companies: IntRange
    min_companies: int


class Kojin(_Strict):
    adult_age: int
    pension_age: int
    pension: Amount
    pensioner_salary: ShareAmount
    salary: UptoAmount
    business: UptoAmount
    second_employer_share: float
    kosei_share: float


class Shokyaku(_Strict):
    assets: IntRange
    acquired: IntRange
    cost: Amount
    life_years: list[int]
    shurui: list[str]


class Kotei(_Strict):
    owner_share: float
    kyoyu_share: float
    chiseki: Amount
    price_per_m2: Amount
    built_years: list[int]
    kaoku_hyoka: Amount
    shokyaku: Shokyaku


class Scrapped(_Strict):
    share: float
    after_days: IntRange


class Kei(_Strict):
    owner_share: float
    shashu: list[str]
    acquired: IntRange
    fuel: list[str]
    scrapped: Scrapped


class ZeiProfile(_Strict):
    gyomu: Literal["zei"]
    description: str
    population: ZeiPopulation
    kojin: Kojin
    kotei: Kotei
    kei: Kei


PROFILE_MODELS: dict[str, type[BaseModel]] = {"juki": JukiProfile, "zei": ZeiProfile}


def _where(loc: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or "(top)"


def load_profile_file(path: Path):
    """Load and check one profile file (its ``gyomu`` picks the model); errors name the file and the path."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ProfileError(f"{path.name}: {exc}") from exc
    gyomu = data.get("gyomu") if isinstance(data, dict) else None
    if gyomu not in PROFILE_MODELS:
        raise ProfileError(f"{path.name}: gyomu: expected one of {', '.join(PROFILE_MODELS)}, got {gyomu!r}")
    model = PROFILE_MODELS[gyomu]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                parent = err["loc"][:-1]
                found = _model_at(model, parent)
                allowed = sorted(f.alias or n for n, f in found.model_fields.items()) if found else []
                msg = f"unknown key (allowed: {', '.join(allowed)})"
            lines.append(f"{path.name}: {_where(err['loc'])}: {msg}")
        raise ProfileError("\n".join(lines)) from None


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The model class found at a path inside the profile (dict keys and list indexes pass through)."""
    current: object = model
    skip = 0                                  # keys/indexes still to pass for the containers just entered
    for part in loc:
        if skip:
            skip -= 1
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        f = next((v for n, v in current.model_fields.items() if part in (n, v.alias)), None)
        if f is None:
            return None
        current = f.annotation
        while True:
            origin = typing.get_origin(current)
            args = [a for a in typing.get_args(current) if a is not type(None)]
            if origin in (list, dict):
                skip += 1
                current = args[-1]
            elif origin in (typing.Union, types.UnionType):
                current = args[0]
            else:
                break
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def resolve_profiles(files: tuple[Path, ...] | list[Path] = ()) -> dict[str, BaseModel]:
    """The shipped profiles by 業務, each replaced by the given file that declares the same ``gyomu``."""
    profiles: dict[str, BaseModel] = {g: load_profile(g) for g in PROFILE_MODELS}
    given: dict[str, Path] = {}
    for f in files:
        path = Path(f)
        prof = load_profile_file(path)
        if prof.gyomu in given:
            raise ProfileError(f"{path}: gyomu {prof.gyomu} is also given by {given[prof.gyomu]}")
        given[prof.gyomu] = path
        profiles[prof.gyomu] = prof
    return profiles


@lru_cache(maxsize=None)
def load_profile(gyomu: str = "juki"):
    """The shipped profile of a 業務 (kikan_hub/sample/profiles/<gyomu>.yaml)."""
    path = PROFILES / f"{gyomu}.yaml"
    if not path.is_file():
        shipped = sorted(p.stem for p in PROFILES.glob("*.yaml"))
        raise ProfileError(f"no sample profile for {gyomu!r} (shipped: {', '.join(shipped)})")
    prof = load_profile_file(path)
    if prof.gyomu != gyomu:
        raise ProfileError(f"{path.name}: gyomu: expected {gyomu!r}, got {prof.gyomu!r}")
    return prof
