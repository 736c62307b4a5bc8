"""The config layer: the fleet file's schema, loading and validation, in-place TOML edits.

- `schema`: the pydantic models of the fleet file (what each field means).
- `fleetfile`: finding, reading and validating a fleet file, with file:line for every problem.
- `tomledit`: edits applied in place to the user's TOML text, keeping comments and layout.
- `tomllines`: where each key of a TOML document sits (line and column), for problem reports.

Nothing here imports the router: reading a fleet file stays cheap.
"""
