"""The fleetui terminal app: Fleet, Usage, Costs, Recommendations and Add Model tabs.

Data loads in thread workers and is rendered on the main thread; the visible tab refreshes on a
timer that re-arms only after a load finished, so rounds never overlap. Hidden tabs do not load.
"""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.widgets import Footer, Static, TabbedContent, TabPane

from fleetui.tui.add_model import AddModelTab
from fleetui.tui.base import DataTab
from fleetui.tui.costs_tab import CostsTab
from fleetui.tui.data import Session
from fleetui.tui.fleet_tab import FleetTab
from fleetui.tui.help import HelpScreen
from fleetui.tui.recs_tab import RecommendationsTab
from fleetui.tui.themes import load_themes
from fleetui.tui.usage_tab import UsageTab

REFRESH_S = 15.0
TABS = {"fleet": "Fleet", "usage": "Usage", "costs": "Costs", "recommendations": "Recommendations", "add": "Add Model"}


class FleetApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "fleetui"
    BINDINGS: ClassVar[list[BindingType]] = [
        # The Recommendations tab's keys live here so they work as soon as the tab shows, without
        # first moving focus into its table; `check_action` offers them on that tab only.
        # First, so the footer shows them first: at 80 columns the keys after `c` are cut off.
        Binding("x", "recs('dismiss_rec')", "Dismiss", id="recs.dismiss"),
        Binding("a", "recs('accept_rec')", "Accept", id="recs.accept"),
        Binding("v", "recs('verify_rec')", "Verify", id="recs.verify"),
        Binding("p", "recs('apply_rec')", "Apply", id="recs.apply"),
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", id="help"),
        # Both keys, as README and `?` say: binding `:` alone stops Textual adding its own ctrl+p.
        Binding("colon", "command_palette", "Go to", id="goto"),
        Binding("ctrl+p", "command_palette", "Go to", show=False, id="palette"),
        Binding("r", "refresh", "Refresh", id="refresh"),
        Binding("e", "rules", "Rules", id="rules"),
        Binding("c", "compare", "Compare", id="compare"),
        Binding("o", "roles", "Roles", id="roles"),
        Binding("1", "show_tab('fleet')", "Fleet", show=False, id="tab.fleet"),
        Binding("2", "show_tab('usage')", "Usage", show=False, id="tab.usage"),
        Binding("3", "show_tab('costs')", "Costs", show=False, id="tab.costs"),
        Binding("4", "show_tab('recommendations')", "Recs", show=False, id="tab.recommendations"),
        Binding("5", "show_tab('add')", "Add", show=False, id="tab.add"),
    ]

    def __init__(self, session: Session, *, refresh_s: float = REFRESH_S, probe_s: float | None = None,
                 keymap: dict[str, str] | None = None) -> None:
        """`refresh_s` 0 turns the timers off (tests drive refreshes themselves); `probe_s` None
        probes every `[probes] interval_s` of the fleet file while timers run, 0 never."""
        super().__init__()
        self.session = session
        self.refresh_s = refresh_s
        self.probe_s = (session.fleet.probes.interval_s if refresh_s > 0 else 0) if probe_s is None else probe_s
        self.probe_rounds = 0  # finished probe rounds, for tests to wait on
        self._keymap = keymap or {}
        self.theme_problems: list[str] = []

    def compose(self) -> ComposeResult:
        title = f"fleetui — {self.session.fleet.name} — {self.session.source.path.name}"
        yield Static(title, id="topbar")
        if self.session.demo:
            yield Static("DEMO DATA — generated traffic on the sample fleet, not your apps' usage", id="demo-banner")
        with TabbedContent(initial="fleet", id="tabs"):
            with TabPane(TABS["fleet"], id="fleet"):
                yield FleetTab(self.session)
            with TabPane(TABS["usage"], id="usage"):
                yield UsageTab(self.session)
            with TabPane(TABS["costs"], id="costs"):
                yield CostsTab(self.session)
            with TabPane(TABS["recommendations"], id="recommendations"):
                yield RecommendationsTab(self.session)
            with TabPane(TABS["add"], id="add"):
                yield AddModelTab(self.session)
        # `:` is in the footer already; Textual's own ctrl+p entry, docked right, would cover a key at 80 columns.
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.sub_title = f"{self.session.fleet.name} — {self.session.source.path.name}"
        loaded, problems = load_themes()
        for theme in loaded:
            self.register_theme(theme)
        self.theme_problems = problems
        for problem in problems:
            self.notify(problem, title="Theme skipped", severity="warning", timeout=8)
        if self._keymap:
            self.set_keymap(self._keymap)
        self.refresh_visible()
        if self.refresh_s > 0:
            # Live refresh of the visible tab only; its loads are exclusive, so a slow round is
            # replaced by the next rather than piling up.
            self.set_interval(self.refresh_s, self._refresh_if_idle)
        if self.probe_s > 0:
            # Health on its own: once at start (so the Fleet tab does not say "not probed" for
            # five minutes), then every interval; quietly, on a thread, one round at a time.
            self.set_timer(1.0, self._probe_quietly)
            self.set_interval(self.probe_s, self._probe_quietly)

    def _probe_quietly(self) -> None:
        self.probe_all(announce=False)

    def _refresh_if_idle(self) -> None:
        if len(self.screen_stack) == 1:  # not under a modal or a detail screen
            self.refresh_visible(force=True)

    # -- navigation --------------------------------------------------------------------------

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self.refresh_visible()
        self.focus_visible()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.refresh_visible()
        self.focus_visible()
        self.refresh_bindings()  # the footer offers the keys of the tab now shown

    def focus_visible(self) -> None:
        """Hand the keyboard to the shown tab's main widget: after `1`–`5` its keys (`/`, `s`,
        arrows, `x`…) answer at once. The Add Model form gets no text field, so the next digit
        switches tabs instead of being typed into the id."""
        tab = self.visible_tab()
        if isinstance(tab, DataTab | AddModelTab):
            tab.focus_main()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "compare":
            return len(self.screen_stack) == 1
        if action == "recs":  # on the main screen, not under a detail view or a dialog
            return len(self.screen_stack) == 1 and isinstance(self.visible_tab(), RecommendationsTab)
        return True

    def action_recs(self, name: str) -> None:
        tab = self.visible_tab()
        if isinstance(tab, RecommendationsTab):
            getattr(tab, f"action_{name}")()

    def action_compare(self) -> None:
        """One prompt on several models side by side; the highlighted model comes ticked."""
        from fleetui.tui.compare import ComparePanel

        tab = self.visible_tab()
        chosen = [tab.highlighted_id()] if isinstance(tab, FleetTab) and tab.highlighted_id() else []
        self.push_screen(ComparePanel(self.session, [c for c in chosen if c]))

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_rules(self) -> None:
        from fleetui.tui.rules_editor import RulesEditor

        self.push_screen(RulesEditor(self.session))

    def action_roles(self) -> None:
        from fleetui.tui.roles_editor import RolesEditor

        self.push_screen(RolesEditor(self.session))

    def action_refresh(self) -> None:
        self.refresh_visible(force=True)

    def visible_tab(self) -> Vertical | None:
        try:
            active = self.query_one(TabbedContent).active
        except NoMatches:  # another screen is on top, or the app is shutting down
            return None
        pane = self.query_one(f"#{active}", TabPane)
        children = list(pane.children)
        return children[0] if children else None  # type: ignore[return-value]

    def refresh_visible(self, force: bool = False) -> None:
        tab = self.visible_tab()
        if tab is not None and hasattr(tab, "reload"):
            tab.reload(force) if isinstance(tab, DataTab) else tab.reload()

    def get_system_commands(self, screen):  # type: ignore[no-untyped-def]
        from textual.app import SystemCommand

        yield from super().get_system_commands(screen)
        for tab_id, title in TABS.items():
            yield SystemCommand(f"Go to {title}", f"Show the {title} tab", lambda t=tab_id: self.action_show_tab(t))
        yield SystemCommand("Probe all models", "Probe every enabled model now", self.probe_all)
        yield SystemCommand("Compare models", "One prompt on several models, side by side", self.action_compare)
        yield SystemCommand("Edit routing rules", "Open the rules editor", self.action_rules)
        yield SystemCommand("Edit roles", "What each role is for and which models hold it", self.action_roles)

    @work(exclusive=True, group="probe", thread=True)
    def probe_all(self, announce: bool = True) -> None:
        """Probe every enabled model on a thread (its own event loop); the UI thread never waits."""
        import asyncio

        from fleetui.probes import probe_fleet

        try:
            with self.session.store() as store:
                outcomes = asyncio.run(probe_fleet(self.session.fleet, history=lambda m: store.recent_probes(m, 4)))
                store.record_probes(o.record for o in outcomes)
        except Exception as exc:  # noqa: BLE001 — a locked store or a broken fleet is a message, never a crash
            self.call_from_thread(self.notify, f"{type(exc).__name__}: {exc}", title="Probe failed", severity="error")
            return
        finally:
            self.probe_rounds += 1
        down = [o.model_id for o in outcomes if o.status not in ("online", "degraded")]
        if announce:
            self.call_from_thread(
                self.notify,
                f"{len(outcomes) - len(down)} of {len(outcomes)} models up" + (f"; down: {', '.join(down)}" if down else ""),
                title="Probe",
            )
        self.call_from_thread(self.refresh_visible, True)
