"""The sample's 住民記録 items beyond the core register: 外国人住民 (j20), 旧氏 (j10), 支援措置 (j160,
j440) and 通称履歴, with their ground truth.

Proportions are those of a real city (from public statistics, rounded; the profile
kikan_hub/sample/profiles/juki.yaml, ``foreign_residents``, ``kyu_uji_share``, ``shien_household_share``):
of 外国人住民 about 9 % 特別永住者 (most with a 通称), the rest 中長期在留者 with a 在留カード; a few
一時庇護・仮滞在 (over-represented at 1 % so that every item appears in a sample of 10,000); 旧氏 on
about 4 % of married women; 支援措置 on about 0.1 % of residents (a parent and children who fled).
Everything is drawn from the chunk's numpy generator, so the sample stays deterministic.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from kikan_hub.sample import cp932w
from kikan_hub.sample.assets_loader import Assets, TextTable
from kikan_hub.sample.fields import NONE, date_array, day_number, western_matrix
from kikan_hub.sample.people import JuminRows, Numbers, People
from kikan_hub.sample.profile import ForeignResidents, JukiProfile

EPOCH = dt.date(1970, 1, 1)
KAISEI_2012 = (dt.date(2012, 7, 9) - EPOCH).days     # 外国人住民 enter the 住民基本台帳 (改正法施行日)
CARD_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def _choice(rng: np.random.Generator, table: dict[str, float], n: int) -> np.ndarray:
    codes = np.array(list(table), dtype=object)
    w = np.array(list(table.values()), dtype=float)
    return codes[rng.choice(len(codes), size=n, p=w / w.sum())] if n else np.array([], dtype=object)


@dataclass
class PersonExtras:
    """Per person (chunk index): text as written (CP932 bytes) and as the store holds it."""
    alphabet: list[str | None]
    kokuseki: np.ndarray          # object: code or None
    kubun: np.ndarray
    shikaku: np.ndarray
    kikan: list[str | None]
    manryo: np.ndarray            # day or NONE
    card: list[str | None]
    joriku: list[str | None]
    kari: list[str | None]
    gaikoku_day: np.ndarray
    kyugaitoho_day: np.ndarray
    tsusho: list[str | None]
    tsusho_kana_hw: list[str | None]
    kyu_uji: list[str | None]
    kyu_uji_kana_hw: list[str | None]
    shien: np.ndarray             # bool


@dataclass
class _Status:
    """在留 status of the 外国人住民 (per person; None for the others)."""
    kubun: np.ndarray
    kokuseki: np.ndarray
    shikaku: np.ndarray
    kikan: list[str | None]
    manryo: np.ndarray
    card: list[str | None]
    joriku: list[str | None]
    kari: list[str | None]


def _status(rng: np.random.Generator, gid: np.ndarray, fi: np.ndarray, end_day: int,
            spec: ForeignResidents) -> tuple[_Status, np.ndarray]:
    """区分, 国籍, 在留資格 drawn by the profile's shares; card numbers and periods from one more draw
    (returned too: 通称 and 旧氏 reuse it)."""
    P = len(gid)
    kubun = np.full(P, None, dtype=object)
    kubun[fi] = _choice(rng, spec.kubun, len(fi))
    kokuseki = np.full(P, None, dtype=object)
    tok = fi[kubun[fi] == "2"]
    chu = fi[kubun[fi] != "2"]
    kokuseki[tok] = _choice(rng, spec.kokuseki_tokuei, len(tok))
    kokuseki[chu] = _choice(rng, spec.kokuseki_chuchoki, len(chu))
    shikaku = np.full(P, None, dtype=object)
    c1 = fi[kubun[fi] == "1"]
    shikaku[c1] = _choice(rng, spec.zairyu_shikaku, len(c1))
    st = _Status(kubun, kokuseki, shikaku, [None] * P, np.full(P, NONE, dtype=np.int64), [None] * P, [None] * P,
                 [None] * P)
    extra = rng.integers(0, 10 ** 8, size=P)
    for i in fi:
        k = kubun[i]
        if k in ("1", "2"):   # 在留カード / 特別永住者証明書: 英字2桁＋数字8桁＋英字2桁 (shape only)
            g = int(gid[i])
            st.card[i] = (CARD_LETTERS[g % 24] + CARD_LETTERS[g // 24 % 24] + f"{int(extra[i]):08d}"
                          + CARD_LETTERS[g // 576 % 24] + CARD_LETTERS[(g * 7) % 24])
        if k == "1" and shikaku[i] != "601":   # 永住者 has no 在留期間
            opts = spec.zairyu_kikan.get(shikaku[i], spec.zairyu_kikan_other)
            st.kikan[i] = opts[int(extra[i]) % len(opts)]
            st.manryo[i] = end_day + 30 + int(extra[i]) % (365 * 4)
        if k == "3":
            st.joriku[i] = spec.joriku_kikan
        if k == "4":
            st.kari[i] = spec.kari_taizai_kikan
    return st, extra


def _tsusho(rng: np.random.Generator, fi: np.ndarray, kubun: np.ndarray, extra: np.ndarray,
            spec: ForeignResidents) -> tuple[list[str | None], list[str | None]]:
    """通称 (and its half-width kana): most 特別永住者, a few others."""
    P = len(kubun)
    tsusho: list[str | None] = [None] * P
    kana: list[str | None] = [None] * P
    u = rng.random(P)
    surnames = list(spec.tsusho.surnames)
    for i in fi:
        if (kubun[i] == "2" and u[i] < spec.tsusho.tokuei_share) or (kubun[i] != "2" and u[i] < spec.tsusho.other_share):
            s = surnames[int(extra[i]) % len(surnames)]
            tsusho[i], kana[i] = f"{s}　太郎" if int(extra[i]) % 2 else f"{s}　花子", \
                spec.tsusho.surnames[s] + (" ﾀﾛｳ" if int(extra[i]) % 2 else " ﾊﾅｺ")
    return tsusho, kana


def _kyu_uji(rng: np.random.Generator, wife: np.ndarray, foreign: np.ndarray, extra: np.ndarray,
             surnames: TextTable, share: float) -> tuple[list[str | None], list[str | None]]:
    """旧氏: married women who asked for it (since 2019-11-05), a surname without gaiji."""
    P = len(wife)
    kyu_uji: list[str | None] = [None] * P
    kana: list[str | None] = [None] * P
    clean = [j for j, m in enumerate(surnames.mask) if m == 0]
    v = rng.random(P)
    for i in np.flatnonzero(wife & ~foreign & (v < share)):
        j = clean[int(extra[i]) % len(clean)]
        kyu_uji[i], kana[i] = surnames.resolved[j], surnames.kana_hw[j]
    return kyu_uji, kana


def person_extras(rng: np.random.Generator, people: People, first_day: np.ndarray, wife: np.ndarray,
                  surnames: TextTable, end_day: int, profile: JukiProfile) -> PersonExtras:
    spec = profile.foreign_residents
    foreign, names = people.foreign, people.name_res
    fi = np.flatnonzero(foreign)
    st, extra = _status(rng, people.gid, fi, end_day, spec)
    gaikoku_day = np.full(len(foreign), NONE, dtype=np.int64)
    kyugaitoho = np.full(len(foreign), NONE, dtype=np.int64)
    gaikoku_day[fi] = np.maximum(first_day[fi], KAISEI_2012)
    before = fi[first_day[fi] < KAISEI_2012]
    kyugaitoho[before] = first_day[before]
    alphabet = [(names[i] if names[i].isascii() else spec.alphabet.get(names[i])) if foreign[i] else None
                for i in range(len(foreign))]
    tsusho, tsusho_kana = _tsusho(rng, fi, st.kubun, extra, spec)
    kyu_uji, kyu_kana = _kyu_uji(rng, wife, foreign, extra, surnames, profile.kyu_uji_share)
    return PersonExtras(alphabet, st.kokuseki, st.kubun, st.shikaku, st.kikan, st.manryo, st.card, st.joriku, st.kari,
                        gaikoku_day, kyugaitoho, tsusho, tsusho_kana, kyu_uji, kyu_kana,
                        np.zeros(len(foreign), dtype=bool))


def pick_shien(rng: np.random.Generator, house_of: np.ndarray, head_of_house: np.ndarray, sex: np.ndarray,
               foreign: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Households whose 世帯主 is a woman with others (a parent who fled with children): all their
    members become 支援対象者. Returns (shien mask per person, 申出者 per person (-1 none))."""
    members = np.bincount(house_of, minlength=len(head_of_house))
    heads = head_of_house
    ok = (heads >= 0) & (members >= 2)
    ok[ok] &= (sex[heads[ok]] == 2) & ~foreign[heads[ok]]
    chosen = ok & (rng.random(len(heads)) < rate)
    shien = chosen[house_of]
    moushide = np.where(shien, heads[house_of], -1)
    return shien, moushide


@dataclass
class CsvSink:
    """One delimited legacy file (CP932, CRLF, a header line) and the truth of its records."""
    path: object
    file_id: str
    record_type: str
    header: list[str]
    offset: int = 0
    record_no: int = 0
    rows: list[dict] = field(default_factory=list)     # records.parquet rows
    fh: object = None

    def open(self) -> None:
        self.fh = open(self.path, "wb")
        at = self._write(self.header)
        # the header line is a record of its own (`_header_line`, checked and counted by the reader)
        self.record_no += 1
        self.rows.append({"file_id": self.file_id, "record_no": self.record_no, "offset": at,
                          "length": self.offset - at - 2, "record_type": "_header_line", "key_no": None,
                          "rireki_no": None, "expected": "loaded", "defect_class": None, "expected_rule": None})

    def _write(self, values: list[str]) -> int:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerow(values)
        data = cp932w.encode(buf.getvalue())
        self.fh.write(data)
        at = self.offset
        self.offset += len(data)
        return at

    def add(self, values: list[str], key_no: str) -> None:
        at = self._write(values)
        self.record_no += 1
        self.rows.append({"file_id": self.file_id, "record_no": self.record_no, "offset": at,
                          "length": self.offset - at - 2, "record_type": self.record_type, "key_no": key_no,
                          "rireki_no": None, "expected": "loaded", "defect_class": None, "expected_rule": None})

    def close(self) -> None:
        self.fh.close()


def ymd(day: int) -> str:
    return "" if day == NONE else (EPOCH + dt.timedelta(days=int(day))).strftime("%Y%m%d")


def _text_matrix(values: list[str | None], width: int) -> np.ndarray:
    raw = [cp932w.encode(v) if v else b"" for v in values]
    if any(len(r) > width for r in raw):
        raise ValueError(f"a value does not fit its field ({width} bytes)")
    arr = np.array(raw, dtype=f"S{width}") if raw else np.array([], dtype=f"S{width}")
    m = arr.view(np.uint8).reshape(len(raw), width).copy()
    m[m == 0] = 0x20
    return m


def _none_if_empty(values) -> pa.Array:
    return pa.array([v if v else None for v in values], type=pa.string())


@dataclass
class _Households:
    """Per person: the first row's day, 届出, household; per household: its first 世帯主."""
    first_day: np.ndarray
    first_todoke: np.ndarray
    wife: np.ndarray
    house_of: np.ndarray
    head_of_house: np.ndarray

    @classmethod
    def of(cls, P: int, rows: JuminRows) -> "_Households":
        person, house, n = rows.person, rows.house, len(rows)
        first_idx = np.r_[0, np.flatnonzero(person[1:] != person[:-1]) + 1] if n else np.array([], dtype=np.int64)
        first_day = np.full(P, NONE, dtype=np.int64)
        first_day[person[first_idx]] = rows.idou_day[first_idx]
        first_todoke = np.full(P, NONE, dtype=np.int64)
        first_todoke[person[first_idx]] = rows.todoke_day[first_idx]
        wife = np.zeros(P, dtype=bool)
        wife[person[np.isin(rows.zoku, [b"02", b"14"])]] = True
        house_of = np.zeros(P, dtype=np.int64)
        house_of[person[first_idx]] = house[first_idx]
        head_of_house = np.full(int(house.max()) + 1 if n else 0, -1, dtype=np.int64)
        order = np.argsort(house, kind="stable")
        hs = house[order]
        firsts = order[np.r_[0, np.flatnonzero(hs[1:] != hs[:-1]) + 1]] if n else order
        head_of_house[house[firsts]] = rows.head[firsts]
        return cls(first_day, first_todoke, wife, house_of, head_of_house)


def _field_matrices(ex: PersonExtras, rows: JuminRows, todoke_nen: np.ndarray, shien: np.ndarray,
                    fields: dict[str, tuple[int, int]]) -> dict[str, np.ndarray]:
    person = rows.person
    per_row = lambda values: [values[p] for p in person.tolist()]  # noqa: E731
    days = lambda d: np.where(d[person] == NONE, NONE, d[person])  # noqa: E731
    return {
        "shimei_alphabet": _text_matrix(per_row(ex.alphabet), fields["shimei_alphabet"][1]),
        "tsusho": _text_matrix(per_row(ex.tsusho), fields["tsusho"][1]),
        "tsusho_kana": _text_matrix(per_row(ex.tsusho_kana_hw), fields["tsusho_kana"][1]),
        "kokuseki": _text_matrix(per_row(ex.kokuseki), 3),
        "gaikokujin_date": western_matrix(days(ex.gaikoku_day)),
        "kyu_gaitoho_toroku_date": western_matrix(days(ex.kyugaitoho_day)),
        "gaikokujin_kubun": _text_matrix(per_row(ex.kubun), 1),
        "zairyu_shikaku": _text_matrix(per_row(ex.shikaku), 3),
        "zairyu_kikan": _text_matrix(per_row(ex.kikan), fields["zairyu_kikan"][1]),
        "zairyu_manryo_date": western_matrix(days(ex.manryo)),
        "zairyu_card_no": _text_matrix(per_row(ex.card), 12),
        "joriku_kikan": _text_matrix(per_row(ex.joriku), fields["joriku_kikan"][1]),
        "kari_taizai_kikan": _text_matrix(per_row(ex.kari), fields["kari_taizai_kikan"][1]),
        "kyu_uji": _text_matrix(per_row(ex.kyu_uji), fields["kyu_uji"][1]),
        "kyu_uji_kana": _text_matrix(per_row(ex.kyu_uji_kana_hw), fields["kyu_uji_kana"][1]),
        # 届出の年月日 (法第7条): the 届出 by which the person came to live here, kept across a 転居
        "todokede_nengappi": western_matrix(todoke_nen),
        "shien_taisho": np.where(shien[person], ord("1"), 0x20).astype(np.uint8)[:, None],
        "yokushi_flag": np.where(shien[person], ord("1"), 0x20).astype(np.uint8)[:, None],
    }


def _truth_columns(ex: PersonExtras, rows: JuminRows, todoke_nen: np.ndarray,
                   shien: np.ndarray) -> dict[str, pa.Array]:
    person, n = rows.person, len(rows)
    per_row = lambda values: [values[p] for p in person.tolist()]  # noqa: E731
    days = lambda d: np.where(d[person] == NONE, NONE, d[person])  # noqa: E731
    nfkc = lambda v: unicodedata.normalize("NFKC", v) if v else None  # noqa: E731
    return {
        "shimei_alphabet": _none_if_empty(per_row(ex.alphabet)),
        "tsusho": _none_if_empty(per_row(ex.tsusho)),
        "tsusho_kana": _none_if_empty([nfkc(v) for v in per_row(ex.tsusho_kana_hw)]),
        "kokuseki": _none_if_empty(per_row(ex.kokuseki)),
        "gaikokujin_date": date_array(days(ex.gaikoku_day)),
        "gaikokujin_date_literal": _none_if_empty([ymd(d) for d in days(ex.gaikoku_day)]),
        "gaikokujin_date_unknown": pa.array(np.zeros(n, dtype=bool)),
        "kyu_gaitoho_toroku_date": date_array(days(ex.kyugaitoho_day)),
        "kyu_gaitoho_toroku_date_literal": _none_if_empty([ymd(d) for d in days(ex.kyugaitoho_day)]),
        "kyu_gaitoho_toroku_date_unknown": pa.array(np.zeros(n, dtype=bool)),
        "gaikokujin_kubun": _none_if_empty(per_row(ex.kubun)),
        "zairyu_shikaku": _none_if_empty(per_row(ex.shikaku)),
        "zairyu_kikan": _none_if_empty(per_row(ex.kikan)),
        "zairyu_manryo_date": date_array(days(ex.manryo)),
        "zairyu_card_no": _none_if_empty(per_row(ex.card)),
        "joriku_kikan": _none_if_empty(per_row(ex.joriku)),
        "kari_taizai_kikan": _none_if_empty(per_row(ex.kari)),
        "kyu_uji": _none_if_empty(per_row(ex.kyu_uji)),
        "kyu_uji_kana": _none_if_empty([nfkc(v) for v in per_row(ex.kyu_uji_kana_hw)]),
        "todokede_nengappi": date_array(todoke_nen),
        "shien_taisho": pa.array([True if v else None for v in shien[person]], type=pa.bool_()),
        "yokushi_flag": pa.array([True if v else None for v in shien[person]], type=pa.bool_()),
    }


def _write_shien(sink: CsvSink, people: People, atena: np.ndarray, shien: np.ndarray, moushide: np.ndarray,
                 house_of: np.ndarray, end_day: int) -> None:
    """SHIEN.CSV: one row per 支援対象者 (申出者 first), in 宛名番号 order; 期間 1 年 (j440)."""
    gid = people.gid
    for p in sorted(np.flatnonzero(shien).tolist(), key=lambda q: (int(gid[moushide[q]]), q != moushide[q], int(gid[q]))):
        m = int(moushide[p])
        h = int(house_of[p])
        moushide_day = end_day - 30 - (int(gid[m]) * 37) % 300
        kaishi = moushide_day + 7
        k = EPOCH + dt.timedelta(days=kaishi)
        nxt = k.replace(year=k.year + 1) if not (k.month == 2 and k.day == 29) else dt.date(k.year + 1, 3, 1)
        shuryo = (nxt - EPOCH).days - 1   # j440: 1年 (開始 令和2年4月1日 → 終了 令和3年3月31日)
        kaga_birth = int(people.birth[m]) - 365 * 2
        sink.add([
            f"{int(atena[p]):010d}", "1", "1" if p == m else "2", "" if p == m else f"{int(atena[m]):010d}",
            "" if p == m else "子",
            ymd(moushide_day), "2", ymd(kaishi), ymd(shuryo), "1", "1", "1", "",
            f"架空　一郎{h % 10}", ymd(kaga_birth), "1", "他県架空市本町１番地"], f"{int(atena[p]):010d}")


def _write_tsusho(sink: CsvSink, ex: PersonExtras, atena: np.ndarray, profile: JukiProfile) -> None:
    """TSUSHO.CSV: one row per 通称 記載."""
    for p in np.flatnonzero(np.array([t is not None for t in ex.tsusho], dtype=bool)).tolist():
        sink.add([f"{int(atena[p]):010d}", "1", ex.tsusho[p], ex.tsusho_kana_hw[p], ymd(int(ex.gaikoku_day[p])),
                  profile.city, profile.dantai_code, ""], f"{int(atena[p]):010d}")


def emit(rng: np.random.Generator, *, people: People, nums: Numbers, rows: JuminRows, assets: Assets, sinks: dict,
         profile: JukiProfile, fields: dict[str, tuple[int, int]]) -> tuple[dict[str, np.ndarray], dict[str, pa.Array]]:
    """The extra JUMIN fields per row ({field: byte matrix}) and their truth columns ({item: array});
    writes the chunk's SHIEN.CSV / TSUSHO.CSV records."""
    end_day = day_number(profile.calendar.end)
    hh = _Households.of(len(people.gid), rows)
    ex = person_extras(rng, people, hh.first_day, hh.wife, assets.surnames, end_day, profile)
    shien, moushide = pick_shien(rng, hh.house_of, hh.head_of_house, people.sex, people.foreign,
                                 profile.shien_household_share)
    ex.shien = shien
    # 届出の年月日 (法第7条): the 届出 by which the person came to live here, kept across a 転居;
    # for those recorded by 改製 (no 届出 in the extract) the 住民となった年月日
    ft = hh.first_todoke[rows.person]
    todoke_nen = np.where(ft != NONE, ft, rows.jumin_day)
    mats = _field_matrices(ex, rows, todoke_nen, shien, fields)
    truth = _truth_columns(ex, rows, todoke_nen, shien)
    _write_shien(sinks["SHIEN"], people, nums.atena, shien, moushide, hh.house_of, end_day)
    _write_tsusho(sinks["TSUSHO"], ex, nums.atena, profile)
    return mats, truth
