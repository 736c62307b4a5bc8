"""The config layer: the fleet file's schema, loading and validation, in-place TOML edits, and
the one writer of the user's files.

- `schema`: the pydantic models of the fleet file (a description on every field).
- `fleetfile`: finding, reading, validating and saving a fleet file.
- `problems`: what is wrong, as `file:line:column: field: what is wrong; what to do`.
- `tomllines`: where each key and value of a TOML document sits, and the shapes refused before parsing.
- `tomledit`: edits applied in place to the user's TOML text, keeping comments and layout.
- `writer`: the one atomic writer (temp file, fsync, rename, mode kept, `.bak` only on change).
- `change`: a change to the fleet file as text, with its diff, written through the writer.
- `keymap`: the user's keymap file.

Nothing here imports the router or the UI: reading a fleet file stays cheap.
"""
