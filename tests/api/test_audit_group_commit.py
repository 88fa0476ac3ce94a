"""Audit group commit (issue 15 latency): concurrent reads share one audit transaction, each caller
returns only once its own row is committed, and a batch that fails before its commit answers nobody."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from api_helpers import A1, A2, A3, PNS, audit_rows, envelope, fault_code, post_soap, wsse_header

N = 6


def _is_audit_insert(statement: str) -> bool:
    return statement.lstrip().upper().startswith("INSERT INTO KIKAN_AUDIT ")


def test_concurrent_callers_share_one_commit_and_each_is_audited(hub_server):
    from kikan_hub.api.auth.audit import AuditLog

    srv, _ = hub_server
    log = AuditLog(srv.hub.engine, group_commit=True)
    log.record(client_id="warm", interface="soap", operation="-", outcome="ok")   # opens the writer's connection
    commits: list[int] = []
    first = threading.Event()

    def hold_first_batch(conn, cursor, statement, params, context, executemany):
        # The first caller's transaction waits (before its commit) until the other N-1 have queued.
        if _is_audit_insert(statement) and not first.is_set():
            first.set()
            deadline = time.monotonic() + 20
            while len(log._pending) < N - 1 and time.monotonic() < deadline:
                time.sleep(0.005)

    sa.event.listen(srv.hub.engine, "before_cursor_execute", hold_first_batch)
    sa.event.listen(srv.hub.engine, "commit", lambda conn: commits.append(1))
    try:
        with ThreadPoolExecutor(N) as pool:
            ids = list(pool.map(lambda i: log.record(client_id=f"c{i}", interface="soap", operation="JuminJohoShokai",
                                                     outcome="ok", atena_nos=[(A1, A2, A3)[i % 3]]), range(N)))
    finally:
        sa.event.remove(srv.hub.engine, "before_cursor_execute", hold_first_batch)
    assert len(set(ids)) == N                      # every caller got its own committed row
    assert len(commits) == 2, commits              # the first caller's commit, then one for the other N-1
    rows = {r.audit_id: r for r in log.query(limit=1000)}
    for i, audit_id in enumerate(ids):
        assert rows[audit_id].client_id == f"c{i}"
        assert rows[audit_id].atena_nos == [(A1, A2, A3)[i % 3]]


def test_a_batch_that_fails_before_commit_answers_nobody(hub_server):
    """The audit INSERT of the subjects fails (the writer 'crashes' before COMMIT): every concurrent
    SOAP read in that batch gets a Server fault without the resident's data, and nothing is audited
    as answered. Once the store recovers, reads are answered and audited again."""
    srv, issued = hub_server
    pw = issued["full"].soap_password
    broken = threading.Event()
    broken.set()

    def crash(conn, cursor, statement, params, context, executemany):
        if broken.is_set() and statement.lstrip().upper().startswith("INSERT INTO KIKAN_AUDIT_SUBJECT"):
            raise RuntimeError("simulated crash before the audit commit")

    def ask(atena: str):
        return post_soap(srv.base, envelope(f"<p:JuminJohoShokaiRequest><p:AtenaNo>{atena}</p:AtenaNo>"
                                            f"</p:JuminJohoShokaiRequest>", wsse_header("vendor-full", pw)))

    before = len(audit_rows(srv.hub, wait=0))
    sa.event.listen(srv.hub.engine, "before_cursor_execute", crash)
    try:
        with ThreadPoolExecutor(N) as pool:
            answers = list(pool.map(ask, [(A1, A2, A3)[i % 3] for i in range(N)]))
        for r in answers:
            assert r.status_code == 500
            assert fault_code(r) == ("soap:Server", "SERVER-INTERNAL")
            assert f"{{{PNS}}}JuminJohoShokaiResponse" not in r.text and "JuminJohoShokaiResponse" not in r.text
        assert not [e for e in audit_rows(srv.hub)[before:] if e.operation == "JuminJohoShokai" and e.outcome == "ok"]
        broken.clear()
        ok = ask(A1)
        assert ok.status_code == 200 and "JuminJohoShokaiResponse" in ok.text
        assert [e.atena_nos for e in audit_rows(srv.hub)[before:] if e.outcome == "ok"] == [[A1]]
    finally:
        sa.event.remove(srv.hub.engine, "before_cursor_execute", crash)
