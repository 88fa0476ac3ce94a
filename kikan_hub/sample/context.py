"""What one sample run shares across its chunks: options, assets, profile, layouts, open writers, counts.

``RunContext`` replaces the two dozen parameters the chunk writer used to take; the writers stream
the legacy files (``RecordWriter``) and the truth Parquet files (``TruthWriters``); ``Stats`` counts
records per file and record type for summary.json.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from kikan_hub.sample.assets_loader import Assets, Register
from kikan_hub.sample.profile import JukiProfile

RECORDS_SCHEMA = pa.schema([
    ("file_id", pa.string()), ("record_no", pa.int64()), ("offset", pa.int64()), ("length", pa.int64()),
    ("record_type", pa.string()), ("key_no", pa.string()), ("rireki_no", pa.int64()), ("expected", pa.string()),
    ("defect_class", pa.string()), ("expected_rule", pa.string())])
PERSONS_SCHEMA = pa.schema([
    ("atena_no", pa.string()), ("rireki_no", pa.int64()), ("setai_no", pa.string()), ("shimei", pa.string()),
    ("zokugara", pa.string()), ("jusho", pa.string()), ("katagaki", pa.string()), ("machiaza", pa.string()),
    ("idou_jiyu", pa.string()), ("valid_from", pa.date32()), ("valid_to", pa.date32()),
    ("resident", pa.bool_()), ("jumin_jotai", pa.string())])


@dataclass
class SampleOptions:
    residents: int
    out: Path
    seed: int = 0
    defect_rate: float | None = None          # None: the profile's defects.default_rate
    unidentified_gaiji: int = 0
    chunk_residents: int = 20_000
    progress: Callable[[int, int], None] | None = None   # (residents done, total)
    profiles: tuple[Path, ...] = ()           # profile files replacing the shipped ones of their 業務
    roster_edges: Path | bool | None = None   # add the roster edge cases (True: profiles/roster_edges.yaml)


class RecordWriter:
    """Streams one legacy file and remembers offsets, counts and the hash total."""

    def __init__(self, path: Path, terminator: bytes) -> None:
        self.fh = path.open("wb")
        self.offset = 0
        self.record_no = 0
        self.term = terminator
        self.sha = hashlib.sha256()
        self.data_records = 0
        self.hash_total = 0            # sum of the key numbers as written (the trailer's hash total)

    def write(self, data: bytes) -> None:
        self.fh.write(data)
        self.sha.update(data)
        self.offset += len(data)

    def close(self) -> None:
        self.fh.close()


@dataclass
class TruthWriters:
    """The truth Parquet files, streamed chunk by chunk."""
    records: pq.ParquetWriter
    jumin: pq.ParquetWriter
    setai: pq.ParquetWriter
    persons: pq.ParquetWriter
    jumin_schema: pa.Schema
    setai_schema: pa.Schema

    @classmethod
    def open(cls, truth_dir: Path, jumin_schema: pa.Schema, setai_schema: pa.Schema) -> "TruthWriters":
        return cls(records=pq.ParquetWriter(truth_dir / "records.parquet", RECORDS_SCHEMA),
                   jumin=pq.ParquetWriter(truth_dir / "jumin.parquet", jumin_schema),
                   setai=pq.ParquetWriter(truth_dir / "setai.parquet", setai_schema),
                   persons=pq.ParquetWriter(truth_dir / "persons.parquet", PERSONS_SCHEMA),
                   jumin_schema=jumin_schema, setai_schema=setai_schema)

    def close(self) -> None:
        for w in (self.records, self.jumin, self.setai, self.persons):
            w.close()


@dataclass
class Stats:
    """Per file: records per record type (read / loaded / quarantined), defect classes and rules."""
    files: dict[str, dict] = field(default_factory=dict)
    households: int = 0
    roster_edges: int = 0          # persons added from profiles/roster_edges.yaml (after the N residents)

    def _file(self, fid: str) -> dict:
        return self.files.setdefault(fid, {"types": {}, "defects": {}, "rules": {}})

    def count(self, fid: str, rtype: str, loaded: int, quarantined: int) -> None:
        t = self._file(fid)["types"].setdefault(rtype, {"read": 0, "loaded": 0, "quarantined": 0})
        t["read"] += loaded + quarantined
        t["loaded"] += loaded
        t["quarantined"] += quarantined

    def add_defects(self, fid: str, defects: np.ndarray, rules: dict[str, str]) -> None:
        st = self._file(fid)
        for d in defects[defects != None]:  # noqa: E711
            st["defects"][d] = st["defects"].get(d, 0) + 1
            st["rules"][rules[d]] = st["rules"].get(rules[d], 0) + 1


@dataclass
class RecordLayout:
    """One record type of a legacy layout as the writer needs it."""
    positions: dict[str, tuple[int, int]]
    record_length: int


@dataclass
class RunContext:
    opts: SampleOptions
    assets: Assets
    register: Register
    profile: JukiProfile
    code_maps: dict[str, dict[str, str]]
    jumin: RecordLayout
    setai: RecordLayout
    unresolved_mask: int                      # gaiji bits left 未同定 (--unidentified-gaiji)
    jumin_file: RecordWriter
    setai_file: RecordWriter
    truth: TruthWriters
    stats: Stats
    sinks: dict                               # the CSV side files (juki_extras.CsvSink) by file id
