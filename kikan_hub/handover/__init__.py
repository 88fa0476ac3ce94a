"""Handover (次々期への移行): export the canonical store as 中間標準レイアウト files with a
manifest, import such files into a fresh store, and verify that they re-import to the same
canonical content. See docs/handover.md.

Dependency arrow: handover imports layouts, gaiji and store; only api imports handover.
"""
