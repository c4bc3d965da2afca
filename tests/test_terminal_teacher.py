"""The terminal teacher, fed hand-made StepViews through in-memory streams."""

from __future__ import annotations

import dataclasses
import io

import gymnasium as gym
import numpy as np
import pytest

import dialog_gym  # noqa: F401  (registers the environments)
from agents.terminal import TerminalTeacher
from dialog_gym.experts import RestaurantExpert
from dialog_gym.wrappers.teaching import Command, Decision, StepView

# At the start of a dialogue (the user said hello) the mask allows exactly these 7 actions.
START_ALLOWED = ["utter_greet", "utter_ask_cuisine", "utter_ask_howcanhelp", "utter_ask_location",
                 "utter_ask_numpeople", "utter_ask_price", "utter_ask_rephrase"]
# The learner's distribution at the start, by hand (everything else 0).
START_PROBS = {"utter_ask_howcanhelp": 0.5, "utter_greet": 0.3, "utter_ask_cuisine": 0.1,
               "utter_ask_location": 0.05, "utter_ask_numpeople": 0.03, "utter_ask_price": 0.02}


def _view(env: gym.Env, probs: dict[str, float], proposal: str, dialogue: int = 0, step: int = 0) -> StepView:
    u = env.unwrapped
    p = np.zeros(u.domain.num_actions)
    for name, value in probs.items():
        p[u.domain.index_for_action(name)] = value
    return StepView(domain=u.domain, tracker=u.tracker.copy(), transcript=u.transcript(),
                    proposal=u.domain.index_for_action(proposal), probabilities=p,
                    action_mask=u.action_masks().astype(np.int8), dialogue=dialogue, step=step,
                    user_confidence=float(u.tracker.latest_message.intent.get("confidence", 1.0)),
                    slots=u.tracker.current_slot_values())


@pytest.fixture()
def env() -> gym.Env:
    env = gym.make("dialog_gym/Restaurant-v0")
    env.reset(seed=3)
    return env


@pytest.fixture()
def start(env: gym.Env) -> StepView:
    return _view(env, START_PROBS, "utter_ask_howcanhelp")


def _run(view: StepView, typed: str, **kwargs) -> tuple[Decision, str, TerminalTeacher]:
    out = io.StringIO()
    teacher = TerminalTeacher(io.StringIO(typed), out, **kwargs)
    decision = teacher.decide(view)
    return decision, out.getvalue(), teacher


def _index(view: StepView, name: str) -> int:
    return view.domain.index_for_action(name)


def test_start_mask_is_the_one_the_tests_assume(start: StepView) -> None:
    allowed = [start.action_name(i) for i in np.flatnonzero(start.action_mask)]
    assert sorted(allowed) == sorted(START_ALLOWED)


def test_the_screen_shows_dialogue_message_slots_and_ranked_actions(start: StepView) -> None:
    _, text, _ = _run(start, "\n")
    lines = text.splitlines()
    assert lines[:4] == [
        "",
        "=== dialogue 1 " + "=" * 65,
        "USER: hello",
        "--- bot action 1 " + "-" * 63,
    ]
    assert lines[4] == "user said: greet  (NLU confidence 1.00)"
    assert lines[5] == "slots: (none set)"
    assert lines[6] == "the bot's 5 best choices:"
    # * marks the proposal; bars are 20 # for probability 1
    assert lines[7:12] == [
        " *  1  utter_ask_howcanhelp        0.50  ##########",
        "    2  utter_greet                 0.30  ######",
        "    3  utter_ask_cuisine           0.10  ##",
        "    4  utter_ask_location          0.05  #",
        "    5  utter_ask_numpeople         0.03  #",
    ]
    assert lines[12] == "      ... 2 more allowed (l lists them)"
    assert lines[13].startswith("Enter=accept  number=choose")
    assert lines[14] == "> "
    assert all(len(line) <= 80 for line in lines)
    assert "\033[" not in text  # not a tty: no colour


@pytest.mark.parametrize("typed", ["\n", "a\n", "A\n", "accept\n", "1\n", "utter_ask_howcanhelp\n"])
def test_accept_keys(start: StepView, typed: str) -> None:
    decision, _, _ = _run(start, typed)
    assert decision == Decision.accept()


@pytest.mark.parametrize(("typed", "name"), [
    ("2\n", "utter_greet"),
    ("3\n", "utter_ask_cuisine"),
    (" 7 \n", "utter_ask_rephrase"),  # the 7th allowed action: probability 0, still choosable
    ("utter_ask_location\n", "utter_ask_location"),
    ("utter_ask_n\n", "utter_ask_numpeople"),  # a unique prefix
])
def test_choosing_another_action_is_a_correction(start: StepView, typed: str, name: str) -> None:
    decision, _, _ = _run(start, typed)
    assert decision.command is Command.CORRECT
    assert decision.action == _index(start, name)


@pytest.mark.parametrize(("typed", "expected"), [
    ("u\n", Decision.undo()), ("r\n", Decision.reset()), ("e\n", Decision.export_stories()),
    ("q\ny\n", Decision.quit(export=True)), ("q\nn\n", Decision.quit(export=False)),
    ("quit\nYES\n", Decision.quit(export=True)),
])
def test_command_keys(start: StepView, typed: str, expected: Decision) -> None:
    decision, text, _ = _run(start, typed)
    assert decision == expected
    if expected.command is Command.QUIT:
        assert "> Export the session as stories before quitting? [y/n] " in text


def test_bad_keystrokes_reprompt_with_a_reason(start: StepView) -> None:
    typed = "xyz\n9\n0\nutter_goodbye\naction_listen\nutter_ask\n2\n"
    decision, text, _ = _run(start, typed)
    assert decision == Decision.correct(_index(start, "utter_greet"))
    prompts = text.split("> ")[1:]  # what follows each prompt (the input itself is not echoed)
    assert prompts[:6] == [
        "unknown key 'xyz': ? shows the keys\n",
        "no action number 9: choose 1-7 (l lists them all)\n",
        "no action number 0: choose 1-7 (l lists them all)\n",
        "utter_goodbye is masked now; l lists the allowed actions\n",
        "action_listen is masked now; l lists the allowed actions\n",
        "'utter_ask' matches 7 actions: type more of the name, or a number\n",
    ]
    assert len(prompts) == 7


def test_list_help_and_transcript_keys_then_ask_again(start: StepView) -> None:
    decision, text, _ = _run(start, "l\n?\nt\nr\n")
    assert decision == Decision.reset()
    after_list = text.split("> ")[1]
    assert after_list.splitlines() == [
        "the bot's choices:",
        " *  1  utter_ask_howcanhelp        0.50  ##########",
        "    2  utter_greet                 0.30  ######",
        "    3  utter_ask_cuisine           0.10  ##",
        "    4  utter_ask_location          0.05  #",
        "    5  utter_ask_numpeople         0.03  #",
        "    6  utter_ask_price             0.02  ",
        "    7  utter_ask_rephrase          0.00  ",
    ]
    after_help = text.split("> ")[2]
    assert after_help.startswith("Keys (type one, then Enter):\n")
    assert "  u            undo the last bot action" in after_help
    assert text.split("> ")[3] == "USER: hello\n"


def test_end_of_input_quits_without_export(start: StepView) -> None:
    decision, text, _ = _run(start, "")
    assert decision == Decision.quit(export=False)
    assert text.endswith("> \nExport the session as stories before quitting? [y/n] \n"
                         "quitting (end of input) without export; the correction log keeps the session\n")


def test_end_of_input_question_can_still_be_answered(start: StepView) -> None:
    class EofThenYes(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.answers = ["", "maybe\n", "y\n"]

        def readline(self, *args) -> str:  # type: ignore[override]
            return self.answers.pop(0)

    out = io.StringIO()
    decision = TerminalTeacher(EofThenYes(), out).decide(start)
    assert decision == Decision.quit(export=True)
    assert "please answer y or n" in out.getvalue()


class _Interrupting(io.StringIO):
    """Raises KeyboardInterrupt (Ctrl-C) for each ``None`` in ``answers``, else returns the answer."""

    def __init__(self, answers: list[str | None]) -> None:
        super().__init__()
        self.answers = answers

    def readline(self, *args) -> str:  # type: ignore[override]
        answer = self.answers.pop(0)
        if answer is None:
            raise KeyboardInterrupt
        return answer


@pytest.mark.parametrize(("answers", "expected"), [
    ([None, "y\n"], Decision.quit(export=True)),
    ([None, "n\n"], Decision.quit(export=False)),
    ([None, None], Decision.quit(export=False)),  # Ctrl-C twice: quit at once, the log keeps the work
])
def test_ctrl_c_asks_whether_to_export(start: StepView, answers: list, expected: Decision) -> None:
    out = io.StringIO()
    decision = TerminalTeacher(_Interrupting(answers), out).decide(start)
    assert decision == expected
    assert "Export the session as stories before quitting? [y/n] " in out.getvalue()


def _advance(env: gym.Env, n: int) -> None:
    u = env.unwrapped
    expert = RestaurantExpert.for_env(env)
    for _ in range(n):
        env.step(expert.next_action(u.tracker, u.action_masks().astype(np.int8)))


def test_later_views_show_only_the_new_lines_and_the_whole_dialogue_after_an_undo(env: gym.Env) -> None:
    first = _view(env, START_PROBS, "utter_ask_howcanhelp")
    _advance(env, 2)  # utter_ask_howcanhelp, action_listen: the user informs
    second = _view(env, {"utter_on_it": 0.9, "utter_ask_cuisine": 0.1}, "utter_on_it", step=2)
    out = io.StringIO()
    teacher = TerminalTeacher(io.StringIO("\n\nu\n\n"), out)
    teacher.decide(first)
    mark = len(out.getvalue())
    teacher.decide(second)
    shown = out.getvalue()[mark:].splitlines()
    assert shown[0] == "BOT:  how can I help you today?"
    assert shown[1] == "USER: I'm looking for a restaurant for eight people"
    assert shown[2].startswith("--- bot action 3 ")
    assert shown[3] == "user said: inform{\"people\": \"eight\"}  (NLU confidence 1.00)"
    assert shown[4] == "slots: people=eight"
    assert shown[5] == "the bot's choices:"  # 4 allowed, all shown
    assert shown[6] == " *  1  utter_on_it                 0.90  ##################"
    # the first view again (as after an undo): the dialogue's last lines (here: all of them), flagged
    mark = len(out.getvalue())
    teacher.decide(first)
    again = out.getvalue()[mark:].splitlines()
    assert again[:3] == ["(after the undo: the dialogue)", "USER: hello", "--- bot action 1 " + "-" * 63]


def test_after_an_undo_in_a_long_dialogue_only_the_last_lines_are_shown_again(env: gym.Env) -> None:
    _advance(env, 5)
    early = _view(env, {"utter_ask_location": 1.0}, "utter_ask_location", step=5)
    _advance(env, 8)
    late = _view(env, {"utter_ack_dosearch": 1.0}, "utter_ack_dosearch", step=13)
    out = io.StringIO()
    teacher = TerminalTeacher(io.StringIO("\nu\n\n"), out)
    teacher.decide(late)
    mark = len(out.getvalue())
    teacher.decide(early)  # the human undid steps back to bot action 6
    assert out.getvalue()[mark:].splitlines()[:6] == [
        "(after the undo: the last lines of the dialogue; t shows all)",
        "USER: I'm looking for a restaurant for eight people",
        "BOT:  I'm on it.",
        "BOT:  which cuisine would you like?",
        "USER: I'm looking for a restaurant serving british food",
        "--- bot action 6 " + "-" * 63,
    ]


def test_forced_steps_are_accepted_without_a_keystroke_and_undo_goes_past_them(env: gym.Env) -> None:
    _advance(env, 1)  # utter_ask_howcanhelp: now only action_listen is allowed
    forced = _view(env, {"action_listen": 1.0}, "action_listen", step=1)
    assert int(forced.action_mask.sum()) == 1
    _advance(env, 1)
    choice = _view(env, {"utter_on_it": 0.9, "utter_ask_cuisine": 0.1}, "utter_on_it", step=2)
    start_env = gym.make("dialog_gym/Restaurant-v0")
    start_env.reset(seed=3)
    start = _view(start_env, START_PROBS, "utter_ask_howcanhelp")

    out = io.StringIO()
    teacher = TerminalTeacher(io.StringIO("u\n2\n"), out)
    assert teacher.decide(forced) == Decision.accept()
    assert out.getvalue() == ""  # nothing shown, nothing read
    assert teacher.decide(choice) == Decision.undo()  # the human presses u at bot action 3
    assert teacher.decide(forced) == Decision.undo()  # the forced listen is undone too, without asking
    assert teacher.decide(start) == Decision.correct(_index(start, "utter_greet"))  # asked again here
    assert teacher.decide(forced) == Decision.accept()  # no undo pending: forced steps just go on


def test_a_forced_step_with_a_masked_proposal_is_corrected(env: gym.Env) -> None:
    _advance(env, 1)
    view = _view(env, {"utter_greet": 1.0}, "utter_greet", step=1)
    decision, text, _ = _run(view, "")
    assert decision == Decision.correct(_index(view, "action_listen"))
    assert text == ""


def test_forced_steps_can_be_shown_when_asked(env: gym.Env) -> None:
    _advance(env, 1)
    view = _view(env, {"action_listen": 1.0}, "action_listen", step=1)
    decision, text, _ = _run(view, "r\n", auto_accept_forced=False)
    assert decision == Decision.reset()
    assert " *  1  action_listen               1.00  ####################" in text


def test_notify_and_colour(start: StepView) -> None:
    out = io.StringIO()
    teacher = TerminalTeacher(io.StringIO(""), out)
    teacher.notify("dialogue 1 ended: success\nretrained on 12 examples")
    assert out.getvalue() == "* dialogue 1 ended: success\n* retrained on 12 examples\n"

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    TerminalTeacher(io.StringIO("\n"), tty).decide(start)
    assert "\033[1m *  1  utter_ask_howcanhelp" in tty.getvalue()
    plain = Tty()
    TerminalTeacher(io.StringIO("\n"), plain, color=False).decide(start)
    assert "\033[" not in plain.getvalue()


def test_long_lines_wrap_at_80_columns(env: gym.Env) -> None:
    _advance(env, 13)  # the summary question repeats every slot: a line longer than 80 characters
    view = _view(env, {"utter_ack_dosearch": 0.6, "action_search_restaurants": 0.4}, "utter_ack_dosearch",
                 step=13)
    assert max(len(line) for line in view.transcript.splitlines()) > 80
    _, text, _ = _run(view, "utter_ack_findalternatives\nutter_ask\n\n")
    assert "utter_ack_findalternatives is masked now" in text
    # on a terminal the typed line ends the prompt line: every reason has its own line
    assert all(len(line.removeprefix("> ")) <= 80 for line in text.splitlines())
    assert "      moderate price range, for eight people." in text  # continuation lines are indented


def test_the_end_of_a_dialogue_is_shown_before_the_notice_about_it(env: gym.Env) -> None:
    first = _view(env, START_PROBS, "utter_ask_howcanhelp")
    out = io.StringIO()
    teacher = TerminalTeacher(io.StringIO("\n"), out, transcript_source=lambda: env.unwrapped.transcript())
    teacher.decide(first)
    _advance(env, 2)  # the dialogue moves on without the teacher (as after its last step)
    mark = len(out.getvalue())
    teacher.notify("dialogue 1 ended: success")
    assert out.getvalue()[mark:] == ("BOT:  how can I help you today?\n"
                                     "USER: I'm looking for a restaurant for eight people\n"
                                     "* dialogue 1 ended: success\n")
    mark = len(out.getvalue())
    teacher.notify("learner retrained")  # nothing new: only the notice
    env.reset(seed=4)
    teacher.notify("a new dialogue began")  # another dialogue's lines are not this one's end
    assert out.getvalue()[mark:] == "* learner retrained\n* a new dialogue began\n"


def test_the_same_view_again_is_not_shown_again(start: StepView) -> None:
    out = io.StringIO()
    teacher = TerminalTeacher(io.StringIO("e\nu\n"), out)
    assert teacher.decide(start) == Decision.export_stories()
    teacher.notify("exported 1 dialogues to taught.md")
    mark = len(out.getvalue())
    assert teacher.decide(start) == Decision.undo()  # e.g. the session says "nothing to undo" next
    assert out.getvalue()[mark:] == "(bot action 1 still: Enter accepts utter_ask_howcanhelp)\n> "


def test_slots_wrap_between_slots_only(start: StepView) -> None:
    view = dataclasses.replace(start, slots={
        "cuisine": "spanish", "location": "madrid", "people": "six", "price": "moderate", "info": None,
        "matches": ["r1", "r2", "r3", "r4", "r5", "r6"], "restaurant": "resto_madrid_moderate_spanish_6"})
    _, text, _ = _run(view, "\n")
    assert ("slots: cuisine=spanish  location=madrid  people=six  price=moderate\n"
            "  matches=[6 items]  restaurant=resto_madrid_moderate_spanish_6\n") in text


def test_with_noise_what_the_nlu_understood_gets_its_own_line() -> None:
    env = gym.make("dialog_gym/Restaurant-Env6-v0")
    env.reset(seed=1000000002)
    _advance(env, 2)
    view = _view(env, {"utter_on_it": 1.0}, "utter_on_it", step=2)
    _, text, _ = _run(view, "\n")
    assert text.splitlines()[2:8] == [
        "USER: hello    [NLU: greet @ 0.87]",  # short enough: one line
        "BOT:  how can I help you today?",
        "USER: I'm looking for a restaurant serving indian food in london in the moderate",
        "      price range",
        '      [NLU: inform{"cuisine": "indian", "location": "london", "price":',
        '      "moderate"} @ 0.99]',
    ]
