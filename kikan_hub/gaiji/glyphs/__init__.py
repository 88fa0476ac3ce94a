"""外字同定 by glyph: render a vendor's gaiji font and the MJ reference font (IPAmj明朝) to the same
normalised image, compare, rank.

- ``render``: fonts opened with FreeType (outline TrueType/OpenType, TTE, TTC, bitmap BDF/PCF/FNT),
  glyph inventories (private-use code points; MJ文字図形名 glyph names with their UCS/IVS);
- ``features``: normalised images → vectors (blurred bitmaps + projection profiles), PCA;
- ``reference``: the MJ font's features, cached in the data directory;
- ``match``: ranking (image similarity, refined by the MJ index where the register has hints).
"""
