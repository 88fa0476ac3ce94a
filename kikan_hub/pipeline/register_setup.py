"""Preflight of the gaiji register for one rehearsal: every row must be able to match a character
of the input and, when identified by MJ only, be resolvable through the MJ index — checked before
the first record is read (exit 2 naming the rows), never found out as 160 unresolved characters.

* ``pua`` left empty is derived from ``source_code`` in the encodings the manifest declares
  (F140 → U+E0BC in CP932);
* an identified row naming ``mj`` without ``ucs`` takes its text from the MJ index: the manifest's
  ``mj_index:`` or the hub's data directory (``kikan gaiji import-mj`` puts it there).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from kikan_hub.adapters.codecs import get_codec
from kikan_hub.gaiji.errors import GaijiError
from kikan_hub.gaiji.register import IDENTIFIED, Decoder, GaijiRegister, GaijiRow, with_derived_pua
from kikan_hub.pipeline.errors import ConfigError


@dataclass(frozen=True)
class PreparedRegister:
    register: GaijiRegister
    mj_index_path: Path | None    # set only when a row needs it
    mj_index_digest: str = ""     # the imported sources of that index (part of the run id)


def decoder_for(encoding: str) -> Decoder:
    """Decode one vendor code's bytes; a shifted (mainframe) codec reads them in double-byte mode."""
    codec = get_codec(encoding)
    if getattr(codec, "stateful", False) and getattr(codec, "shift_out", None):
        return lambda b: codec.decode(codec.shift_out + b + codec.shift_in)
    return codec.decode


def _names(rows: list[GaijiRow], limit: int = 10) -> str:
    shown = ", ".join(f"{r.source_code}{f' ({r.mj})' if r.mj else ''}" for r in rows[:limit])
    return shown + (f" … ({len(rows)} rows)" if len(rows) > limit else "")


def prepare_register(path: Path, source_system: str, encodings: list[str],
                     mj_index_path: Path | None) -> PreparedRegister:
    try:
        reg = GaijiRegister.load(path)
    except GaijiError as exc:
        raise ConfigError(path, str(exc)) from None
    systems = {r.source_system for r in reg.rows}
    # A register shared by several old systems: only this source's rows must match its files.
    own = source_system if source_system in systems else None
    reg, missing = with_derived_pua(reg, [decoder_for(e) for e in sorted(set(encodings))], own)
    if missing:
        raise ConfigError(path, f"外字台帳の行 {_names(missing)} は入力のどの文字にも当たりません: pua が空で、"
                                f"source_code が {'/'.join(sorted(set(encodings)))} の外字領域のコード (例 F140 → U+E0BC) として"
                                f"読めません — pua (U+E0BC) を書くか source_code を直してください "
                                f"(register rows that can match no character of the input)")
    try:
        needs = [r for r in reg.rows if r.pua and r.status == IDENTIFIED and r.mj and not r.ucs]
        if not needs:
            return PreparedRegister(reg, None)
        if mj_index_path is None or not Path(mj_index_path).is_file():
            raise ConfigError(path, f"外字台帳の行 {_names(needs)} は MJ文字図形名だけで同定されていて (ucs が空)、"
                                    f"MJ索引が必要ですが、{mj_index_path} にありません: `kikan gaiji import-mj FILE` で取り込むか、"
                                    f"マニフェストに mj_index: を書くか、ucs を埋めてください "
                                    f"(these rows need the MJ index, none is imported)")
        from kikan_hub.gaiji.mj_index import MJIndex

        with MJIndex.open(mj_index_path) as idx:
            absent = [r for r in needs if idx.get(r.mj) is None]
            digest = json.dumps([(s["name"], s["sha256"], s["rows"]) for s in idx.sources()], ensure_ascii=False)
        if absent:
            raise ConfigError(path, f"外字台帳の行 {_names(absent)} の MJ文字図形名が MJ索引 {mj_index_path} にありません "
                                    f"(MJ names not in the index)")
        return PreparedRegister(reg, Path(mj_index_path), digest)
    except GaijiError as exc:  # an unreadable or empty index
        raise ConfigError(mj_index_path, str(exc)) from None
