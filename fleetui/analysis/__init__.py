"""From logged calls to what to change: use cases, rankings, recommendations, replays."""
