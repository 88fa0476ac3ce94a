"""外字同定の確認ページ (`kikan gaiji review`): the staff who decide see each undecided vendor glyph
beside its MJ candidates and record a decision in the gaiji register."""
