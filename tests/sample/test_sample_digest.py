"""The sample generator's output stays byte-identical to the committed digest list.

Guards every refactor of kikan_hub/sample/ (issue 12: the split of generator.py, profiles as data):
same N, seed, defect rate and K → the same bytes in every file, truth and 税 extract included.
A deliberate change of the output updates tests/sample/sample_digest.json in a commit of its own
(`PYTHONPATH=. python tests/sample/sample_digest.py --write`).
"""
from __future__ import annotations

import pyarrow
import pytest

from sample_digest import CASES, differences, digest_dir, load_committed, run_case

COMMITTED = load_committed()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_sample_output_is_byte_identical(case, tmp_path):
    out = tmp_path / "out"
    run_case(case, out)
    expected = COMMITTED["cases"][case.name]
    diff = differences(expected, digest_dir(out))
    hint = ""
    if pyarrow.__version__ != COMMITTED["pyarrow"]:
        # Parquet files name their writer: a pyarrow upgrade changes truth/*.parquet by itself
        hint = f"\n(pyarrow is {pyarrow.__version__}, the digests were recorded with {COMMITTED['pyarrow']})"
    assert not diff, (f"{case.name}: the sample output changed ({len(diff)} files):\n  " + "\n  ".join(diff) + hint
                      + "\nIf deliberate, rewrite the digests in a separate commit (tests/sample/sample_digest.py).")


def test_digest_list_covers_every_case():
    # a case added to CASES without recorded digests would silently compare against nothing
    assert set(COMMITTED["cases"]) == {c.name for c in CASES}
    assert all(len(files) > 40 for files in COMMITTED["cases"].values())
