"""`kikan codecs …`: the encodings the reader knows, and strict conversion between them."""
from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from kikan_hub.adapters.codecs import Codec, CodecError, DecodeFailure, EncodeFailure, codec_info, get_codec
from kikan_hub.api.cli_support import fail

app = typer.Typer(
    help="文字コード: 一覧と厳密な変換 (置換文字なし; 読めないバイトは位置を示して終了)。",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

_BLOCK = 4 << 20


@app.callback()
def _codecs() -> None:
    """文字コード。"""


@app.command("list")
def list_codecs(as_json: bool = typer.Option(False, "--json", help="JSON で出力")) -> None:
    """既知の文字コード: 名前、別名、シフト状態の有無、外字領域、ベンダー選択肢 (既定値)。"""
    rows = codec_info()
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{'name':<16}{'stateful':<10}{'gaiji area':<34}aliases / options")
    for r in rows:
        opts = ",".join(f"{k}={'yes' if v is True else 'no' if v is False else v}" for k, v in r["options"].items())
        typer.echo(f"{r['name']:<16}{'yes' if r['stateful'] else 'no':<10}{r['gaiji_area'] or '-':<34}"
                   f"{', '.join(r['aliases']) or '-'}{'  [' + opts + ']' if opts else ''}")


def _safe_cut(codec: Codec, block: bytes) -> int:
    """Where a block may be cut so that decoding can start afresh after it (0: nowhere)."""
    if getattr(codec, "stateful", False):
        si = codec.shift_in  # type: ignore[attr-defined]
        last_si = block.rfind(si)
        last_so = max(block.rfind(so) for so in codec.shift_outs)  # type: ignore[attr-defined]
        if last_so < 0 or last_so < last_si:
            # the tail is single-byte: any byte boundary is safe, but not inside a two-byte shift
            end = len(block)
            if len(si) == 2 and block.endswith(si[:1]):
                end -= 1
            return end
        return last_si + len(si) if last_si >= 0 else 0
    nl = block.rfind(codec.newline)
    return nl + len(codec.newline) if nl >= 0 else 0


@app.command("convert")
def convert(
    src: Path = typer.Argument(..., metavar="IN", help="入力ファイル"),
    dst: Path = typer.Argument(..., metavar="OUT", help="出力ファイル (失敗時は作られない)"),
    from_enc: str = typer.Option(..., "--from", help="入力の文字コード (例: ibm1390, jef-ebcdik:ivs=hd)"),
    to_enc: str = typer.Option(..., "--to", help="出力の文字コード (例: utf-8, cp932)"),
) -> None:
    """IN を --from で厳密に読み、--to で書く。読めないバイト・書けない文字があれば、その位置を示して
    exit 2 (出力は残さない)。置換文字は使わない。"""
    try:
        dec, enc = get_codec(from_enc), get_codec(to_enc)
    except CodecError as exc:
        fail(str(exc))
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    offset = 0
    chars = 0
    try:
        with open(src, "rb") as fin, open(tmp, "wb") as fout:
            carry = b""
            while True:
                block = fin.read(_BLOCK)
                data = carry + block
                if not data:
                    break
                cut = len(data) if not block else _safe_cut(dec, data)
                if cut == 0 and block:
                    carry = data  # no safe place yet: read more
                    continue
                try:
                    text = dec.decode(data[:cut])
                except DecodeFailure as exc:
                    bad = offset + exc.position
                    fail(f"{src}: byte offset {bad}: {exc.data.hex(' ').upper()} を {dec.name} として読めません "
                         f"({exc.reason})")
                try:
                    fout.write(enc.encode(text))
                except EncodeFailure as exc:
                    fail(f"{src}: character {chars + exc.position} (U+{ord(exc.char):04X} {exc.char!r}, in the bytes "
                         f"from offset {offset}) を {enc.name} で書けません ({exc.reason})")
                chars += len(text)
                offset += cut
                carry = data[cut:]
                if not block:
                    break
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        fail(f"{exc.filename or src}: {exc.strerror}")
    except typer.Exit:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, dst)
    typer.echo(f"{src} ({dec.name}, {offset} bytes) → {dst} ({enc.name}, {dst.stat().st_size} bytes, {chars} 文字)",
               err=True)
