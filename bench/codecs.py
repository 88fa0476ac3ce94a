"""Benchmark: decode throughput of the mainframe codecs against Python's own cp932 codec on the
same text, measured in the same run.

    .venv/bin/python bench/codecs.py [--records 50000] [--repeat 3] [--codecs ibm930,ibm1390,...]

The text is 住民記録-like fixed records (kana and kanji names, addresses, digits), each record
ending in a newline as the reader joins a column; every codec decodes its own encoding of that
same text. Throughput is MB of encoded input per second; the ratio is cp932 time / codec time on
the same characters (target: ≥ 1/3, i.e. within 3×).

Two measurements: "whole" decodes the whole text in one call (best of --repeat); "blocks" cuts
it into blocks of --block records, times each block --repeat times and sums the best times —
on a shared machine this keeps other processes' bursts out of both sides of the ratio.
"""
from __future__ import annotations

import argparse
import random
import sys
import time

from kikan_hub.adapters.codecs import get_codec

SURNAMES = "佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 井上 木村 林 斎藤 清水".split()
GIVEN = "太郎 花子 一郎 次郎 美咲 大輔 陽子 健一 直美 翔太 結衣 拓也 恵子 誠 由美".split()
KANA = "ｻﾄｳ ｽｽﾞｷ ﾀｶﾊｼ ﾀﾅｶ ｲﾄｳ ﾜﾀﾅﾍﾞ ﾔﾏﾓﾄ ﾅｶﾑﾗ ｺﾊﾞﾔｼ ｶﾄｳ".split()
TOWNS = "本町 栄町 緑町 旭町 中央 東町 西町 南町 北町 新町".split()
DEFAULT = "ibm930,ibm939,ibm1390,ibm1399,jef-ebcdik,keis83,jips-j,jips-e"


def records(n: int, seed: int, upper_only: bool) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        kana = rnd.choice(KANA) if not upper_only else "YAMADA"
        out.append(f"{i:010d}{kana:<12}{rnd.choice(SURNAMES)}　{rnd.choice(GIVEN)}"
                   f"{rnd.randrange(1, 99):02d}{rnd.choice(TOWNS)}{rnd.randrange(1, 30)}丁目{rnd.randrange(1, 40)}番地"
                   f"{rnd.randrange(19000101, 20241231)}\n")
    return out


def best(fn, data, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(data)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--block", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--codecs", default=DEFAULT)
    args = ap.parse_args()
    print("command:", " ".join([sys.executable, *sys.argv]))
    print(f"{'codec':<16}{'MB in':>7}{'whole MB/s':>12}{'cp932':>8}{'ratio':>7}{'blocks MB/s':>13}{'cp932':>8}{'ratio':>7}")
    worst = None
    for name in args.codecs.split(","):
        codec = get_codec(name)
        # the 939/1399/ebcdic single-byte sets have no half-width katakana: latin readings instead
        upper = name.startswith(("ibm939", "ibm1399")) or "ebcdic" in name
        recs = records(args.records, args.seed, upper)
        text = "".join(recs)
        data = codec.encode(text)
        ref = text.encode("cp932")
        assert codec.decode(data) == text
        t_codec = best(codec.decode, data, args.repeat)
        t_ref = best(lambda b: b.decode("cp932"), ref, args.repeat)
        bt_codec = bt_ref = 0.0
        for i in range(0, len(recs), args.block):
            block = "".join(recs[i:i + args.block])
            bt_codec += best(codec.decode, codec.encode(block), args.repeat)
            bt_ref += best(lambda b: b.decode("cp932"), block.encode("cp932"), args.repeat)
        ratio, bratio = t_ref / t_codec, bt_ref / bt_codec
        worst = bratio if worst is None else min(worst, bratio)
        mb, mbr = len(data) / 1e6, len(ref) / 1e6
        print(f"{name:<16}{mb:>7.1f}{mb / t_codec:>12.1f}{mbr / t_ref:>8.1f}{ratio:>7.2f}"
              f"{mb / bt_codec:>13.1f}{mbr / bt_ref:>8.1f}{bratio:>7.2f}")
    print(f"slowest codec (blocks) at {worst:.2f}x cp932's speed on the same text "
          f"({'within' if worst >= 1 / 3 else 'NOT within'} the 3x target)")


if __name__ == "__main__":
    main()
