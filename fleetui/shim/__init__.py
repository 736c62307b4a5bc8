"""The logging shim: drop into an app to record every LLM call into fleetui's store.

    from fleetui.shim import instrument, track, feedback
    client = instrument(openai.OpenAI())          # every call now recorded
    with track(model="my-model", task="summarize") as call:
        reply = my_client.generate(...)
        call.record(response=reply.text, input_tokens=..., output_tokens=...)

Importing this costs almost nothing: no Textual, no numpy, not even the store until the first
call is written, and that happens on a background thread.
"""

from fleetui.shim.recorder import Recorder, configure, default_recorder
from fleetui.shim.sdk import instrument
from fleetui.shim.track import (
    TrackedCall, abandoned, attributes, current, feedback, flush, follow_up, log_decision, track,
)

__all__ = [
    "Recorder", "TrackedCall", "abandoned", "attributes", "configure", "current", "default_recorder",
    "feedback", "flush", "follow_up", "instrument", "log_decision", "track",
]
