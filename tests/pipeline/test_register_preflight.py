"""Issue 16 (4, 12): the register as a rehearsal uses it — MJ-only rows resolve through the MJ index
(exit 2 naming the rows when there is none, never a GaijiError traceback), an empty `pua` is derived
from `source_code` in the file's encoding, a row that can match nothing stops the run before it reads,
and `kikan gaiji decide --mj` never writes a row without pua when it can derive it."""
from __future__ import annotations

import csv
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from sample_copy import copy_sample, edit, generate_sample, kikan, rehearse_in_process  # noqa: E402

from kikan_hub.gaiji.register import GaijiRegister, derive_pua  # noqa: E402
from kikan_hub.pipeline.errors import ConfigError  # noqa: E402
from kikan_hub.pipeline.manifest import load_manifest  # noqa: E402
from kikan_hub.pipeline.register_setup import decoder_for  # noqa: E402


@pytest.fixture(scope="module")
def base_sample(tmp_path_factory) -> Path:
    return generate_sample(tmp_path_factory.mktemp("s") / "extract", residents=150, defect_rate=0.0)


@pytest.fixture
def sample(base_sample, tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("KIKAN_DATA_DIR", str(tmp_path / "data"))  # no MJ index imported here
    return copy_sample(base_sample, tmp_path / "extract")


def _rewrite_register(sample: Path, change) -> None:
    p = sample / "gaiji_register.csv"
    with p.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        change(r)
    with p.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def _shimei(run_dir: Path) -> list:
    return pq.read_table(run_dir / "staging" / "juki_jumin.parquet", columns=["shimei"]).column("shimei").to_pylist()


@pytest.fixture(scope="module")
def small_mj_index(tmp_path_factory, reference_data, base_sample) -> Path:
    """An MJ index of the register's MJ characters only (the official list's own header and rows)."""
    from kikan_hub.gaiji.mj_index import MJIndex

    wanted = {r.mj for r in GaijiRegister.load(base_sample / "gaiji_register.csv").rows if r.mj}
    src = reference_data / "mj" / "mji-list.00602.tsv"
    d = tmp_path_factory.mktemp("mj")
    lines = src.read_text(encoding="utf-8").splitlines()
    (d / "mji-list.00602.tsv").write_text("\n".join([lines[0]] + [ln for ln in lines[1:] if ln.split("\t")[0] in wanted])
                                          + "\n", encoding="utf-8")
    path = d / "mj_index.sqlite"
    with MJIndex(path) as idx:
        idx.import_file(d / "mji-list.00602.tsv")
    return path


def test_pua_derived_from_source_code_in_the_declared_encoding():
    assert derive_pua("F140", [decoder_for("cp932")]) == "U+E0BC"
    assert derive_pua("F040", [decoder_for("cp932")]) == "U+E000"
    assert derive_pua("889F", [decoder_for("cp932")]) is None      # 亜: not a vendor character
    assert derive_pua("ZZ", [decoder_for("cp932")]) is None


def test_mj_only_rows_without_an_index_are_named_exit_2(sample, tmp_path):
    _rewrite_register(sample, lambda r: r.update(ucs="") if r["source_code"] == "F040" else None)
    with pytest.raises(ConfigError) as e:
        load_manifest(sample / "manifest.yaml")
    assert "F040 (MJ032129)" in e.value.message and "import-mj" in e.value.message
    proc = kikan("rehearse", str(sample / "manifest.yaml"), "--store", f"sqlite:///{tmp_path / 's.db'}",
                 "--run-dir", str(tmp_path / "run"), "--quiet")
    text = proc.stdout + proc.stderr
    assert proc.returncode == 2 and "Traceback" not in text and "F040" in text, text


def test_mj_only_rows_resolve_through_the_index(sample, tmp_path, small_mj_index, base_sample):
    from kikan_hub.gaiji.mj_index import MJIndex

    with MJIndex.open(small_mj_index) as idx:
        text_of = idx.text_map()
    # Every identified row loses its ucs: only the MJ name is left.
    _rewrite_register(sample, lambda r: r.update(ucs="") if r["mj"] else None)
    edit(sample / "manifest.yaml", "unresolved_gaiji:", f"mj_index: {small_mj_index}\nunresolved_gaiji:")
    res = rehearse_in_process(sample, tmp_path)
    assert res.summary["characters"]["unresolved"] == []
    assert res.summary["characters"]["resolved"]
    ref = rehearse_in_process(copy_sample(base_sample, tmp_path / "ref"), tmp_path / "r2")
    want = {"".join(chr(int(x, 16)) for x in r.ucs.split()): text_of[r.mj]
            for r in GaijiRegister.load(base_sample / "gaiji_register.csv").rows if r.mj}
    expected = [v if v is None else "".join(want.get(ch, ch) for ch in _split_ivs(v, want)) for v in _shimei(ref.run_dir)]
    assert _shimei(res.run_dir) == expected


def _split_ivs(value: str, want: dict) -> list[str]:
    """Split a value into the register's texts (a character with its selector is one unit)."""
    out, i = [], 0
    keys = sorted(want, key=len, reverse=True)
    while i < len(value):
        k = next((k for k in keys if value.startswith(k, i)), value[i])
        out.append(k)
        i += len(k)
    return out


def test_empty_pua_is_derived_and_resolves_like_the_written_one(sample, tmp_path, base_sample):
    _rewrite_register(sample, lambda r: r.update(pua=""))
    res = rehearse_in_process(sample, tmp_path)
    ref = rehearse_in_process(copy_sample(base_sample, tmp_path / "ref"), tmp_path / "r2")
    assert res.summary["characters"]["resolved"] == ref.summary["characters"]["resolved"]
    assert res.summary["characters"]["unresolved"] == ref.summary["characters"]["unresolved"] == []
    assert _shimei(res.run_dir) == _shimei(ref.run_dir)


def test_a_row_that_matches_nothing_stops_the_run_before_reading(sample, tmp_path):
    _rewrite_register(sample, lambda r: r.update(pua="", source_code="外字1") if r["source_code"] == "F041" else None)
    with pytest.raises(ConfigError) as e:
        load_manifest(sample / "manifest.yaml")
    assert "外字1" in e.value.message and "gaiji_register.csv" in str(e.value.path)


def test_decide_with_mj_writes_the_derived_pua(tmp_path):
    reg = tmp_path / "reg.csv"
    proc = kikan("gaiji", "decide", str(reg), "旧住記", "F140", "--mj", "MJ032129", "--by", "市民課",
                 "--data-dir", str(tmp_path / "data"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    row = GaijiRegister.load(reg).get("旧住記", "F140")
    assert row.pua == "U+E0BC" and row.mj == "MJ032129"
    proc = kikan("gaiji", "decide", str(reg), "旧住記", "ABC", "--mj", "MJ032129", "--by", "市民課",
                 "--data-dir", str(tmp_path / "data"))
    assert proc.returncode == 2 and "pua" in (proc.stdout + proc.stderr)
    assert GaijiRegister.load(reg).get("旧住記", "ABC") is None
