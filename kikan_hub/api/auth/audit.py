"""The read audit: one row per call that touched persons (client, operation, 宛名番号s, time, outcome)."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select

from kikan_hub.store.security_tables import AUDIT, AUDIT_SUBJECT

log = logging.getLogger("kikan_hub.audit")


def _tables():
    from kikan_hub.store.schema import build_metadata
    md = build_metadata()
    return md.tables[AUDIT], md.tables[AUDIT_SUBJECT]


@dataclass
class AuditEntry:
    audit_id: int
    at: dt.datetime
    client_id: str | None
    interface: str
    operation: str
    outcome: str
    atena_nos: list[str]
    detail: str | None


class AuditLog:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.t, self.ts = _tables()

    def record(self, *, client_id: str | None, interface: str, operation: str, outcome: str,
               atena_nos: list[str] | tuple[str, ...] = (), detail: str | None = None) -> int:
        subjects = sorted(set(a for a in atena_nos if a))
        with self.engine.begin() as conn:
            audit_id = conn.execute(insert(self.t).values(
                at=dt.datetime.now(dt.timezone.utc), client_id=client_id, interface=interface, operation=operation,
                outcome=outcome, subject_count=len(subjects), detail=(detail or None) and detail[:500],
            ).returning(self.t.c.audit_id)).scalar_one()
            if subjects:
                conn.execute(insert(self.ts), [{"audit_id": audit_id, "atena_no": a} for a in subjects])
        return audit_id

    def query(self, client_id: str | None = None, atena_no: str | None = None, since: dt.datetime | None = None,
              limit: int = 1000) -> list[AuditEntry]:
        t, ts = self.t, self.ts
        q = select(t).order_by(t.c.audit_id)
        if client_id:
            q = q.where(t.c.client_id == client_id)
        if since:
            q = q.where(t.c.at >= since)
        if atena_no:
            q = q.where(t.c.audit_id.in_(select(ts.c.audit_id).where(ts.c.atena_no == atena_no)))
        q = q.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
            ids = [r.audit_id for r in rows]
            subj: dict[int, list[str]] = {}
            for i in range(0, len(ids), 500):
                for a_id, a in conn.execute(select(ts.c.audit_id, ts.c.atena_no)
                                            .where(ts.c.audit_id.in_(ids[i:i + 500]))
                                            .order_by(ts.c.audit_id, ts.c.atena_no)):
                    subj.setdefault(a_id, []).append(a)
        return [AuditEntry(r.audit_id, r.at, r.client_id, r.interface, r.operation, r.outcome,
                           subj.get(r.audit_id, []), r.detail) for r in rows]
