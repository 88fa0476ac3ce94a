"""The fictional old vendor's extract generator (旧住記, ベンダー「架空システム」); see README.md."""
