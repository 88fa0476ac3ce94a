"""Byte-identity guard of the sample generator: the cases and how their outputs are digested.

`sample_digest.json` beside this file holds, per case, the sha256 of every file the case writes
(path relative to the output folder). It was recorded on the generator before the issue-12 split
and must only change deliberately, in a commit of its own that says why:

    PYTHONPATH=. python tests/sample/sample_digest.py --write     # rewrite sample_digest.json
    PYTHONPATH=. python tests/sample/sample_digest.py             # print the differences only

The Parquet files carry the writer's version (`parquet-cpp-arrow version …`): a pyarrow upgrade
changes their bytes without any change in the generator, so they are digested by schema and rows
(`rows:` digests). The digest file still records the pyarrow version; the test names it when it differs.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pyarrow
from typer.testing import CliRunner

DIGEST_FILE = Path(__file__).with_name("sample_digest.json")


@dataclass(frozen=True)
class Case:
    name: str
    cli_args: tuple[str, ...] = ()          # `kikan sample …` (without --out)
    api: dict | None = None                 # or generate(SampleOptions(**api)) for what the CLI does not expose


CASES = (
    # the brief's reference runs: the CLI's defaults (defect rate 0.01, one chunk)
    Case("cli_300_seed42", ("--residents", "300", "--seed", "42", "--quiet")),
    Case("cli_2000_seed42", ("--residents", "2000", "--seed", "42", "--quiet")),
    # several chunks, every defect class, 未同定 gaiji: the paths the two above reach rarely or never
    Case("api_3000_seed11_chunks700", api=dict(residents=3000, seed=11, defect_rate=0.05, unidentified_gaiji=2,
                                               chunk_residents=700)),
    # the host version is written from the CP932 sample (kikan_hub/sample/host.py)
    Case("cli_300_seed42_ibm1390", ("--residents", "300", "--seed", "42", "--quiet", "--encoding", "ibm1390")),
)


def run_case(case: Case, out: Path) -> None:
    if case.api is not None:
        from kikan_hub.sample.generator import SampleOptions, generate
        generate(SampleOptions(out=out, **case.api))
        return
    from kikan_hub.api.cli import app
    result = CliRunner().invoke(app, ["sample", *case.cli_args, "--out", str(out)])
    if result.exit_code != 0:
        raise AssertionError(f"kikan sample {' '.join(case.cli_args)} exited {result.exit_code}: {result.output}")


def file_digest(p: Path) -> str:
    """sha256 of the bytes; for Parquet, of the schema and rows (the file's bytes name the writer's
    pyarrow version, so a fresh install of a newer pyarrow would change them with the same content)."""
    if p.suffix != ".parquet":
        return hashlib.sha256(p.read_bytes()).hexdigest()
    import pyarrow.parquet as pq
    table = pq.read_table(p)
    h = hashlib.sha256(table.schema.to_string(show_schema_metadata=False).encode())
    for batch in table.to_batches(max_chunksize=10_000):
        h.update(repr(batch.to_pylist()).encode())
    return "rows:" + h.hexdigest()


def digest_dir(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): file_digest(p) for p in sorted(out.rglob("*")) if p.is_file()}


def load_committed() -> dict:
    return json.loads(DIGEST_FILE.read_text(encoding="utf-8"))


def differences(expected: dict[str, str], actual: dict[str, str]) -> list[str]:
    lines = [f"missing: {k}" for k in sorted(expected.keys() - actual.keys())]
    lines += [f"new file: {k}" for k in sorted(actual.keys() - expected.keys())]
    lines += [f"changed: {k}" for k in sorted(expected.keys() & actual.keys()) if expected[k] != actual[k]]
    return lines


def main(argv: list[str] | None = None) -> int:
    import tempfile
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="rewrite sample_digest.json from the current code")
    args = ap.parse_args(argv)
    committed = load_committed() if DIGEST_FILE.exists() else {"cases": {}}
    result = {"pyarrow": pyarrow.__version__, "cases": {}}
    diff_total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            out = Path(tmp) / case.name
            run_case(case, out)
            result["cases"][case.name] = digest_dir(out)
            diff = differences(committed["cases"].get(case.name, {}), result["cases"][case.name])
            diff_total += len(diff)
            print(f"{case.name}: {len(result['cases'][case.name])} files, {len(diff)} differ from the committed list")
            for line in diff:
                print(f"  {line}")
    if args.write:
        DIGEST_FILE.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {DIGEST_FILE}")
    return 0 if args.write or diff_total == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
