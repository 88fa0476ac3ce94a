"""外字同定 by glyph: a vendor font of another foundry's design (IPAex明朝) against an IPAmj明朝
subset — ranking, output form, register hints, the feature cache and the command line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .glyph_fonts import VENDOR_CHARS, build_mj_subset, build_vendor, reference_chars

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fonts(tmp_path_factory):
    d = tmp_path_factory.mktemp("glyphs")
    mj = build_mj_subset(d / "mj-subset.ttf", reference_chars())
    origin = build_vendor(d / "vendor.ttf")
    return d, mj, d / "vendor.ttf", origin


@pytest.fixture(scope="module")
def reference(fonts):
    from kikan_hub.gaiji.glyphs.reference import load_reference

    d, mj, _, _ = fonts
    return load_reference(mj, d / "data")


def _truth(reference) -> dict[str, str]:
    return {t: m for m, t in zip(reference.mj, reference.text) if len(t) == 1}


def test_subset_reference_has_mj_names_and_ivs_variants(reference):
    assert len(reference.mj) > len(reference_chars())          # the IVS variants came along
    ivs = [t for t in reference.text if len(t) == 2]
    assert any(t[0] == "葛" for t in ivs) and any(t[0] == "辻" for t in ivs)
    assert all(m.startswith("MJ") and len(m) == 8 for m in reference.mj)


def test_ranking_finds_the_mj_glyph_of_another_design(fonts, reference):
    from kikan_hub.gaiji.glyphs.match import match_font
    from kikan_hub.gaiji.glyphs.render import GlyphRenderer

    _, _, vendor, origin = fonts
    matches = match_font(GlyphRenderer(vendor), reference, top=5)
    truth = _truth(reference)
    assert [m.pua for m in matches] == [f"U+{0xE000 + i:04X}" for i in range(len(VENDOR_CHARS))]
    top1 = [m.candidates[0]["mj"] == truth[origin[int(m.pua[2:], 16)]] for m in matches]
    top5 = [truth[origin[int(m.pua[2:], 16)]] in [c["mj"] for c in m.candidates] for m in matches]
    wrong = [origin[int(m.pua[2:], 16)] for m, ok in zip(matches, top1) if not ok]
    assert all(top5), "every vendor character has its MJ among the first five"
    assert sum(top1) >= len(top1) - 2, f"top-1 wrong for {wrong}"
    # look-alike pairs are told apart: 高 and 髙, 未 and 末, 己 and 已 get different first candidates
    first = {origin[int(m.pua[2:], 16)]: m.candidates[0]["mj"] for m in matches}
    for a, b in ("高髙", "未末", "己已", "土士"):
        assert first[a] != first[b]


def test_output_entries_have_the_issue_form(fonts, reference):
    from kikan_hub.gaiji.glyphs.match import match_font
    from kikan_hub.gaiji.glyphs.render import GlyphRenderer

    _, _, vendor, origin = fonts
    m = match_font(GlyphRenderer(vendor), reference, top=3)[1].as_dict()
    assert set(m) == {"pua", "source_code", "candidates"}
    assert m["pua"] == "U+E001" and m["source_code"] == "F041"        # CP932 user-defined area
    assert len(m["candidates"]) == 3
    assert all(set(c) == {"mj", "ucs", "score"} for c in m["candidates"])
    best = m["candidates"][0]
    assert best == {"mj": "MJ028902", "ucs": "9AD9", "score": best["score"]}     # 髙
    assert 0.5 < best["score"] <= 1.0
    assert [c["score"] for c in m["candidates"]] == sorted((c["score"] for c in m["candidates"]), reverse=True)


def test_register_note_brings_a_cited_mj_forward(fonts, reference, tmp_path, mj_index):
    """A note citing an MJ number adds that candidate even where the image alone does not rank it."""
    from kikan_hub.gaiji.glyphs.match import Hints, match_font
    from kikan_hub.gaiji.glyphs.render import GlyphRenderer
    from kikan_hub.gaiji.register import GaijiRegister, GaijiRow

    _, _, vendor, origin = fonts
    plain = match_font(GlyphRenderer(vendor), reference, top=3)[0]        # 高
    unrelated = next(m for m, t in zip(reference.mj, reference.text) if t == "川")
    assert unrelated not in [c["mj"] for c in plain.candidates]
    reg = GaijiRegister([GaijiRow("旧住基", "F040", pua="U+E000", glyph_note=f"{unrelated} と聞いた")], tmp_path / "r.csv")
    hinted = match_font(GlyphRenderer(vendor), reference, top=3, hints=Hints(reg, mj_index))[0]
    assert unrelated in [c["mj"] for c in hinted.candidates]
    assert hinted.hints == [f"mj {unrelated}"]


def test_feature_cache_is_built_once(fonts, reference):
    from kikan_hub.gaiji.glyphs.reference import load_reference

    d, mj, _, _ = fonts
    again = load_reference(mj, d / "data")
    assert again.build_seconds is None and again.cache_path == reference.cache_path
    assert again.mj == reference.mj
    assert (again.coarse == reference.coarse).all()


def kikan(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    e = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "kikan_hub.api.cli", "gaiji", *args], capture_output=True, text=True,
                          cwd=PROJECT, env=e)


def test_cli_writes_candidates_json(fonts, tmp_path):
    d, mj, vendor, origin = fonts
    out = tmp_path / "candidates.json"
    p = kikan("match-glyphs", str(vendor), "--mj-font", str(mj), "--top", "2", "--out", str(out),
              "--data-dir", str(tmp_path / "data"))
    assert p.returncode == 0, p.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert len(data) == len(VENDOR_CHARS)
    assert data[0]["pua"] == "U+E000" and data[0]["source_code"] == "F040" and len(data[0]["candidates"]) == 2
    assert "特徴量を作成" in p.stderr                               # first run builds the cache …
    p2 = kikan("match-glyphs", str(vendor), "--mj-font", str(mj), "--data-dir", str(tmp_path / "data"))
    assert p2.returncode == 0 and "特徴量を作成" not in p2.stderr   # … the second reads it
    assert json.loads(p2.stdout)[0]["candidates"][0] == data[0]["candidates"][0]


def test_cli_without_mj_font_names_the_debian_package(fonts, tmp_path):
    _, _, vendor, _ = fonts
    env = {"KIKAN_MJ_FONT": "", "PATH": str(tmp_path)}     # no fontconfig on the PATH
    p = subprocess.run([sys.executable, "-m", "kikan_hub.api.cli", "gaiji", "match-glyphs", str(vendor)],
                       capture_output=True, text=True, cwd=PROJECT, env={**os.environ, **env})
    assert p.returncode == 2
    assert "fonts-ipamj-mincho" in p.stderr and "Traceback" not in p.stderr


def test_cli_font_without_private_use_glyphs_is_exit_2(fonts, tmp_path):
    _, mj, _, _ = fonts
    p = kikan("match-glyphs", str(mj), "--mj-font", str(mj), "--data-dir", str(tmp_path / "data"))
    assert p.returncode == 2 and "private-use" in p.stderr and "Traceback" not in p.stderr
    p = kikan("match-glyphs", str(tmp_path / "nope.tte"), "--mj-font", str(mj))
    assert p.returncode == 2 and "nope.tte" in p.stderr


def test_bitmap_vendor_font_24px(fonts, reference, tmp_path):
    """A BDF bitmap font (24×24 cells) rendered from IPAmj's IVS glyphs is read and ranked too."""
    from kikan_hub.gaiji.glyphs.match import match_font
    from kikan_hub.gaiji.glyphs.render import GlyphRenderer
    from kikan_hub.gaiji.glyphs.vendor_font import build_bitmap_font, render_mono

    d, mj, _, _ = fonts
    rows = [i for i, t in enumerate(reference.text) if len(t) == 2][:12]
    cells = render_mono(mj, [int(reference.gids[i]) for i in rows], 24)
    build_bitmap_font(cells, tmp_path / "v.bdf")
    font = GlyphRenderer(tmp_path / "v.bdf")
    assert not font.face.is_scalable
    matches = match_font(font, reference, top=5)
    hits = [reference.mj[i] in [c["mj"] for c in m.candidates] for i, m in zip(rows, matches)]
    assert sum(hits) >= len(hits) - 1
