"""Learned routing: a router trained on logged calls with a quality value.

`samples` (reading and checking labelled calls), `features` (hashed words and prompt form),
`fit` (sparse per-model ridge), `calibrate` (the price weight reaching a quality target),
`evaluation` (held-out figures beside baselines), `fileformat` (the saved JSON router),
`train` (the pipeline), `store_data` (labelled calls from the store), `decide` (routing).
Nothing here is imported by `fleetui.routing` unless a fleet uses a learned rule.
"""
