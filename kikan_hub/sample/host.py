"""The sample extract as the host computer wrote it: the same residents, in a mainframe encoding.

``write_host_sample(src, out, encoding)`` takes a CP932 sample written by ``generator.generate``
and writes the host version of every file: fixed blocks without terminator or EOF byte, text in
the mainframe encoding (shift codes inside the field, padded with the host space), integers as
zoned decimals (unsigned F zone; the trailer's 件数 signed, its hash total packed), COMP-3 kept,
and the layouts, manifest, 外字台帳 and ground truth to match:

* a text field is widened to hold its shift codes (w + 2·⌈w/3⌉: every double-byte run costs two
  more bytes and needs at least three CP932 bytes);
* the vendor's gaiji (CP932 F040…, U+E000…) become the host's user-defined codes for the same
  private-use code points, and the register's 移行元コード is rewritten to the host code; a
  character the host code table lacks (e.g. ① in KEIS) is registered as a further host gaiji
  (U+E100…, 同定済 with its Unicode), as a host site would have done — the store content is the
  same as the CP932 version's;
* planted defects keep their class, except ``record_length``, which fixed blocks cannot express:
  those records become ``undecodable`` (an unassigned double-byte code in 氏名), and the truth says so;
* other extracts of the sample in subfolders (``zei/``, the tax files) and its CSV side files
  (SHIEN.CSV, TSUSHO.CSV) are copied unchanged, in CP932.
"""
from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from kikan_hub.adapters.codecs import DecodeFailure, EncodeFailure, get_codec
from kikan_hub.adapters.numbers import encode_packed, encode_zoned
from kikan_hub.layouts.legacy import Field, LegacyLayout, load_legacy_layout

EXTRA_GAIJI_FROM = 0xE100


def _wide(w: int) -> int:
    return w + 2 * ((w + 2) // 3)


class _Gaiji:
    """Characters the host table lacks → further host gaiji (private use from U+E100)."""

    def __init__(self, codec: Any) -> None:
        self.codec = codec
        self.extra: dict[str, str] = {}

    def encode(self, text: str, where: str) -> bytes:
        try:
            return self.codec.encode(text)
        except EncodeFailure:
            pass
        out = []
        for ch in text:
            try:
                self.codec.encode(ch)
                out.append(ch)
            except EncodeFailure:
                if ch not in self.extra:
                    self.extra[ch] = chr(EXTRA_GAIJI_FROM + len(self.extra))
                out.append(self.extra[ch])
        try:
            return self.codec.encode("".join(out))
        except EncodeFailure as exc:
            raise ValueError(f"{where}: {exc}") from None

    def host_code(self, pua: str) -> str:
        enc = self.codec.encode(pua)
        return enc[len(self.codec.shift_out):len(enc) - len(self.codec.shift_in)].hex().upper()


def _plan(layout: LegacyLayout) -> dict[str, list[tuple[Field, int, int, str]]]:
    """Per record type: (source field, host start, host length, host type)."""
    plans = {}
    for rt in layout.record_types:
        pos = 0
        plan = []
        for f in sorted(rt.fields, key=lambda f: f.offset):
            w = f.length or 0
            typ = f.type
            if typ in ("text", "kana"):
                hw = _wide(w)
            elif typ == "integer":
                typ = "packed" if w > 10 else "zoned"
                hw = w // 2 + 1 if typ == "packed" else w
            else:
                hw = w
            plan.append((f, pos, hw, typ))
            pos += hw
        plans[rt.name] = plan
    return plans


def _host_layout(src: Path, layout: LegacyLayout, plans, encoding: str) -> tuple[dict, int]:
    doc = yaml.safe_load(src.read_text(encoding="utf-8"))
    length = max(p[-1][1] + p[-1][2] for p in plans.values())
    doc["encoding"] = encoding
    doc["terminator"] = "none"
    doc.pop("eof_marker", None)
    doc["record_length"] = length
    doc["description"] = (str(doc.get("description", "")) + f" — ホスト版 ({encoding}, 固定長ブロック)").strip(" —")
    for rt in doc["record_types"]:
        plan = {f.name: (start, hw, typ) for f, start, hw, typ in plans[rt["name"]]}
        end = 0
        for fd in rt["fields"]:
            start, hw, typ = plan[fd["name"]]
            fd["start"], fd["length"] = start + 1, hw
            if typ != fd["type"]:
                fd["type"] = typ
                fd.pop("sign", None)
            end = max(end, start + hw)
        if end < length:  # pad shorter record types to the block length
            rt["fields"].append({"name": "host_pad", "label": "予備 (ホスト)", "start": end + 1,
                                 "length": length - end, "type": "filler"})
    if doc.get("discriminator"):
        f0 = next(f for f, *_ in next(iter(plans.values())) if f.offset == doc["discriminator"]["start"] - 1)
        start = next(s for f, s, *_ in next(iter(plans.values())) if f is f0)
        doc["discriminator"]["start"] = start + 1
    return doc, length


def _records(path: Path, layout: LegacyLayout) -> Iterator[bytes]:
    data = path.read_bytes()
    if layout.terminator == "none":
        L = layout.record_length or 0
        for i in range(0, len(data) - len(data) % L, L):
            yield data[i:i + L]
        return
    if layout.eof_marker is not None and data.endswith(bytes([layout.eof_marker])):
        data = data[:-1]
    sep = b"\r\n" if layout.terminator == "crlf" else b"\n"
    parts = data.split(sep)
    if parts and parts[-1] == b"":
        parts.pop()
    yield from parts


def _field_bytes(f: Field, typ: str, hw: int, raw: bytes, codec, src_codec, gaiji: _Gaiji, where: str,
                 force_bad: bool) -> bytes:
    w = f.length or 0
    value = raw[f.offset:f.offset + w].ljust(w, b" ")
    if typ == "filler":
        return codec.space * hw
    if f.type == "packed":
        return value
    if f.type == "integer":
        text = value.decode("latin-1").strip()  # a non-digit byte fails int(): the planted defect
        signed = f.name in ("record_count",)
        try:
            return encode_packed(int(text or 0), hw) if typ == "packed" else \
                encode_zoned(int(text or 0), hw, style="ebcdic", signed=signed)
        except ValueError:
            return codec.encode("X" * hw)  # keeps the planted READ-NUMBER
    if force_bad or _undecodable(value, src_codec):
        bad = codec.shift_out + b"\xff\xff" + codec.shift_in
        return bad + codec.space * (hw - len(bad))
    text = src_codec.decode(value).rstrip(" ")
    enc = gaiji.encode(text, where)
    if len(enc) > hw:
        raise ValueError(f"{where}: {text!r} needs {len(enc)} bytes in {codec.name}, the host field has {hw}")
    return enc + codec.space * (hw - len(enc))


def _undecodable(value: bytes, src_codec) -> bool:
    try:
        src_codec.decode(value)
        return False
    except DecodeFailure:
        return True


def write_host_sample(src: str | Path, out: str | Path, encoding: str) -> dict[str, Any]:
    """Write the host version of the CP932 sample in ``src`` to ``out``; returns a summary."""
    src, out = Path(src), Path(out)
    codec = get_codec(encoding)
    if not getattr(codec, "stateful", False):
        raise ValueError(f"{encoding} is not a mainframe encoding (see kikan codecs list)")
    src_codec = get_codec("cp932")
    manifest = yaml.safe_load((src / "manifest.yaml").read_text(encoding="utf-8"))
    out.mkdir(parents=True, exist_ok=True)
    gaiji = _Gaiji(codec)
    truth = pq.read_table(src / "truth" / "records.parquet")
    new_offsets: dict[tuple[str, int], tuple[int, int]] = {}
    retyped: set[tuple[str, int]] = set()
    summary: dict[str, Any] = {"encoding": codec.name, "files": {}}
    for fe in manifest["files"]:
        lay = load_legacy_layout(src / fe["layout"])
        if lay.format == "delimited":   # CSV files (支援措置, 通称): kept as the CP932 CSV they are, like zei/
            shutil.copyfile(src / fe["path"], out / fe["path"])
            shutil.copyfile(src / fe["layout"], out / fe["layout"])
            mine = truth.filter(pc.equal(truth["file_id"], fe["id"]))
            for r, off, ln in zip(mine["record_no"].to_pylist(), mine["offset"].to_pylist(), mine["length"].to_pylist()):
                new_offsets[(fe["id"], r)] = (off, ln)
            summary["files"][fe["id"]] = {"path": fe["path"], "records": mine.num_rows, "record_length": None}
            continue
        plans = _plan(lay)
        doc, length = _host_layout(src / fe["layout"], lay, plans, codec.name)
        (out / fe["layout"]).write_text(f"# ホスト版レイアウト (kikan_hub.sample.host, {codec.name})\n" +
                                        yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=160),
                                        encoding="utf-8")
        by_code = {rt.code: rt for rt in lay.record_types}
        disc = lay.discriminator
        defects = {int(r): c for r, c in zip(
            truth.filter(pc.equal(truth["file_id"], fe["id"]))["record_no"].to_pylist(),
            truth.filter(pc.equal(truth["file_id"], fe["id"]))["defect_class"].to_pylist())}
        n = 0
        with open(out / fe["path"], "wb") as fh:
            for n, raw in enumerate(_records(src / fe["path"], lay), 1):
                code = raw[disc.offset:disc.offset + disc.length].decode("ascii") if disc else None
                rt = by_code[code] if disc else lay.record_types[0]
                force_bad = defects.get(n) == "record_length"
                if force_bad:
                    retyped.add((fe["id"], n))
                parts = []
                for f, _start, hw, typ in plans[rt.name]:
                    bad_here = force_bad and f.name == "shimei"
                    parts.append(_field_bytes(f, typ, hw, raw, codec, src_codec, gaiji,
                                              f"{fe['path']} record {n} field {f.name}", bad_here))
                rec = b"".join(parts)
                fh.write(rec + codec.space * (length - len(rec)))
                new_offsets[(fe["id"], n)] = ((n - 1) * length, length)
        summary["files"][fe["id"]] = {"path": fe["path"], "records": n, "record_length": length}
        fe["encoding"] = codec.name
    (out / "manifest.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False),
                                       encoding="utf-8")
    shutil.copyfile(src / "mapping.yaml", out / "mapping.yaml")
    _write_register(src / manifest["gaiji_register"], out / manifest["gaiji_register"], gaiji)
    _write_truth(src / "truth", out / "truth", new_offsets, retyped)
    for extra in src.iterdir():  # other extracts of the sample (zei/, the tax files): copied unchanged
        if extra.is_dir() and extra.name != "truth":
            shutil.copytree(extra, out / extra.name, dirs_exist_ok=True)
    summary["extra_gaiji"] = {ch: f"U+{ord(p):04X}" for ch, p in gaiji.extra.items()}
    return summary


def _write_register(src: Path, dst: Path, gaiji: _Gaiji) -> None:
    with open(src, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    fields = list(rows[0].keys()) if rows else ["source_system", "source_code", "pua", "glyph_note", "mj", "gj",
                                                   "ucs", "status", "decided_by", "decided_at"]
    system = rows[0]["source_system"] if rows else "旧住記 (架空)"
    for r in rows:
        if r.get("pua"):
            r["source_code"] = gaiji.host_code(chr(int(r["pua"][2:], 16)))
    for ch, pua in gaiji.extra.items():
        rows.append({**{k: "" for k in fields}, "source_system": system, "source_code": gaiji.host_code(pua),
                     "pua": f"U+{ord(pua):04X}", "glyph_note": f"ホストの符号表にない文字 {ch}",
                     "ucs": " ".join(f"{ord(c):04X}" for c in ch), "status": "同定済", "decided_by": "市民課",
                     "decided_at": "2024-02-01"})
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    dst.write_text(buf.getvalue(), encoding="utf-8")


def _write_truth(src: Path, dst: Path, offsets: dict[tuple[str, int], tuple[int, int]],
                 retyped: set[tuple[str, int]]) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for p in src.iterdir():
        if p.is_dir():  # truth of other extracts (truth/zei): not re-encoded, kept as they are
            shutil.copytree(p, dst / p.name, dirs_exist_ok=True)
            continue
        if p.suffix != ".parquet":
            shutil.copyfile(p, dst / p.name)
            continue
        t = pq.read_table(p)
        if p.name == "records.parquet":
            keys = list(zip(t["file_id"].to_pylist(), t["record_no"].to_pylist()))
            t = t.set_column(t.schema.get_field_index("offset"), "offset",
                             pa.array([offsets[k][0] for k in keys], t.schema.field("offset").type))
            t = t.set_column(t.schema.get_field_index("length"), "length",
                             pa.array([offsets[k][1] for k in keys], t.schema.field("length").type))
            dc = [("undecodable" if k in retyped else c) for k, c in zip(keys, t["defect_class"].to_pylist())]
            rule = [("READ-DECODE" if k in retyped else r) for k, r in zip(keys, t["expected_rule"].to_pylist())]
            t = t.set_column(t.schema.get_field_index("defect_class"), "defect_class",
                             pa.array(dc, t.schema.field("defect_class").type))
            t = t.set_column(t.schema.get_field_index("expected_rule"), "expected_rule",
                             pa.array(rule, t.schema.field("expected_rule").type))
        elif "_source_offset" in t.schema.names:
            fid = "JUMIN" if p.name.startswith("jumin") else "SETAI"
            recs = t["_record_no"].to_pylist()
            t = t.set_column(t.schema.get_field_index("_source_offset"), "_source_offset",
                             pa.array([offsets[(fid, r)][0] for r in recs], t.schema.field("_source_offset").type))
        pq.write_table(t, dst / p.name)
