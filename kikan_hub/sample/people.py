"""The persons, households and addresses of one chunk as arrays: the bytes the records hold (CP932
matrices), the text the store holds (gaiji resolved) and the gaiji bit masks, indexed by the
chunk-local person / household / address number of ``ChunkData``; and its JUMIN history rows.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kikan_hub.sample import cp932w
from kikan_hub.sample.assets_loader import Assets, Register, resolved_text, source_text
from kikan_hub.sample.fields import NONE, bytes_matrix, date_array, matrix_strings
from kikan_hub.sample.simulation import ChunkData


@dataclass
class Numbers:
    """The numbers with check digits (computed by generator.identifiers: M11)."""
    atena: np.ndarray          # per person, 10 digits
    kojin: np.ndarray          # per person, 12 digits (個人番号)
    jcode: np.ndarray          # per person, 11 digits (住民票コード)
    setai_no: np.ndarray       # per household, 10 digits


@dataclass
class BirthDates:
    """生年月日 as written (era code + YYMMDD, 不詳 literal) and as the truth holds it."""
    written: np.ndarray        # (P, 7)
    fusho: list[str]           # the 不詳 literal ("" when exact)

    def fusho_matrix(self, width: int) -> np.ndarray:
        return bytes_matrix([cp932w.encode(f) for f in self.fusho], width)

    def truth(self, birth: np.ndarray, bkind: np.ndarray) -> tuple[pa.Array, pa.Array, np.ndarray]:
        """(birth_date, birth_date_literal, birth_date_unknown) per person."""
        lit = matrix_strings(self.written)
        literal = pa.array([f if f else None for f in self.fusho], type=pa.string())
        literal = pc.if_else(pc.is_null(literal), lit, literal)
        unknown = bkind != 0
        return date_array(np.where(unknown, NONE, birth)), literal, unknown


@dataclass
class People:
    gid: np.ndarray
    foreign: np.ndarray
    sex: np.ndarray
    birth: np.ndarray
    bkind: np.ndarray
    name_m: np.ndarray         # 氏名 as written (P, field width)
    name_res: list[str]        # 氏名 as stored
    name_mask: np.ndarray      # gaiji bits of the name
    kana_m: np.ndarray
    kana_full: list[str]       # カナ as stored (NFKC of the half-width source)

    @classmethod
    def build(cls, c: ChunkData, A: Assets, name_width: int, kana_width: int) -> "People":
        P = len(c.p_gid)
        foreign = np.array(c.p_foreign, dtype=bool)
        sur = np.array(c.p_sur, dtype=np.int64)
        giv = np.array(c.p_giv, dtype=np.int64)
        sex = np.array(c.p_sex, dtype=np.int64)
        name_raw, name_res, kana_hw, name_mask = [], [], [], np.zeros(P, dtype=np.int64)
        for i in range(P):
            if foreign[i]:
                name_raw.append(A.foreign.raw[giv[i]])
                name_res.append(A.foreign.resolved[giv[i]])
                kana_hw.append(A.foreign.kana_hw[giv[i]])
            else:
                gt = A.male if sex[i] == 1 else A.female
                name_raw.append(A.surnames.raw[sur[i]] + b"\x81\x40" + gt.raw[giv[i]])
                name_res.append(A.surnames.resolved[sur[i]] + "\u3000" + gt.resolved[giv[i]])
                kana_hw.append(A.surnames.kana_hw[sur[i]] + " " + gt.kana_hw[giv[i]])
                name_mask[i] = A.surnames.mask[sur[i]] | gt.mask[giv[i]]
        return cls(
            gid=np.array(c.p_gid, dtype=np.int64), foreign=foreign, sex=sex,
            birth=np.array(c.p_birth, dtype=np.int64), bkind=np.array(c.p_bkind, dtype=np.int64),
            name_m=bytes_matrix(name_raw, name_width), name_res=name_res, name_mask=name_mask,
            kana_m=bytes_matrix([k.encode("cp932") for k in kana_hw], kana_width),
            kana_full=[unicodedata.normalize("NFKC", k) for k in kana_hw])


@dataclass
class Places:
    """Addresses (chunk-local), households' 本籍, and the asset tables of 町字 and other places."""
    addr_m: np.ndarray
    addr_res: list[str]
    addr_mask: np.ndarray      # gaiji bits of 住所 and 方書
    text_mask: np.ndarray      # gaiji bits of 住所 alone (SETAI has no 方書)
    kata_m: np.ndarray
    kata_res: list[str | None]
    machi_idx: np.ndarray      # per address
    acode: np.ndarray          # per address, 住所コード
    machi_m: np.ndarray        # per 町字 (asset)
    machi_res: pa.Array
    yubin: np.ndarray          # per 町字
    honseki_m: np.ndarray      # per household
    honseki_mask: np.ndarray
    honseki_res: pa.Array
    hittosha: np.ndarray       # per household: person or -1
    places_m: np.ndarray       # per other place (asset): 転入前 / 転出先
    places_res: pa.Array

    @classmethod
    def build(cls, c: ChunkData, A: Assets, reg: Register, widths: dict[str, int]) -> "Places":
        return cls(
            addr_m=bytes_matrix([cp932w.encode(source_text(t)) for t in c.a_text], widths["jusho"]),
            addr_res=[resolved_text(t) for t in c.a_text],
            addr_mask=np.array([reg.mask_of(t) | reg.mask_of(k) for t, k in zip(c.a_text, c.a_kata)],
                               dtype=np.int64),
            text_mask=np.array([reg.mask_of(t) for t in c.a_text], dtype=np.int64),
            kata_m=bytes_matrix([cp932w.encode(source_text(t)) for t in c.a_kata], widths["katagaki"]),
            kata_res=[resolved_text(k) if k else None for k in c.a_kata],
            machi_idx=np.array(c.a_machi, dtype=np.int64),
            acode=np.array(c.a_code, dtype=np.int64),
            machi_m=bytes_matrix(A.machiaza.raw, widths["machiaza"]),
            machi_res=pa.array(A.machiaza.resolved, type=pa.string()),
            yubin=np.array([int(r["yubin"]) for r in A.machiaza.extra], dtype=np.int64),
            honseki_m=bytes_matrix([cp932w.encode(source_text(t)) for t in c.h_honseki], widths["honseki"]),
            honseki_mask=np.array([reg.mask_of(t) for t in c.h_honseki], dtype=np.int64),
            honseki_res=pa.array([resolved_text(t) if t else None for t in c.h_honseki], type=pa.string()),
            hittosha=np.array(c.h_hittosha, dtype=np.int64),
            places_m=bytes_matrix(A.places.raw, widths["tennyu_mae_jusho"]),
            places_res=pa.array(A.places.resolved, type=pa.string()))


@dataclass
class JuminRows:
    """The chunk's JUMIN history rows in file order (宛名番号, 履歴番号)."""
    person: np.ndarray
    rireki: np.ndarray
    house: np.ndarray
    head: np.ndarray          # person or -1 (世帯主未設定, j100)
    addr: np.ndarray
    jumin_day: np.ndarray
    jusho_day: np.ndarray
    mynum: np.ndarray
    idou_day: np.ndarray
    todoke_day: np.ndarray
    shori_day: np.ndarray
    tennyu: np.ndarray        # place or -1
    tenshutsu: np.ndarray     # place or -1
    shojo_day: np.ndarray
    jotai: np.ndarray         # S1 vendor codes
    zoku: np.ndarray          # S2
    idou: np.ndarray          # S2
    shojo: np.ndarray         # S2 (b"" none)

    @classmethod
    def sorted_from(cls, c: ChunkData, gid: np.ndarray) -> "JuminRows":
        R = c.r
        person = np.array(R["person"], dtype=np.int64)
        order = np.lexsort((np.array(R["rireki"], dtype=np.int64), gid[person]))

        def take(key: str, dtype=np.int64) -> np.ndarray:
            return np.array(R[key], dtype=dtype)[order]

        return cls(person=person[order], rireki=take("rireki"), house=take("house"), head=take("head"),
                   addr=take("addr"), jumin_day=take("jumin_day"), jusho_day=take("jusho_day"),
                   mynum=take("mynum", bool), idou_day=take("idou_day"), todoke_day=take("todoke_day"),
                   shori_day=take("shori_day"), tennyu=take("tennyu"), tenshutsu=take("tenshutsu"),
                   shojo_day=take("shojo_day"), jotai=take("jotai", "S1"), zoku=take("zoku", "S2"),
                   idou=take("idou", "S2"), shojo=take("shojo", "S2"))

    def __len__(self) -> int:
        return len(self.person)
