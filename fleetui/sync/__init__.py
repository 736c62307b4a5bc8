"""Sharing a fleet with a team: the same tree of files to a git remote (`git.py`) or an
S3-compatible bucket (`s3.py`), and back.

The tree (`tree.py`) is the fleet file as the user wrote it, rankings per use case, one file per
model with its metadata, prices, health and usage, the recommendations and a short README. A pull
brings a teammate's fleet file in through a three-way merge (`merge.py`) and imports their
rankings and model metadata into the store, marked with where they came from.
"""

from __future__ import annotations


class SyncError(Exception):
    """A sync that could not be done; one line that says what failed, where, and what to do.
    Raised before anything local is changed, or after everything local is consistent."""
