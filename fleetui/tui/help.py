"""`?`: the keys, and where to look next."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# fleetui keys

| key | what |
|---|---|
| `1`–`5` | Fleet, Usage, Costs, Recommendations, Add Model |
| `:` or `ctrl+p` | command palette: go to a tab, probe all models, change theme |
| `/` | filter the fleet table; `esc` clears |
| `s` | change the fleet table's sort (name, cost, calls, price) |
| `enter` | open the selected model: `t` test, `ctrl+e` edit, `d` disable/enable, `p` probe, `x` remove, `esc` back |
| `a` / `x` / `p` / `v` | on a recommendation: accept, dismiss, apply (shows the diff, asks, writes), verify (replays past prompts on the cheaper model, a judge scores both answers; the plan and its budget first, `esc` cancels) |
| `y` | on the Fleet tab, when `[sync]` names a git remote or a bucket: sync now (pull, commit, push / publish); the last sync shows under the table |
| `c` | compare: one prompt on several models at once, replies side by side (the highlighted model comes ticked) |
| `r` | refresh the visible tab |
| `e` | edit routing rules: conditions checked as you type, try a prompt, `n` new, `x` remove, `ctrl+s` saves |
| `o` | edit roles: what each is for and which models hold it (renames follow into rules and budgets), `ctrl+s` saves |
| `q` | quit |

Keys can be remapped in `~/.config/fleetui/keymap.toml` (`binding-id = "key"`, ids such as
`fleet.filter`, `recs.dismiss`). Themes: `*.toml` files in `fleetui locate themes`.

No calls yet? Add the shim to your app (`from fleetui.shim import instrument`), or run
`fleetui --demo` to look around. No keys? `fleetui key set OPENAI_API_KEY`, or an env var.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "dismiss", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(HELP)
