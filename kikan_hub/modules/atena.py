"""団体内統合宛名: one identity across 住民 (juki_jumin), 住登外者 (jutogai_atena) and tax subjects.

* An identity is a set of 宛名番号. A 宛名番号 without a link row is its own identity; links live
  in ``mod_atena_link`` and are only ever changed by a recorded decision (``mod_atena_decision``:
  who, when, before/after), so every merge and split can be undone exactly.
* Tax subjects (zei_* tables) carry a 宛名番号 only; they join an identity through it. A tax
  宛名番号 found in neither 住民 nor 住登外者 is listed in the review as 宛名なし.
* Candidate duplicates: pairs of persons (individuals) blocked by birth date and by a tolerant
  kana key, scored on normalised kana name, birth date, normalised address and kanji name
  (atena_match.py: pure scoring, no SQL; this module reads the store and records decisions).
The canonical tables are never written: ``store_content_hashes`` is unchanged by any decision.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from collections import defaultdict
from dataclasses import asdict

from sqlalchemy import Engine, delete, insert, select, update

from kikan_hub.layouts.isl import all_tables
from kikan_hub.modules.atena_match import DEFAULT_THRESHOLD, AtenaRecord, Candidate, candidate_pairs
from kikan_hub.modules.juki import as_of_select
from kikan_hub.modules.tables import ATENA_DECISION, ATENA_DISTINCT, ATENA_LINK
from kikan_hub.store.schema import build_metadata


class AtenaError(ValueError):
    """A decision that cannot be made as asked (unknown 宛名番号, stale undo …)."""


# ---------------------------------------------------------------- reading the store
def _md():
    md = getattr(_md, "_v", None)
    if md is None:
        md = build_metadata()
        _md._v = md  # type: ignore[attr-defined]
    return md


def _d(v):
    return dt.date.fromisoformat(v) if isinstance(v, str) else v


def load_records(engine: Engine) -> list[AtenaRecord]:
    """The latest snapshot of every 住民 (incl. 除票) and every individual 住登外者."""
    md = _md()
    out: list[AtenaRecord] = []
    with engine.connect() as conn:
        j = as_of_select(md.tables["juki_jumin"], None)
        for r in conn.execute(select(j.c.atena_no, j.c.shimei, j.c.shimei_kana, j.c.birth_date,
                                     j.c.birth_date_literal, j.c.seibetsu, j.c.jusho, j.c.shojo_jiyu)):
            out.append(AtenaRecord(r.atena_no, "住民", "除票" if r.shojo_jiyu else "住民", r.shimei, r.shimei_kana,
                                   _d(r.birth_date), r.birth_date_literal, r.seibetsu, r.jusho))
        g = as_of_select(md.tables["jutogai_atena"], None, date_col="shori_date", floor_col=None)
        for r in conn.execute(select(g.c.atena_no, g.c.shimei, g.c.shimei_kana, g.c.birth_date,
                                     g.c.birth_date_literal, g.c.seibetsu, g.c.jusho, g.c.kojin_hojin_kubun)):
            if r.kojin_hojin_kubun not in (None, "1"):
                continue  # 法人・団体: no birth date; not compared here
            out.append(AtenaRecord(r.atena_no, "住登外", "住登外", r.shimei, r.shimei_kana, _d(r.birth_date),
                                   r.birth_date_literal, r.seibetsu, r.jusho))
    return out


def tax_tables() -> list[str]:
    return sorted(t.id for t in all_tables().values() if t.gyomu_id.startswith("zei") and "atena_no" in
                  {i.id for i in t.items})


def links(engine: Engine) -> dict[str, str]:
    t = _md().tables[ATENA_LINK]
    with engine.connect() as conn:
        return {r.atena_no: r.identity_id for r in conn.execute(select(t.c.atena_no, t.c.identity_id))}


def distinct_pairs(engine: Engine) -> set[tuple[str, str]]:
    t = _md().tables[ATENA_DISTINCT]
    with engine.connect() as conn:
        return {(r.atena_a, r.atena_b) for r in conn.execute(select(t.c.atena_a, t.c.atena_b))}


def identity_of(engine: Engine, atena_no: str) -> str:
    return links(engine).get(atena_no, atena_no)


def identity(engine: Engine, atena_no: str) -> dict:
    """The identity an 宛名番号 belongs to: its members, their 住民/住登外 records, and tax references."""
    lk = links(engine)
    ident = lk.get(atena_no, atena_no)
    members = sorted({a for a, i in lk.items() if i == ident} | {atena_no} | ({ident} if ident not in lk else set()))
    md = _md()
    recs = {r.atena_no: r for r in load_records(engine) if r.atena_no in members}
    tax: dict[str, list[str]] = defaultdict(list)
    with engine.connect() as conn:
        for tid in tax_tables():
            t = md.tables[tid]
            for (a,) in conn.execute(select(t.c.atena_no).where(t.c.atena_no.in_(members)).distinct()):
                tax[a].append(tid)
    return {"identity_id": ident, "members": [
        {"atena_no": a, "record": _rec_dict(recs.get(a)), "tax_tables": sorted(tax.get(a, []))} for a in members]}


def _rec_dict(r: AtenaRecord | None) -> dict | None:
    if r is None:
        return None
    d = asdict(r)
    for k in ("kana_n", "kana_t", "name_n", "addr_n"):
        d.pop(k)
    return d


# ---------------------------------------------------------------- candidates
def find_candidates(engine: Engine, threshold: float = DEFAULT_THRESHOLD, include_decided: bool = False,
                    records: list[AtenaRecord] | None = None) -> list[Candidate]:
    """Candidate duplicate pairs of the store, best first. Pairs already in one identity, or decided to
    be different persons, are left out unless ``include_decided``."""
    recs = records if records is not None else load_records(engine)
    decided = engine is not None and not include_decided
    return candidate_pairs(recs, threshold, links(engine) if decided else None,
                           distinct_pairs(engine) if decided else None)


# ---------------------------------------------------------------- decisions
def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _known_atena(engine: Engine, atena_nos: list[str]) -> set[str]:
    md = _md()
    found: set[str] = set()
    with engine.connect() as conn:
        for tid in ["juki_jumin", "jutogai_atena", *tax_tables()]:
            t = md.tables[tid]
            found |= {a for (a,) in conn.execute(select(t.c.atena_no).where(t.c.atena_no.in_(atena_nos)).distinct())}
    return found


def _state(conn, atena_nos: list[str], pairs: list[tuple[str, str]]) -> dict:
    md = _md()
    lt, dtb = md.tables[ATENA_LINK], md.tables[ATENA_DISTINCT]
    lk = {r.atena_no: r.identity_id for r in conn.execute(select(lt.c.atena_no, lt.c.identity_id)
                                                           .where(lt.c.atena_no.in_(atena_nos)))}
    ds = {(r.atena_a, r.atena_b) for r in conn.execute(select(dtb.c.atena_a, dtb.c.atena_b)
                                                         .where(dtb.c.atena_a.in_(atena_nos)))}
    return {"links": {a: lk.get(a) for a in sorted(atena_nos)},
            "distinct": sorted([list(p) for p in pairs if tuple(p) in ds])}


def _set_distinct(conn, before_pairs: list, after_pairs: list, decision_id: int) -> None:
    dtb = _md().tables[ATENA_DISTINCT]
    for a, b in before_pairs:
        conn.execute(delete(dtb).where(dtb.c.atena_a == a, dtb.c.atena_b == b))
    if after_pairs:
        conn.execute(insert(dtb), [{"atena_a": a, "atena_b": b, "decision_id": decision_id} for a, b in after_pairs])


def _record(conn, kind, atena_nos, identity_id, before, after, who, reason, score=None, undoes=None) -> int:
    t = _md().tables[ATENA_DECISION]
    res = conn.execute(insert(t).values(
        kind=kind, atena_nos=json.dumps(atena_nos, ensure_ascii=False), identity_id=identity_id,
        before_json=json.dumps(before, ensure_ascii=False, sort_keys=True),
        after_json=json.dumps(after, ensure_ascii=False, sort_keys=True), score=score, reason=reason,
        decided_by=who, decided_at=_now(), undoes=undoes))
    return int(res.inserted_primary_key[0])


def _require_who(who: str) -> str:
    if not who or not who.strip():
        raise AtenaError("判断者 (who) が必要です")
    return who.strip()


def merge(engine: Engine, atena_nos: list[str], who: str, reason: str = "", score: float | None = None) -> int:
    """Make the identities of ``atena_nos`` one identity. Returns the decision id."""
    who = _require_who(who)
    atena_nos = sorted(set(atena_nos))
    if len(atena_nos) < 2:
        raise AtenaError("名寄せには2つ以上の宛名番号が必要です")
    missing = set(atena_nos) - _known_atena(engine, atena_nos)
    if missing:
        raise AtenaError(f"ストアに無い宛名番号: {sorted(missing)}")
    lk = links(engine)
    idents = sorted({lk.get(a, a) for a in atena_nos})
    if len(idents) == 1:
        raise AtenaError(f"すでに同じ統合宛名です: {idents[0]}")
    target = idents[0]
    touched = sorted({a for a, i in lk.items() if i in idents} | set(atena_nos) | set(idents))
    pairs = [(x, y) for x, y in itertools.combinations(touched, 2)]
    with engine.begin() as conn:
        before = _state(conn, touched, pairs)
        after = {"links": {a: target for a in touched}, "distinct": []}
        did = _record(conn, "merge", atena_nos, target, before, after, who, reason,
                      None if score is None else f"{score:.4f}")
        _write_links(conn, after["links"], did)
        _set_distinct(conn, before["distinct"], [], did)
    return did


def _write_links(conn, mapping: dict, did: int) -> None:
    lt = _md().tables[ATENA_LINK]
    conn.execute(delete(lt).where(lt.c.atena_no.in_(list(mapping))))
    rows = [{"atena_no": a, "identity_id": i, "decision_id": did} for a, i in mapping.items() if i is not None]
    if rows:
        conn.execute(insert(lt), rows)


def split(engine: Engine, atena_no: str, who: str, reason: str = "") -> int:
    """Take ``atena_no`` out of its identity (it becomes its own) and record that it is a different
    person from the remaining members, so the pair is not proposed again."""
    who = _require_who(who)
    lk = links(engine)
    ident = lk.get(atena_no, atena_no)
    members = sorted({a for a, i in lk.items() if i == ident} | {atena_no})
    if len(members) < 2:
        raise AtenaError(f"{atena_no} は他の宛名番号と統合されていません")
    rest = [a for a in members if a != atena_no]
    new_ident = min(rest) if ident == atena_no else ident
    after_links = {a: (new_ident if len(rest) > 1 else None) for a in rest}
    after_links[atena_no] = None
    pairs = [tuple(sorted((atena_no, b))) for b in rest]
    with engine.begin() as conn:
        before = _state(conn, members, pairs)
        after = {"links": after_links, "distinct": [list(p) for p in pairs]}
        did = _record(conn, "split", [atena_no], ident, before, after, who, reason)
        _write_links(conn, after_links, did)
        _set_distinct(conn, before["distinct"], pairs, did)
    return did


def mark_distinct(engine: Engine, atena_a: str, atena_b: str, who: str, reason: str = "") -> int:
    """Record that a candidate pair is two different persons (the review's 'not a duplicate')."""
    who = _require_who(who)
    pair = tuple(sorted((atena_a, atena_b)))
    with engine.begin() as conn:
        before = _state(conn, list(pair), [pair])
        if before["distinct"]:
            raise AtenaError(f"すでに別人と記録されています: {pair}")
        after = {"links": before["links"], "distinct": [list(pair)]}
        did = _record(conn, "distinct", list(pair), None, before, after, who, reason)
        _set_distinct(conn, [], [pair], did)
    return did


def undo(engine: Engine, decision_id: int, who: str, reason: str = "") -> int:
    """Reverse a decision: the touched links and distinct pairs go back to their recorded state.
    Refused when a later decision changed the same 宛名番号 (undo that one first)."""
    who = _require_who(who)
    t = _md().tables[ATENA_DECISION]
    with engine.begin() as conn:
        d = conn.execute(select(t).where(t.c.decision_id == decision_id)).mappings().first()
        if d is None:
            raise AtenaError(f"判断 {decision_id} はありません")
        if d["undone_by"] is not None:
            raise AtenaError(f"判断 {decision_id} はすでに取り消されています (判断 {d['undone_by']})")
        if d["kind"] == "undo":
            raise AtenaError("取消しの取消しはできません。もう一度判断してください")
        before, after = json.loads(d["before_json"]), json.loads(d["after_json"])
        atena_nos = list(before["links"])
        pairs = [tuple(p) for p in before["distinct"]] + [tuple(p) for p in after["distinct"]]
        now = _state(conn, atena_nos, pairs)
        if now["links"] != after["links"] or sorted(now["distinct"]) != sorted(after["distinct"]):
            raise AtenaError(f"判断 {decision_id} の後に同じ宛名番号を変えた判断があります。後の判断から取り消してください")
        uid = _record(conn, "undo", json.loads(d["atena_nos"]), d["identity_id"], after, before, who, reason,
                      undoes=decision_id)
        _write_links(conn, before["links"], uid)
        _set_distinct(conn, [tuple(p) for p in after["distinct"]], [tuple(p) for p in before["distinct"]], uid)
        conn.execute(update(t).where(t.c.decision_id == decision_id).values(undone_by=uid))
    return uid


def decisions(engine: Engine, limit: int | None = None) -> list[dict]:
    t = _md().tables[ATENA_DECISION]
    stmt = select(t).order_by(t.c.decision_id.desc())
    if limit:
        stmt = stmt.limit(limit)
    with engine.connect() as conn:
        out = []
        for m in conn.execute(stmt).mappings():
            r = dict(m)
            r["atena_nos"] = json.loads(r["atena_nos"])
            out.append(r)
        return out


def orphan_tax_subjects(engine: Engine) -> list[dict]:
    """Tax subjects whose 宛名番号 is neither a 住民 nor a 住登外者."""
    md = _md()
    with engine.connect() as conn:
        known = {a for (a,) in conn.execute(select(md.tables["juki_jumin"].c.atena_no).distinct())}
        known |= {a for (a,) in conn.execute(select(md.tables["jutogai_atena"].c.atena_no).distinct())}
        out: dict[str, list[str]] = defaultdict(list)
        for tid in tax_tables():
            for (a,) in conn.execute(select(md.tables[tid].c.atena_no).distinct()):
                if a not in known:
                    out[a].append(tid)
    return [{"atena_no": a, "tax_tables": sorted(v)} for a, v in sorted(out.items())]


def review(engine: Engine, threshold: float = DEFAULT_THRESHOLD, limit: int | None = 200) -> dict:
    """The review list: open candidates (not decided), the latest decisions, tax subjects without a 宛名."""
    cands = find_candidates(engine, threshold)
    return {"candidates": [c.as_dict() for c in (cands[:limit] if limit else cands)],
            "candidate_count": len(cands),
            "decisions": decisions(engine, limit=50),
            "orphan_tax_subjects": orphan_tax_subjects(engine)}


def identity_state_hash(engine: Engine) -> str:
    """SHA-256 of the effective identity state (links and distinct pairs), decision log excluded."""
    md = _md()
    h = hashlib.sha256()
    with engine.connect() as conn:
        for r in conn.execute(select(md.tables[ATENA_LINK].c.atena_no, md.tables[ATENA_LINK].c.identity_id)
                              .order_by(md.tables[ATENA_LINK].c.atena_no)):
            h.update(f"L{r.atena_no}\x1f{r.identity_id}\x1e".encode())
        dtb = md.tables[ATENA_DISTINCT]
        for r in conn.execute(select(dtb.c.atena_a, dtb.c.atena_b).order_by(dtb.c.atena_a, dtb.c.atena_b)):
            h.update(f"D{r.atena_a}\x1f{r.atena_b}\x1e".encode())
    return h.hexdigest()
