"""Replay and verify: try cheaper models on real past prompts, judged, before switching."""

from __future__ import annotations

from fleetui.replay.runner import Progress, Replayer, ReplayError, ReplaySettings, Report

__all__ = ["Progress", "ReplayError", "ReplaySettings", "Replayer", "Report"]
