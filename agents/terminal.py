"""The human teacher at a terminal (``dialog-gym interactive``): Rasa's interactive learning, in plain text.
The other human teacher is the web page of ``dialog-gym serve`` (:mod:`agents.web`); both answer the one
correction loop (:mod:`dialog_gym.wrappers`).

Each bot turn the teacher sees the new lines of the dialogue (templates filled), the user's last message
as the NLU understood it with its confidence, the slots, and the learner's most probable allowed actions
with their probabilities, and answers with one line:

==============  =============================================================================
Enter or ``a``  accept the learner's proposal
a number        execute that action instead (numbers of the list shown; ``l`` lists them all)
an action name  execute that action (a unique prefix is enough: ``utter_ask_p``)
``u``           undo the last bot action (and the user's reply to it)
``r``           reset: abandon this dialogue, the fake user starts a new one
``e``           export the session so far as Rasa stories
``q``           quit (asks whether to export first, as Ctrl-C and end of input do)
``l``           list every action allowed now
``t``           show the whole dialogue again
``?``           help
==============  =============================================================================

Anything else re-prompts with a one-line reason. Output is plain text that fits 80 columns; colour
(ANSI) only when the output is a terminal and ``NO_COLOR`` is not set.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable
from typing import Any, TextIO

from dialog_gym.wrappers.teaching import NLU_MARK, Decision, ForcedSteps, StepView, Teacher

WIDTH = 80
UNDO_CONTEXT = 4  #: dialogue lines shown again after an undo

KEYS_LINE = "Enter=accept  number=choose  l=list  u=undo  r=reset  e=export  q=quit  ?=help"

HELP = """\
Keys (type one, then Enter):
  Enter or a   accept the bot's proposal (marked with *)
  1, 2, ...    make the bot do that action instead (a correction: it learns)
  NAME         an action by name; a unique prefix is enough (utter_ask_p)
  l            list every action allowed now, numbered
  t            show the whole dialogue again
  u            undo the last bot action (and the user's reply to it)
  r            reset: drop this dialogue, the fake user starts a new one
  e            export the session so far as Rasa stories
  q            quit (asks whether to export first; so do Ctrl-C and Ctrl-D)
  ?            this help
Masks: the environment's action mask marks which actions make sense now (e.g. no
suggestion before a search); the bot only proposes allowed ones, and a "(masked)"
action cannot be chosen. With masks off (Restaurant-Env2-v0) every action is allowed.
The bot retrains after your corrections (--retrain-every); the session is logged
after every step, so --resume continues it."""

_ANSI = {"bold": "\033[1m", "dim": "\033[2m", "red": "\033[31m", "green": "\033[32m", "cyan": "\033[36m"}
_RESET = "\033[0m"


class TerminalTeacher(Teacher):
    """A human teacher reading ``output`` and typing into ``input`` (default: the process's terminal).

    ``top_k`` actions are shown each turn; ``color`` forces ANSI colour on or off (default: on only when
    ``output`` is a tty and ``NO_COLOR`` is unset). With ``auto_accept_forced`` a step where the mask
    allows one action only (``action_listen`` after an utterance) is taken without asking
    (:class:`~dialog_gym.wrappers.teaching.ForcedSteps`).
    ``transcript_source`` (e.g. ``lambda: env.unwrapped.transcript()``) lets the teacher print the last
    lines of a dialogue that ended (the user's final answer, the bot's goodbye) before the session's
    notice about it: the teacher is not asked again in an ended dialogue, so it would not see them.
    """

    def __init__(self, input: TextIO | None = None, output: TextIO | None = None, *, top_k: int = 5,
                 color: bool | None = None, auto_accept_forced: bool = True,
                 transcript_source: Callable[[], str] | None = None) -> None:
        self.input = input if input is not None else sys.stdin
        self.output = output if output is not None else sys.stdout
        self.top_k = max(1, int(top_k))
        if color is None:
            isatty = getattr(self.output, "isatty", None)
            color = bool(isatty and isatty()) and "NO_COLOR" not in os.environ
        self.color = color
        self.auto_accept_forced = auto_accept_forced
        self.transcript_source = transcript_source
        self._shown_dialogue: int | None = None
        self._shown_lines: list[str] = []
        self._forced = ForcedSteps()
        self._last_view: tuple | None = None

    # ------------------------------------------------------------------ Teacher
    def decide(self, view: StepView) -> Decision:
        forced = self._forced.decide(view) if self.auto_accept_forced else None
        if forced is not None:
            return forced
        ranked = self._ranked(view)
        key = (view.dialogue, view.step, view.transcript, view.proposal, tuple(view.probabilities.tolist()))
        if key == self._last_view:  # asked again (after an export, a refused undo): the list is just above
            self._write(self._paint(f"(bot action {view.step + 1} still: Enter accepts "
                                    f"{view.action_name(view.proposal)})", "dim"))
        else:
            self._show_view(view, ranked)
        self._last_view = key
        while True:
            try:
                line = self._read("> ")
            except KeyboardInterrupt:
                self._write("")
                return self._ask_export("interrupted")
            if line is None:
                self._write("")
                return self._ask_export("end of input")
            decision, reason = self._parse(line.strip(), view, ranked)
            if decision is not None:
                return decision
            if reason:
                self._write(self._paint(reason, "red"))

    def notify(self, message: str) -> None:
        self._catch_up()
        for line in str(message).splitlines() or [""]:
            self._write(self._wrap("* " + line, indent="  "))

    def close(self) -> None:
        self.output.flush()

    # ------------------------------------------------------------------ parsing
    def _parse(self, text: str, view: StepView, ranked: list[tuple[int, float]]) -> tuple[Decision | None, str]:
        """The decision a line means, or ``(None, reason)``; an empty reason means "just ask again"."""
        key = text.lower()
        if key in ("", "a", "accept"):
            return self._choose(view, view.proposal)
        if key in ("u", "undo"):
            self._forced.undone(view)
            return Decision.undo(), ""
        if key in ("r", "reset"):
            return Decision.reset(), ""
        if key in ("e", "export"):
            return Decision.export_stories(), ""
        if key in ("q", "quit", "exit"):
            return self._ask_export("quit"), ""
        if key in ("?", "h", "help"):
            self._write(HELP)
            return None, ""
        if key in ("l", "list"):
            self._show_actions(view, ranked, len(ranked))
            return None, ""
        if key in ("t", "transcript"):
            self._show_transcript(view, full=True)
            return None, ""
        if key.isdigit():
            number = int(key)
            if not 1 <= number <= len(ranked):
                return None, f"no action number {number}: choose 1-{len(ranked)} (l lists them all)"
            return self._choose(view, ranked[number - 1][0])
        names = view.action_names
        if text in names:
            matches = [names.index(text)]
        else:
            matches = [i for i, name in enumerate(names) if name.startswith(text)] if len(text) > 1 else []
        if len(matches) > 1:
            return None, f"{text!r} matches {len(matches)} actions: type more of the name, or a number"
        if len(matches) == 1:
            return self._choose(view, matches[0])
        return None, f"unknown key {text!r}: ? shows the keys"

    def _choose(self, view: StepView, action: int) -> tuple[Decision | None, str]:
        name = view.action_name(action)
        if not view.action_mask[action]:
            return None, f"{name} is masked now; l lists the allowed actions"
        if action == view.proposal:
            return Decision.accept(), ""
        return Decision.correct(action), ""

    def _ask_export(self, why: str) -> Decision:
        """Quit, after asking whether to export the session as stories first."""
        while True:
            try:
                answer = self._read("Export the session as stories before quitting? [y/n] ")
            except KeyboardInterrupt:
                answer = None
            if answer is None:  # no one to answer: the correction log keeps the work anyway
                self._write("")
                self._write(f"quitting ({why}) without export; the correction log keeps the session")
                return Decision.quit(export=False)
            answer = answer.strip().lower()
            if answer in ("y", "yes"):
                return Decision.quit(export=True)
            if answer in ("n", "no"):
                return Decision.quit(export=False)
            self._write(self._paint("please answer y or n", "red"))

    # ------------------------------------------------------------------ display
    def _ranked(self, view: StepView) -> list[tuple[int, float]]:
        """Every allowed action, most probable first: the numbering of this turn."""
        return view.top_actions(len(view.probabilities))

    def _show_view(self, view: StepView, ranked: list[tuple[int, float]]) -> None:
        if view.dialogue != self._shown_dialogue:
            self._write("")
            self._write(self._paint(f"=== dialogue {view.dialogue + 1} ".ljust(WIDTH, "="), "bold"))
        self._show_transcript(view)
        self._write(self._paint(f"--- bot action {view.step + 1} ".ljust(WIDTH, "-"), "dim"))
        self._write(self._wrap(f"user said: {self._last_message(view)}", indent="  "))
        self._write(self._wrap_parts("slots:", self._slots(view.slots), indent="  "))
        self._show_actions(view, ranked, self.top_k)
        self._write(self._paint(KEYS_LINE, "dim"))

    def _show_transcript(self, view: StepView, full: bool = False) -> None:
        """The dialogue lines not shown yet; after an undo, the last few lines; with ``full``, all."""
        lines = view.transcript.splitlines()
        same = view.dialogue == self._shown_dialogue and lines[:len(self._shown_lines)] == self._shown_lines
        if full or view.dialogue != self._shown_dialogue:
            new = lines
        elif same:
            new = lines[len(self._shown_lines):]
        else:  # shorter than what was shown: an undo took lines back
            new = lines[-UNDO_CONTEXT:]
            hidden = len(lines) - len(new)
            self._write(self._paint("(after the undo: the last lines of the dialogue; t shows all)" if hidden
                                    else "(after the undo: the dialogue)", "dim"))
        for line in new:
            self._dialogue_line(line)
        self._shown_dialogue = view.dialogue
        self._shown_lines = lines

    def _dialogue_line(self, line: str) -> None:
        said, nlu, understood = line.partition(NLU_MARK)  # with noise: what the NLU made of it, on its own line
        if nlu and len(line) > WIDTH:
            line = f"{said}\n      [NLU: {understood}"
        text = "\n".join(self._wrap(part, indent="      ") for part in line.split("\n"))
        self._write(self._paint(text, "cyan" if line.startswith("BOT") else None))

    def _catch_up(self) -> None:
        """Print the lines the current dialogue gained since the last view (its end, before a notice)."""
        if self.transcript_source is None or self._shown_dialogue is None:
            return
        lines = self.transcript_source().splitlines()
        if len(lines) > len(self._shown_lines) and lines[:len(self._shown_lines)] == self._shown_lines:
            for line in lines[len(self._shown_lines):]:
                self._dialogue_line(line)
            self._shown_lines = lines

    def _show_actions(self, view: StepView, ranked: list[tuple[int, float]], k: int) -> None:
        shown = ranked[:k]
        if all(a != view.proposal for a, _ in shown):  # a proposal outside the list (or masked) is shown too
            shown = [*shown, (view.proposal, float(view.probabilities[view.proposal]))]
        title = "the bot's choices:" if k >= len(ranked) else f"the bot's {len(shown)} best choices:"
        self._write(title)
        name_width = min(32, max(len(name) for name in view.action_names))  # steady columns
        for a, p in shown:
            number = next((str(n) for n, (b, _) in enumerate(ranked, 1) if b == a), "-")
            mark = "*" if a == view.proposal else " "
            bar = "#" * round(p * 20)
            text = f" {mark}{number:>3}  {view.action_name(a):<{name_width}}  {p:4.2f}  {bar}"
            if not view.action_mask[a]:
                text += " (masked)"
            self._write(self._paint(text[:WIDTH], "bold" if a == view.proposal else None))
        if k < len(ranked):
            self._write(self._paint(f"      ... {len(ranked) - len(ranked[:k])} more allowed (l lists them)", "dim"))

    @staticmethod
    def _last_message(view: StepView) -> str:
        message = view.tracker.latest_message
        if message is None or message.intent_name is None:
            return "(nothing yet)"
        return f"{message.as_story_string()}  (NLU confidence {view.user_confidence:.2f})"

    @staticmethod
    def _slots(slots: dict[str, Any]) -> list[str]:
        """``name=value`` of every set slot (a list slot shows its length)."""
        parts = []
        for name, value in slots.items():
            if value is None:
                continue
            if isinstance(value, (list, tuple)):
                value = f"[{len(value)} item{'s' if len(value) != 1 else ''}]"
            parts.append(f"{name}={value}")
        return parts or ["(none set)"]

    # ------------------------------------------------------------------ io
    def _read(self, prompt: str) -> str | None:
        """One line from the input without its newline, or None at end of input."""
        self.output.write(prompt)
        self.output.flush()
        line = self.input.readline()
        if not line:
            return None
        return line.rstrip("\r\n")

    def _write(self, text: str) -> None:
        self.output.write(text + "\n")
        self.output.flush()

    def _wrap(self, text: str, indent: str = "") -> str:
        if len(text) <= WIDTH:
            return text
        return "\n".join(textwrap.wrap(text, WIDTH, subsequent_indent=indent, break_on_hyphens=False))

    def _wrap_parts(self, head: str, parts: list[str], indent: str = "") -> str:
        """``head`` and ``parts`` joined by two spaces, wrapped at 80 columns between parts only."""
        lines, line = [], head
        for part in parts:
            if len(line) + 2 + len(part) > WIDTH and line.strip():
                lines.append(line)
                line = indent + part
            else:
                line = f"{line}  {part}" if line != head else f"{line} {part}"
        lines.append(line)
        return "\n".join(lines)

    def _paint(self, text: str, style: str | None) -> str:
        if not self.color or style is None:
            return text
        return f"{_ANSI[style]}{text}{_RESET}"
