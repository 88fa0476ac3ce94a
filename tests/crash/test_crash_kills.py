"""SIGKILL a rehearsal at many points; the next run must converge to the uninterrupted run's store.

The store alternates between two extracts A and B of the same source, so every killed run is
a *replacing* load (the dangerous case) and "as it was" is distinguishable from "new". After
each kill the store must be exactly the old state (killed before COMMIT) or exactly the new
one (after COMMIT) — content hash including lineage, control records and ledger — never a
mix; then the same rehearsal is run again in the same run directory and must give exactly
the uninterrupted run's content, one more consistent ledger row and a complete run directory.
"""
from __future__ import annotations

import pytest

from crash_harness import KILL_POINTS, ledger_problems, run_dir_problems, snapshot

# Time-based kills (the whole process group, like a container stop or kill -9 of the session),
# as fractions of an uninterrupted run's duration; they land wherever the run happens to be.
TIME_FRACTIONS = [0.1, 0.25, 0.4, 0.55, 0.7]


def crash_matrix(runner, extracts, references, url, work) -> tuple[list[str], list[str]]:
    """Returns (lines of the per-kill report, problems)."""
    report, problems = [], []
    res = runner.run(extracts["A"], url, work / "initial")
    assert res["exit"] == 0, res["log"]
    current = "A"
    assert snapshot(url).content == references["A"].content
    duration = references["A_seconds"]
    plan = [(p, c, None) for p, c in KILL_POINTS] + [(f"time:{f:.2f}", None, f * duration) for f in TIME_FRACTIONS]
    for i, (point, committed, delay) in enumerate(plan):
        new = "B" if current == "A" else "A"
        run_dir = work / f"k{i:02d}"
        before = snapshot(url)
        if delay is None:
            res = runner.run(extracts[new], url, run_dir, fault=point)
            # Killed itself (-9), or — SQLite, kill inside the bulk-load child — reported it as exit 2.
            if res["exit"] not in (-9, 2):
                problems.append(f"{point}: kill point not reached (exit {res['exit']})\n{res['log'][-2000:]}")
                continue
            if res["exit"] == 2 and "exit -9" not in res["log"]:
                problems.append(f"{point}: exit 2 without the child's SIGKILL: {res['log'][-500:]}")
        else:
            res = runner.run(extracts[new], url, run_dir, kill_after=delay)
            if res["exit"] not in (-9, 0, 2):
                problems.append(f"{point}: unexpected exit {res['exit']}\n{res['log'][-2000:]}")
        killed = snapshot(url)
        if committed is None:  # time-based: whichever side of COMMIT it fell, but exactly one side
            committed = killed.content == references[new].content
            if not committed and killed.content != before.content:
                problems.append(f"{point}: store is neither the old nor the new state (half-loaded)")
        expected = references[new].content if committed else before.content
        if killed.content != expected:
            problems.append(f"{point}: after the kill the store is not the {'new' if committed else 'old'} state")
        if len(killed.ledger) != len(before.ledger) + (1 if committed else 0) or killed.ledger[:len(before.ledger)] != before.ledger:
            problems.append(f"{point}: ledger after kill {killed.ledger[len(before.ledger):]} (committed={committed})")
        problems += [f"{point} (after kill): {p}" for p in ledger_problems(killed)]

        again = runner.run(extracts[new], url, run_dir)
        if again["exit"] != 0:
            problems.append(f"{point}: rerun exit {again['exit']}\n{again['log'][-2000:]}")
            break
        conv = snapshot(url)
        if conv.content != references[new].content:
            problems.append(f"{point}: rerun did not converge to the uninterrupted run's content")
        if len(conv.ledger) != len(killed.ledger) + 1 or conv.ledger[-1][2] != "loaded":
            problems.append(f"{point}: ledger after rerun {conv.ledger[len(killed.ledger):]}")
        problems += [f"{point} (after rerun): {p}" for p in ledger_problems(conv)]
        problems += [f"{point}: {p}" for p in run_dir_problems(run_dir)]
        report.append(f"{point:26s} exit={res['exit']:>3} committed={committed!s:5s} "
                      f"killed_after={res['seconds']:.2f}s rerun={again['seconds']:.2f}s")
        current = new
    return report, problems


def _check(report, problems, db):
    print(f"\n{db}: {len(report)} kill points")
    print("\n".join(report))
    assert not problems, "\n".join(problems)
    assert len(report) >= 20


def test_sigkill_matrix_sqlite(runner, extracts, references, tmp_path):
    _check(*crash_matrix(runner, extracts, references, f"sqlite:///{tmp_path / 'kikan.db'}", tmp_path), "sqlite")


@pytest.mark.postgres
def test_sigkill_matrix_postgresql(runner, extracts, references, pg_url, tmp_path):
    _check(*crash_matrix(runner, extracts, references, pg_url, tmp_path), "postgresql")
