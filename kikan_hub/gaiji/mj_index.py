"""The MJ index: the 文字情報基盤 character list imported into a SQLite file in the hub's data directory.

Sources (several may be imported into one index; each is recorded with path, version, SHA-256):

* the official MJ文字情報一覧表 ``mji.00602.xlsx`` (Strict Open XML, 36 columns A–AJ);
* a TSV/CSV extract with the official Japanese headers (``mji-list.00602.tsv``);
* ``mojikiban_moji.csv`` / ``mojikiban_moji_ivs.csv`` (readings, strokes, MJ縮退マップ targets).

Every column of every source row is kept verbatim (table ``mj_raw``, JSON per source); the
typed columns of table ``mj`` merge the sources (first non-empty value wins, IVS sequences are
united) and table ``mj_key`` indexes them for look-ups.
"""
from __future__ import annotations

import csv
import hashlib
import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .codes import normalise_juki, normalise_mj, parse_sequence, parse_ucs, split_ivs
from .errors import GaijiError

# The 36 columns (A–AJ) of the official MJ文字情報一覧表.
OFFICIAL_HEADERS: tuple[str, ...] = (
    "図形", "font", "MJ文字図形名", "対応するUCS", "実装したUCS", "実装したMoji_JohoコレクションIVS",
    "実装したSVS", "戸籍統一文字番号", "住基ネット統一文字コード", "入管正字コード", "入管外字コード",
    "漢字施策", "対応する互換漢字", "X0213", "X0213 包摂連番", "X0213 包摂区分", "X0212",
    "MJ文字図形バージョン", "登記統一文字番号(参考)",
    "部首1(参考)", "内画数1(参考)", "部首2(参考)", "内画数2(参考)",
    "部首3(参考)", "内画数3(参考)", "部首4(参考)", "内画数4(参考)",
    "総画数(参考)", "読み(参考)", "大漢和", "日本語漢字辞典", "新大字典", "大字源", "大漢語林",
    "更新履歴", "備考",
)

# header (official list or extract) → typed column of table mj
_MJ_LIST_COLUMNS = {
    "MJ文字図形名": "mj", "対応するUCS": "taio_ucs", "実装したUCS": "jisso_ucs",
    "実装したMoji_JohoコレクションIVS": "ivs", "実装したSVS": "svs", "対応する互換漢字": "compat",
    "X0213": "x0213", "漢字施策": "kanji_shisaku", "戸籍統一文字番号": "koseki",
    "住基ネット統一文字コード": "juki", "入管正字コード": "nyukan_seiji", "入管外字コード": "nyukan_gaiji",
    "総画数(参考)": "strokes", "読み(参考)": "yomi", "MJ文字図形バージョン": "version",
}
# mojikiban_moji.csv / mojikiban_moji_ivs.csv
_MOJIKIBAN_COLUMNS = {"mj": "mj", "lines": "strokes", "yomi": "yomi", "shrink": "shrink", "jis": "x0213",
                      "ucs": "ivs", "kanji": "chars"}

TYPED = ("taio_ucs", "jisso_ucs", "ivs", "svs", "compat", "x0213", "kanji_shisaku", "koseki", "juki",
         "nyukan_seiji", "nyukan_gaiji", "strokes", "yomi", "shrink", "chars", "version")

SCHEMA = """
CREATE TABLE IF NOT EXISTS source (
  id INTEGER PRIMARY KEY, path TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, version TEXT,
  sha256 TEXT NOT NULL, rows INTEGER NOT NULL, imported_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mj (
  mj TEXT PRIMARY KEY, taio_ucs TEXT, jisso_ucs TEXT, ivs TEXT, svs TEXT, compat TEXT, x0213 TEXT,
  kanji_shisaku TEXT, koseki TEXT, juki TEXT, nyukan_seiji TEXT, nyukan_gaiji TEXT, strokes INTEGER,
  yomi TEXT, shrink TEXT, chars TEXT, version TEXT);
CREATE TABLE IF NOT EXISTS mj_raw (
  mj TEXT NOT NULL, source_id INTEGER NOT NULL REFERENCES source(id), data TEXT NOT NULL,
  PRIMARY KEY (mj, source_id));
CREATE TABLE IF NOT EXISTS mj_key (kind TEXT NOT NULL, key TEXT NOT NULL, mj TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS mj_key_lookup ON mj_key(kind, key);
"""

_TYPED_POS = {c: i for i, c in enumerate(TYPED, start=1)}

KEY_KINDS = ("mj", "ucs", "taio", "ivs", "svs", "compat", "char", "juki", "koseki", "nyukan", "x0213",
             "yomi", "strokes", "shrink")

_KATA_TO_HIRA = {c: c - 0x60 for c in range(0x30A1, 0x30F7)}
_HIRA_TO_KATA = {c - 0x60: c for c in range(0x30A1, 0x30F7)}


def hiragana(s: str) -> str:
    return s.translate(_KATA_TO_HIRA)


@dataclass(frozen=True)
class MJRecord:
    mj: str
    taio_ucs: str = ""      # characters (not 'U+' strings)
    jisso_ucs: str = ""
    ivs: tuple[str, ...] = ()   # sequences (base + VS)
    svs: str = ""
    compat: str = ""
    x0213: str = ""
    kanji_shisaku: str = ""
    koseki: str = ""
    juki: str = ""
    nyukan_seiji: str = ""
    nyukan_gaiji: str = ""
    strokes: int | None = None
    yomi: tuple[str, ...] = ()
    shrink: str = ""
    chars: str = ""
    version: str = ""
    raw: dict = field(default_factory=dict, compare=False)

    @property
    def text(self) -> str | None:
        """The Unicode text of this MJ character: 実装したUCS, otherwise its Moji_Joho IVS sequence."""
        if self.jisso_ucs:
            return self.jisso_ucs
        if self.ivs:
            return self.ivs[0]
        return None

    def as_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("mj", "taio_ucs", "jisso_ucs", "svs", "compat", "x0213", "kanji_shisaku",
                                           "koseki", "juki", "nyukan_seiji", "nyukan_gaiji", "strokes", "shrink",
                                           "version")}
        d["ivs"] = list(self.ivs)
        d["yomi"] = list(self.yomi)
        d["text"] = self.text
        return d


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _version_from_name(name: str) -> str | None:
    m = re.search(r"(\d{5})", name)
    return m.group(1) if m else None


def _split_yomi(s: str) -> list[str]:
    return [y for y in re.split(r"[・、,，\s]+", s or "") if y]


def _int_or_none(s: str) -> int | None:
    m = re.match(r"\s*(\d+)", s or "")
    return int(m.group(1)) if m else None


class MJIndex:
    """Read/write access to the SQLite MJ index."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(self.path))
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(SCHEMA)

    @classmethod
    def open(cls, path: str | Path) -> "MJIndex":
        """Open an existing index (error if it has no MJ rows)."""
        p = Path(path)
        if not p.exists():
            raise GaijiError(f"MJ index not found at {p}: run `kikan gaiji import-mj PATH` first")
        idx = cls(p)
        if idx.count() == 0:
            raise GaijiError(f"MJ index {p} is empty: run `kikan gaiji import-mj PATH` first")
        return idx

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "MJIndex":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ import

    def import_file(self, path: str | Path, version: str | None = None) -> dict:
        """Import one source (xlsx, TSV/CSV extract with official headers, or mojikiban CSVs).

        Returns a summary dict (kind, rows, sha256, version)."""
        path = Path(path)
        if not path.is_file():
            raise GaijiError(f"{path}: file not found")
        if path.suffix.lower() == ".xlsx":
            from .xlsx_strict import iter_rows

            kind, header, rows = self._with_header(iter_rows(path), path)
        else:
            kind, header, rows = self._with_header(self._iter_delimited(path), path)
        digest = sha256_file(path)
        version = version or _version_from_name(path.name)
        return self._ingest(path, kind, header, rows, digest, version)

    @staticmethod
    def _iter_delimited(path: Path) -> Iterator[list[str]]:
        try:
            with open(path, encoding="utf-8-sig", newline="") as f:
                delim = "\t" if "\t" in f.readline() else ","
                f.seek(0)
                yield from csv.reader(f, delimiter=delim)
        except UnicodeDecodeError as exc:
            raise GaijiError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc

    @staticmethod
    def _with_header(rows: Iterator[list[str]], path: Path) -> tuple[str, list[str], Iterator[list[str]]]:
        for n, row in enumerate(rows):
            cells = [c.strip() for c in row]
            if "MJ文字図形名" in cells:
                return "mj-list", cells, rows
            if "mj" in cells and ("kanji" in cells or "ucs" in cells):
                return ("mojikiban-ivs" if "ucs" in cells else "mojikiban"), cells, rows
            if n > 20:
                break
        raise GaijiError(f"{path}: no header row with 'MJ文字図形名' (MJ list) or 'mj,kanji'/'mj,ucs' (mojikiban) found")

    def _ingest(self, path: Path, kind: str, header: list[str], rows: Iterator[list[str]], digest: str,
                version: str | None) -> dict:
        colmap = _MJ_LIST_COLUMNS if kind == "mj-list" else _MOJIKIBAN_COLUMNS
        positions = {colmap[h]: i for i, h in enumerate(header) if h in colmap}
        if "mj" not in positions:
            raise GaijiError(f"{path}: no MJ文字図形名 column")
        existing = {r[0]: list(r) for r in self.conn.execute(f"SELECT mj, {', '.join(TYPED)} FROM mj")}
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        cur = self.conn.cursor()
        cur.execute("INSERT INTO source(path, name, kind, version, sha256, rows, imported_at) VALUES (?,?,?,?,?,?,?)",
                    (str(path.resolve()), path.name, kind, version, digest, 0, now))
        source_id = cur.lastrowid
        raw_rows = []
        seen: set[str] = set()
        count = 0
        width = len(header)
        for lineno, row in enumerate(rows, start=2):
            if not any(c.strip() for c in row):
                continue
            row = [c.strip() for c in row] + [""] * (width - len(row))
            try:
                mj = normalise_mj(row[positions["mj"]])
            except GaijiError as exc:
                raise GaijiError(f"{path}: row {lineno}: {exc}") from exc
            if mj in seen:
                raise GaijiError(f"{path}: row {lineno}: {mj} appears twice")
            seen.add(mj)
            values = {col: row[i] for col, i in positions.items() if col != "mj"}
            try:
                typed = self._typed(values)
            except GaijiError as exc:
                raise GaijiError(f"{path}: row {lineno} ({mj}): {exc}") from exc
            cur_row = existing.get(mj)
            if cur_row is None:
                cur_row = [mj] + [None] * len(TYPED)
                existing[mj] = cur_row
            for col, new in typed.items():
                k = _TYPED_POS[col]
                if col == "ivs":
                    have = split_ivs(cur_row[k] or "")
                    cur_row[k] = ";".join(have + [s for s in split_ivs(new) if s not in have])
                elif col == "yomi":
                    have = _split_yomi(cur_row[k] or "")
                    cur_row[k] = "・".join(have + [s for s in _split_yomi(new) if s not in have])
                elif cur_row[k] in (None, ""):
                    cur_row[k] = new
            raw_rows.append((mj, source_id, json.dumps(dict(zip(header, row)), ensure_ascii=False)))
            count += 1
        if count == 0:
            raise GaijiError(f"{path}: no MJ rows")
        cur.executemany("INSERT INTO mj_raw(mj, source_id, data) VALUES (?,?,?)", raw_rows)
        cur.execute("DELETE FROM mj")
        cur.executemany(f"INSERT INTO mj(mj, {', '.join(TYPED)}) VALUES ({', '.join('?' * (len(TYPED) + 1))})",
                        existing.values())
        cur.execute("UPDATE source SET rows = ? WHERE id = ?", (count, source_id))
        self._rebuild_keys(cur, existing.values())
        self.conn.commit()
        return {"source": str(path), "kind": kind, "rows": count, "sha256": digest, "version": version,
                "total": len(existing)}

    @staticmethod
    def _typed(values: dict[str, str]) -> dict:
        out: dict = {}
        for col, v in values.items():
            if not v:
                continue
            if col in ("taio_ucs", "jisso_ucs", "compat"):
                out[col] = f"{ord(parse_ucs(v)):04X}"
            elif col == "ivs":
                seqs = split_ivs(v)
                for s in seqs:
                    parse_sequence(s)
                out[col] = ";".join(seqs)
            elif col == "svs":
                out[col] = ";".join(split_ivs(v))
            elif col == "juki":
                out[col] = normalise_juki(v)
            elif col == "strokes":
                out[col] = _int_or_none(v)
            else:
                out[col] = v
        return out

    @staticmethod
    def _rebuild_keys(cur: sqlite3.Cursor, rows: Iterable[list]) -> None:
        cur.execute("DROP INDEX IF EXISTS mj_key_lookup")
        cur.execute("DELETE FROM mj_key")
        idx = {c: i for i, c in enumerate(("mj",) + TYPED)}
        keys: set[tuple[str, str, str]] = set()
        for r in rows:
            mj = r[0]
            keys.add(("mj", mj, mj))
            for col, kind in (("jisso_ucs", "ucs"), ("taio_ucs", "taio"), ("compat", "compat")):
                if r[idx[col]]:
                    keys.add((kind, chr(int(r[idx[col]], 16)), mj))
            for col, kind in (("ivs", "ivs"), ("svs", "svs")):
                for s in split_ivs(r[idx[col]] or ""):
                    keys.add((kind, parse_sequence(s), mj))
            if r[idx["chars"]]:
                keys.add(("char", r[idx["chars"]], mj))
            if r[idx["juki"]]:
                keys.add(("juki", r[idx["juki"]], mj))
            if r[idx["koseki"]]:
                keys.add(("koseki", r[idx["koseki"]].lstrip("0") or "0", mj))
            for col in ("nyukan_seiji", "nyukan_gaiji"):
                if r[idx[col]]:
                    keys.add(("nyukan", r[idx[col]].upper(), mj))
            if r[idx["x0213"]]:
                keys.add(("x0213", r[idx["x0213"]], mj))
            for y in _split_yomi(r[idx["yomi"]] or ""):
                keys.add(("yomi", hiragana(y), mj))
            if r[idx["strokes"]] is not None:
                keys.add(("strokes", str(r[idx["strokes"]]), mj))
            for ch in r[idx["shrink"]] or "":
                keys.add(("shrink", ch, mj))
        cur.executemany("INSERT INTO mj_key(kind, key, mj) VALUES (?,?,?)", keys)
        cur.execute("CREATE INDEX mj_key_lookup ON mj_key(kind, key)")

    # ------------------------------------------------------------------ queries

    def count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM mj").fetchone()[0]

    def sources(self) -> list[dict]:
        cols = ("id", "path", "name", "kind", "version", "sha256", "rows", "imported_at")
        return [dict(zip(cols, r)) for r in self.conn.execute(f"SELECT {', '.join(cols)} FROM source ORDER BY id")]

    def get(self, mj: str, with_raw: bool = False) -> MJRecord | None:
        mj = normalise_mj(mj)
        r = self.conn.execute(f"SELECT mj, {', '.join(TYPED)} FROM mj WHERE mj = ?", (mj,)).fetchone()
        if r is None:
            return None
        raw = {}
        if with_raw:
            for name, data in self.conn.execute(
                    "SELECT s.name, r.data FROM mj_raw r JOIN source s ON s.id = r.source_id WHERE r.mj = ? "
                    "ORDER BY s.id", (mj,)):
                raw[name] = json.loads(data)
        return self._record(r, raw)

    @staticmethod
    def _record(r, raw: dict | None = None) -> MJRecord:
        d = dict(zip(("mj",) + TYPED, r))
        ch = lambda h: chr(int(h, 16)) if h else ""  # noqa: E731
        return MJRecord(
            mj=d["mj"], taio_ucs=ch(d["taio_ucs"]), jisso_ucs=ch(d["jisso_ucs"]),
            ivs=tuple(parse_sequence(s) for s in split_ivs(d["ivs"] or "")),
            svs=";".join(parse_sequence(s) for s in split_ivs(d["svs"] or "")), compat=ch(d["compat"]),
            x0213=d["x0213"] or "", kanji_shisaku=d["kanji_shisaku"] or "", koseki=d["koseki"] or "",
            juki=d["juki"] or "", nyukan_seiji=d["nyukan_seiji"] or "", nyukan_gaiji=d["nyukan_gaiji"] or "",
            strokes=d["strokes"], yomi=tuple(_split_yomi(d["yomi"] or "")), shrink=d["shrink"] or "",
            chars=d["chars"] or "", version=d["version"] or "", raw=raw or {})

    def find(self, kind: str, key: str) -> list[str]:
        """MJ文字図形名 for one key kind (see KEY_KINDS)."""
        if kind not in KEY_KINDS:
            raise GaijiError(f"unknown look-up kind {kind!r}; one of {', '.join(KEY_KINDS)}")
        if kind == "mj":
            key = normalise_mj(key)
        elif kind == "juki":
            key = normalise_juki(key)
        elif kind == "koseki":
            key = key.strip().lstrip("0") or "0"
        elif kind == "nyukan":
            key = key.strip().upper()
        elif kind == "yomi":
            key = hiragana(key.strip())
        elif kind == "strokes":
            key = str(int(key))
        return [r[0] for r in self.conn.execute("SELECT mj FROM mj_key WHERE kind = ? AND key = ? ORDER BY mj",
                                                (kind, key))]

    def records(self, names: Iterable[str]) -> list[MJRecord]:
        return [r for r in (self.get(n) for n in names) if r is not None]

    def by_ucs(self, ch: str) -> list[MJRecord]:
        """MJ characters implemented at this code point (実装したUCS), else those corresponding (対応するUCS)."""
        return self.records(self.find("ucs", ch) or self.find("taio", ch))

    def by_ivs(self, seq: str) -> list[MJRecord]:
        return self.records(self.find("ivs", seq))

    def lookup(self, query: str) -> list[MJRecord]:
        """Clerk look-up: an MJ文字図形名, 'U+XXXX', 'J+XXXX', a character (with or without IVS)."""
        q = query.strip()
        if not q:
            raise GaijiError("empty query")
        if re.fullmatch(r"(?i)MJ\d{1,6}", q):
            r = self.get(q, with_raw=True)
            return [r] if r else []
        if re.fullmatch(r"(?i)J\+[0-9A-F]{4}", q):
            return self.records(self.find("juki", q))
        if re.fullmatch(r"(?i)(U\+[0-9A-F]{4,6}[ _]?)+", q):
            q = parse_sequence(q)
        if len(q) >= 2 and all(0xFE00 <= ord(c) <= 0xFE0F or 0xE0100 <= ord(c) <= 0xE01EF for c in q[1:]):
            names = self.find("ivs", q) or self.find("svs", q) or self.find("char", q)
            return self.records(names)
        if len(q) == 1:
            names = sorted(set(self.find("ucs", q)) | set(self.find("taio", q)) | set(self.find("compat", q)))
            return self.records(names)
        raise GaijiError(f"cannot look up {query!r}: give one character, an MJ文字図形名, U+XXXX or J+XXXX")

    def text_of(self, mj: str) -> str | None:
        r = self.get(mj)
        return r.text if r else None

    def text_map(self) -> dict[str, str | None]:
        """MJ文字図形名 → resolved Unicode text, for every MJ character (bulk, for resolvers)."""
        out: dict[str, str | None] = {}
        for mj, jisso, ivs in self.conn.execute("SELECT mj, jisso_ucs, ivs FROM mj"):
            if jisso:
                out[mj] = chr(int(jisso, 16))
            elif ivs:
                out[mj] = parse_sequence(split_ivs(ivs)[0])
            else:
                out[mj] = None
        return out

    def shrink_map(self) -> dict[str, str]:
        """Character (with IVS where it needs one) → its MJ縮退マップ targets, where a source carried them
        (mojikiban CSVs); for ``fold_text(..., related=...)``."""
        out: dict[str, str] = {}
        for mj, chars, jisso, ivs, shrink in self.conn.execute(
                "SELECT mj, chars, jisso_ucs, ivs, shrink FROM mj WHERE shrink IS NOT NULL AND shrink != ''"):
            keys = {chars} if chars else set()
            if jisso:
                keys.add(chr(int(jisso, 16)))
            keys.update(parse_sequence(s) for s in split_ivs(ivs or ""))
            for k in keys:
                if k:
                    out[k] = out.get(k, "") + "".join(c for c in shrink if c not in out.get(k, ""))
        return out


def import_atomically(target: str | Path, paths: Iterable[str | Path], version: str | None = None,
                      on_file: Callable[[Path, dict], None] | None = None) -> int:
    """Import every file into the index at `target`, all or nothing.

    The work happens on a copy beside the index; only when every file went in is it moved over
    the index (os.replace). A failure leaves the index as it was, and leaves no new file or
    directory behind. Returns the number of MJ characters in the index.
    """
    import os

    target = Path(target)
    made_dirs = [p for p in [target.parent, *target.parent.parents] if not p.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.with_name(f".{target.name}.importing-{os.getpid()}")
    try:
        if target.exists():
            with sqlite3.connect(str(target)) as src, sqlite3.connect(str(work)) as dst:
                src.backup(dst)
        with MJIndex(work) as idx:
            for p in paths:
                summary = idx.import_file(p, version=version)
                if on_file:
                    on_file(Path(p), summary)
            count = idx.count()
            idx.conn.execute("PRAGMA journal_mode=DELETE")  # one file to move: no -wal / -shm beside it
        os.replace(work, target)
        return count
    except BaseException:
        for leftover in (work, work.with_name(work.name + "-wal"), work.with_name(work.name + "-shm"),
                         work.with_name(work.name + "-journal")):
            leftover.unlink(missing_ok=True)
        for d in made_dirs:  # innermost first; only the empty directories this call made
            if d.exists() and not any(d.iterdir()):
                d.rmdir()
        raise
