"""Benchmark: gaiji resolution over 1,000,000 names with 1% gaiji, against a plain str.translate
baseline in the same run.

    .venv/bin/python bench/gaiji.py [--n 1000000] [--rate 0.01]
"""
from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from kikan_hub.gaiji.resolve import Resolver

SURNAMES = "佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 井上 木村 林 斎藤 清水".split()
GIVEN = "太郎 花子 一郎 次郎 美咲 大輔 陽子 健一 直美 翔太 結衣 拓也 恵子 誠 由美".split()
HEADER = "source_system,source_code,pua,glyph_note,mj,gj,ucs,status,decided_by,decided_at\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--rate", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    # 40 register rows (F040…), 38 identified with a UCS, 2 left unidentified
    targets = ["髙", "﨑", "𠮷", "辻\U000E0102", "德", "濵", "邊", "邉", "齋", "槗"] * 4
    with tempfile.TemporaryDirectory() as tmp:
        reg = Path(tmp) / "gaiji_register.csv"
        lines = []
        for i, t in enumerate(targets):
            code = f"F0{0x40 + i:02X}"
            ucs = " ".join(f"{ord(c):04X}" for c in t)
            status = "未同定" if i >= 38 else "同定済"
            lines.append(f"旧住記,{code},U+{0xE000 + i:04X},,,,{'' if i >= 38 else ucs},{status},bench,2024-04-01\n")
        reg.write_text(HEADER + "".join(lines), encoding="utf-8")
        t0 = time.perf_counter()
        resolver = Resolver.from_register(reg)
        t_build = time.perf_counter() - t0

    names = []
    for _ in range(args.n):
        s = rnd.choice(SURNAMES) + "\u3000" + rnd.choice(GIVEN)
        if rnd.random() < args.rate:
            k = rnd.randrange(len(s))
            s = s[:k] + chr(0xE000 + rnd.randrange(len(targets))) + s[k + 1:]
        names.append(s)
    arr = pa.array(names, type=pa.string())
    table = {ord(k): v for k, v in resolver.table.items()}

    t0 = time.perf_counter()
    baseline = [s.translate(table) for s in names]
    t_base = time.perf_counter() - t0

    t0 = time.perf_counter()
    resolved, unresolved = resolver.resolve_array(arr)
    t_res = time.perf_counter() - t0

    assert resolved.to_pylist() == baseline, "resolver and baseline disagree"
    gaiji_rows = sum(1 for s in names if any(0xE000 <= ord(c) <= 0xF8FF for c in s))
    print(f"names: {args.n:,}  with gaiji: {gaiji_rows:,} ({gaiji_rows / args.n:.2%})  unresolved occurrences: {len(unresolved):,}")
    print(f"resolver build (register → table):          {t_build * 1000:8.1f} ms")
    print(f"baseline  [s.translate(table) for s in list]: {t_base * 1000:8.1f} ms")
    print(f"Resolver.resolve_array (pyarrow):             {t_res * 1000:8.1f} ms")
    print(f"ratio resolve_array / baseline: {t_res / t_base:.2f}  (speed-up {t_base / t_res:.1f}x)")


if __name__ == "__main__":
    main()
