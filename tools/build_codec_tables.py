#!/usr/bin/env python3
"""Compile the mainframe code tables that ship inside the package.

    python tools/build_codec_tables.py /path/to/reference/data

reads ICU's mapping files (``enc/ucm/ibm-*.ucm``, Unicode License V3) and the jef4j vendor
tables (``enc/jef4j/*_mapping.json``, Apache-2.0), and writes
``kikan_hub/adapters/codec_tables/tables.npz`` (compressed numpy arrays, one group per source
table), the two licence files and ``PROVENANCE.md`` (source file names, sizes and SHA-256).

Each source table becomes four arrays, ``<table>.code`` (uint32: the byte code, big-endian
value), ``<table>.nbytes`` (uint8: 1 or 2), ``<table>.cps`` / ``<table>.cpoff`` (the Unicode
text of each entry as code points, CSR style), ``<table>.flags`` (uint16, the vendor's options
as bits, see ``FLAGS`` in ``kikan_hub/adapters/codec_tables/__init__.py``) and, for jef4j
tables, ``<table>.hd`` / ``<table>.aj1`` (uint32: the Hanyo-Denshi / Adobe-Japan1 variation
selector of the entry, 0 when none). Nothing is decided here: which entries a codec uses is
chosen at run time from the declared options, so the compiled file keeps the sources' content
whole. The product never reads the reference folder; only this script does.
"""
from __future__ import annotations

import hashlib
import io
import json
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from kikan_hub.adapters.codec_tables import FLAGS, TABLES_FILE  # noqa: E402

OUT = TABLES_FILE.parent
UCM = {"ibm-930": "ibm-930_P120-1999.ucm", "ibm-939": "ibm-939_P120-1999.ucm",
       "ibm-1390": "ibm-1390_P110-2003.ucm", "ibm-1399": "ibm-1399_P110-2003.ucm"}
JEF4J = ["fujitsu_jef", "fujitsu_ebcdic", "fujitsu_ebcdik", "fujitsu_ascii", "hitachi_keis78", "hitachi_keis83",
         "hitachi_ebcdic", "hitachi_ebcdik", "nec_jips", "nec_jis8", "nec_ebcdik"]
UCM_FLAG = {"0": 0, "1": FLAGS["encode_only"], "3": FLAGS["decode_only"]}  # |2 (subchar1 substitution) skipped


def read_ucm(path: Path) -> list[tuple[int, int, list[int], int]]:
    rows = []
    in_map = False
    for line in path.read_text(encoding="ascii").splitlines():
        line = line.strip()
        if line == "CHARMAP":
            in_map = True
            continue
        if line == "END CHARMAP":
            break
        if not in_map or not line.startswith("<U"):
            continue
        uni, rest = line.split(None, 1)
        bs, _, flag = rest.partition("|")
        flag = flag.strip()
        if flag not in UCM_FLAG:
            continue
        cps = [int(u, 16) for u in uni.replace("<U", " ").replace(">", " ").split()]
        code = bytes(int(b, 16) for b in bs.strip().replace("\\x", " ").split())
        rows.append((int.from_bytes(code, "big"), len(code), cps, UCM_FLAG[flag], 0, 0))
    return rows


def read_jef4j(path: Path) -> list[tuple[int, int, list[int], int, int, int]]:
    rows = []
    for e in json.loads(path.read_text(encoding="utf-8")):
        flags = 0
        for opt in e.get("options", []):
            if opt not in FLAGS:
                raise SystemExit(f"{path.name}: unknown option {opt!r} in {e}")
            flags |= FLAGS[opt]
        cps = [int(u, 16) for u in e["unicode"].split()]
        if "sp" in e:  # a second code point that is part of the character (e.g. a combining sound mark)
            cps.append(int(e["sp"], 16))
        code = e["code"]
        rows.append((int(code, 16), len(code) // 2, cps, flags, int(e.get("hd", "0"), 16), int(e.get("aj1", "0"), 16)))
    return rows


def pack(prefix: str, rows: list, arrays: dict[str, np.ndarray]) -> None:
    cpoff = np.zeros(len(rows) + 1, dtype=np.uint32)
    cps: list[int] = []
    for i, r in enumerate(rows):
        cps.extend(r[2])
        cpoff[i + 1] = len(cps)
    arrays[f"{prefix}.code"] = np.array([r[0] for r in rows], dtype=np.uint32)
    arrays[f"{prefix}.nbytes"] = np.array([r[1] for r in rows], dtype=np.uint8)
    arrays[f"{prefix}.cps"] = np.array(cps, dtype=np.uint32)
    arrays[f"{prefix}.cpoff"] = cpoff
    arrays[f"{prefix}.flags"] = np.array([r[3] for r in rows], dtype=np.uint16)
    if any(r[4] or r[5] for r in rows):
        arrays[f"{prefix}.hd"] = np.array([r[4] for r in rows], dtype=np.uint32)
        arrays[f"{prefix}.aj1"] = np.array([r[5] for r in rows], dtype=np.uint32)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    ref = Path(argv[0])
    arrays: dict[str, np.ndarray] = {}
    sources: list[tuple[str, Path]] = []
    for name, fname in UCM.items():
        p = ref / "enc" / "ucm" / fname
        pack(name, read_ucm(p), arrays)
        sources.append((name, p))
    for name in JEF4J:
        p = ref / "enc" / "jef4j" / f"{name}_mapping.json"
        pack(name, read_jef4j(p), arrays)
        sources.append((name, p))
    p = ref / "enc" / "jef4j" / "nec_jis8_ebcdik_mapping.json"
    pairs = json.loads(p.read_text(encoding="utf-8"))
    arrays["nec_jis8_ebcdik.map"] = np.array([int(e["ebcdik"], 16) for e in sorted(pairs, key=lambda e: int(e["jis8"], 16))],
                                             dtype=np.uint8)
    sources.append(("nec_jis8_ebcdik", p))
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    OUT.mkdir(parents=True, exist_ok=True)
    TABLES_FILE.write_bytes(buf.getvalue())
    shutil.copyfile(ref / "enc" / "ucm" / "LICENSE-unicode-org-icu-data.txt", OUT / "LICENSE-unicode-org-icu-data.txt")
    shutil.copyfile(ref / "enc" / "jef4j" / "LICENSE-jef4j-Apache-2.0.txt", OUT / "LICENSE-jef4j-Apache-2.0.txt")
    lines = [
        "# Provenance of the compiled code tables",
        "",
        f"`{TABLES_FILE.name}` is generated by `tools/build_codec_tables.py` from the files below; rebuild it",
        "with `python tools/build_codec_tables.py REFERENCE_DATA_DIR` (the folder holding `enc/ucm` and",
        "`enc/jef4j`). The content of every source entry is kept (code, text, the vendor's options); which",
        "entries a codec uses is chosen at run time (see docs/mainframe-encodings.md).",
        "",
        "| table | source file | bytes | SHA-256 | licence |",
        "|---|---|---|---|---|",
    ]
    for name, path in sources:
        data = path.read_bytes()
        lic = "Unicode License V3 (LICENSE-unicode-org-icu-data.txt)" if path.suffix == ".ucm" else \
            "Apache-2.0 (LICENSE-jef4j-Apache-2.0.txt)"
        lines.append(f"| {name} | {path.parent.name}/{path.name} | {len(data)} | {hashlib.sha256(data).hexdigest()} | {lic} |")
    lines += [
        "",
        "ICU mapping files: © Unicode, Inc., from the ICU project's `icu-data` (charset/data/ucm), Unicode",
        "License V3. jef4j tables: © Hidekatsu Izuno, https://github.com/hidekatsu-izuno/jef4j",
        "(src/test/resources), Apache License 2.0; they were compiled by the jef4j author from publicly",
        "available vendor documents (Fujitsu JEF, Hitachi KEIS 78/83, NEC JIPS), not from the vendors' own",
        "machine-readable tables, which are not published.",
        "",
        "Not taken from a table but from the vendors' documented layout of the user-defined (gaiji) areas:",
        "the mapping of those areas to the Private Use Area, row by row from U+E000 (94 cells a row) —",
        "JEF 0x80A1–0xA0FE, KEIS 0x81A1–0xA0FE, JIPS G0 0x7421–0x7E7E (U+E000…) and G1 0xE0A1–0xFEFE",
        "(U+E40A…). IBM's user-defined area 0x6941–0x7FFE → U+E000… comes from the ICU tables themselves.",
        "",
    ]
    (OUT / "PROVENANCE.md").write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {TABLES_FILE} ({TABLES_FILE.stat().st_size} bytes), {len(sources)} source tables")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
