"""The read audit: one row per call that touched persons (client, operation, 宛名番号s, time, outcome)."""
from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select

from kikan_hub.api.tables import AUDIT, AUDIT_SUBJECT

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


class _Pending:
    __slots__ = ("row", "subjects", "done", "audit_id", "error")

    def __init__(self, row: dict, subjects: list[str]):
        self.row, self.subjects, self.done = row, subjects, threading.Event()
        self.audit_id: int | None = None
        self.error: BaseException | None = None


class AuditLog:
    """record() returns only after the audit row is committed (the read is never answered unaudited).

    With group_commit (default on SQLite, where each commit is an fsync and writers take turns),
    concurrent callers' rows are committed together, leader/follower style: a caller adds its row to
    the pending list and takes the commit lock; whoever holds it commits *every* pending row in one
    transaction, so the callers that queued behind it find their rows already committed. Alone, a
    caller commits its own row in its own thread (no hand-off to a writer thread: under CPU load a
    thread hand-off costs more than the insert).
    """

    def __init__(self, engine: Engine, group_commit: bool | None = None, sqlite_sync: str = "full"):
        """``sqlite_sync`` = "normal" lets the SQLite writer commit without an fsync of the WAL (WAL
        mode): a committed audit row survives a crash of the hub, not a power loss of the machine.
        The default "full" keeps the fsync (each commit then costs the disk's flush time)."""
        if sqlite_sync not in ("full", "normal"):
            raise ValueError("sqlite_sync is full or normal")
        self.sqlite_sync = sqlite_sync
        self.engine = engine
        self.t, self.ts = _tables()
        # built once: constructing an INSERT per row cost more CPU than executing it
        self._insert_row = insert(self.t).returning(self.t.c.audit_id)
        self._insert_subjects = insert(self.ts)
        self.group_commit = engine.dialect.name == "sqlite" if group_commit is None else group_commit
        self._pending: list[_Pending] = []
        self._pending_lock = threading.Lock()
        self._commit_lock = threading.Lock()
        self._conn = None  # the committer's own connection (its PRAGMA), used under _commit_lock only

    def _write(self, conn, items: list[_Pending]) -> None:
        for p in items:
            p.audit_id = conn.execute(self._insert_row, p.row).scalar_one()
        subj = [{"audit_id": p.audit_id, "atena_no": a} for p in items for a in p.subjects]
        if subj:
            conn.execute(self._insert_subjects, subj)

    def _connection(self):
        if self._conn is None:
            conn = self.engine.connect()
            if self.engine.dialect.name == "sqlite":
                conn.exec_driver_sql(f"PRAGMA synchronous={self.sqlite_sync.upper()}")
                conn.commit()
            self._conn = conn
        return self._conn

    def _commit_pending(self) -> None:
        """Under _commit_lock: commit every pending row in one transaction."""
        with self._pending_lock:
            items, self._pending = self._pending, []
        if not items:
            return
        try:
            conn = self._connection()
            with conn.begin():
                self._write(conn, items)
        except BaseException as exc:  # noqa: BLE001 - handed to every waiting caller
            for p in items:
                p.error = exc
            conn, self._conn = self._conn, None
            if conn is not None:
                try:
                    conn.close()
                except Exception:  # noqa: BLE001 - a broken connection; the next commit opens a new one
                    pass
        for p in items:
            p.done.set()

    def record(self, *, client_id: str | None, interface: str, operation: str, outcome: str,
               atena_nos: list[str] | tuple[str, ...] = (), detail: str | None = None,
               subject_count: int | None = None) -> int:
        """``subject_count`` overrides the count for bulk results whose 宛名番号 are not listed one by one."""
        subjects = sorted(set(a for a in atena_nos if a))
        p = _Pending(dict(at=dt.datetime.now(dt.timezone.utc), client_id=client_id, interface=interface,
                          operation=operation[:64], outcome=outcome,
                          subject_count=len(subjects) if subject_count is None else int(subject_count),
                          detail=(detail or None) and detail[:500]), subjects)
        if not self.group_commit:
            with self.engine.begin() as conn:
                self._write(conn, [p])
            return p.audit_id
        with self._pending_lock:
            self._pending.append(p)
        if not self._commit_lock.acquire(timeout=60):
            raise TimeoutError("audit write did not complete")
        try:
            if not p.done.is_set():      # not yet committed by the caller before us
                self._commit_pending()
        finally:
            self._commit_lock.release()
        if p.error is not None:
            raise p.error
        return p.audit_id

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
