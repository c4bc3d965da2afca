"""The correction wrapper and session: what is recorded, undo, reset, export, quit, the log and resuming."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import dialog_gym  # noqa: F401
from dialog_gym.errors import DialogGymError, PersistenceError
from dialog_gym.experts import RestaurantExpert
from dialog_gym.stories import read_stories
from dialog_gym.wrappers import (
    CallbackTeacher,
    CorrectionSession,
    Decision,
    HumanCorrectionWrapper,
    ScriptedTeacher,
    StepView,
    dialogue_seed,
    read_log,
)

torch.set_num_threads(1)
ENV_ID = "dialog_gym/Restaurant-v0"
REPO = Path(__file__).resolve().parent.parent


class FixedLearner:
    """Always proposes the first allowed action of a fixed preference order; remembers what it learned."""

    def __init__(self, n: int, order: list[int]) -> None:
        self.n = n
        self.order = order
        self.calls: list[tuple[int, int]] = []

    def action_probabilities(self, observation, info):
        probs = np.zeros(self.n)
        for rank, a in enumerate(self.order):
            probs[a] = 1.0 / (rank + 2)
        return probs

    def learn(self, new, aggregate):
        self.calls.append((len(new), len(aggregate)))


class ScriptTeacher(CallbackTeacher):
    """Answers from a list of decisions, then as ``then`` does (or accepts); keeps views and notifications."""

    def __init__(self, decisions: list[Decision], then: ScriptedTeacher | None = None) -> None:
        self.queue = list(decisions)
        self.then = then
        self.views: list[StepView] = []
        self.messages: list[str] = []
        super().__init__(self._next, self.messages.append)

    def _next(self, view: StepView) -> Decision:
        self.views.append(view)
        if self.queue:
            return self.queue.pop(0)
        return self.then.decide(view) if self.then is not None else Decision.accept()


def make_env():
    return gym.make(ENV_ID)


def test_corrections_recorded_exactly_when_the_proposal_differs():
    env = make_env()
    expert = RestaurantExpert.for_env(env)
    learner = FixedLearner(env.action_space.n, [0, 9, 13])  # listen, ask_howcanhelp, ask_price
    teacher = ScriptedTeacher(env)
    wrapper = HumanCorrectionWrapper(env, learner, teacher, seed=3)
    wrapper.reset()
    steps = 0
    while wrapper.active:
        *_, info = wrapper.step()
        record = wrapper.records[-1]
        steps += 1
        mask = record.action_mask
        expected_proposal = next(a for a in [0, 9, 13] if mask[a]) if any(mask[[0, 9, 13]]) else \
            int(np.flatnonzero(mask)[0])
        assert record.proposal == expected_proposal
        assert record.label == expert.next_action(record.tracker, mask)  # the teacher's action
        assert record.action == record.label  # beta = 1: the teacher's action is executed
        assert record.corrected == (record.proposal != record.label)
        assert info["corrected"] == record.corrected and info["label"] == record.label
    assert steps == len(wrapper.records) > 10
    assert wrapper.outcomes[-1].success  # the expert's dialogue succeeds
    assert wrapper.outcomes[-1].corrections == sum(r.corrected for r in wrapper.records) > 0
    assert learner.calls == [(steps, steps)]  # retrained once, after the dialogue, on all its steps


def test_beta_zero_executes_the_learners_proposal_and_keeps_the_teachers_label():
    env = make_env()
    learner = FixedLearner(env.action_space.n, [0, 9])
    wrapper = HumanCorrectionWrapper(env, learner, ScriptedTeacher(env), beta=0.0)
    wrapper.reset()
    for _ in range(4):
        wrapper.step()
    for record in wrapper.records:
        assert record.learner_acted and record.action == record.proposal
    assert any(r.label != r.action for r in wrapper.records)
    # beta = 0.5: both kinds, from the seeded draw (the same draw for the same dialogue and step)
    half = HumanCorrectionWrapper(make_env(), FixedLearner(env.action_space.n, [0, 9]), ScriptedTeacher(env),
                                  beta=0.5, seed=1)
    half.reset()
    while half.active:
        half.step()
    kinds = {r.learner_acted for r in half.records}
    assert kinds == {True, False}


def test_retraining_changes_the_learners_prediction_on_corrected_states():
    from agents.imitation import make_learner

    env = make_env()
    learner = make_learner("scratch", seed=0)
    session = CorrectionSession(env, learner, ScriptedTeacher(env), seed=0)
    session.run(1)  # dialogue 1: the untrained learner proposes the first allowed action; trained after it
    # dialogue 2 without retraining: record the learner's mistakes, then retrain
    wrapper = session.wrapper
    wrapper.retrain_every = 10_000
    wrapper.reset()
    while wrapper.active:
        wrapper.step()
    corrected = [r for r in wrapper.dialogue_steps if r.corrected]
    before = [int(np.argmax(learner.policy.predict_action_probabilities(r.tracker, env.unwrapped.domain)
                            * r.action_mask)) for r in corrected]
    if not corrected:
        pytest.skip("the learner made no mistake in dialogue 2 with this seed")
    assert before == [r.proposal for r in corrected]
    wrapper.retrain()
    after = [int(np.argmax(learner.policy.predict_action_probabilities(r.tracker, env.unwrapped.domain)
                           * r.action_mask)) for r in corrected]
    assert after == [r.label for r in corrected]


def test_supervised_examples_match_the_featurized_dialogue():
    from agents.imitation import make_learner

    env = make_env()
    learner = make_learner("scratch")
    wrapper = HumanCorrectionWrapper(env, None, ScriptedTeacher(env))
    wrapper.reset()
    while wrapper.active:
        wrapper.step()
    data = learner.examples(wrapper.records)
    tracker = env.unwrapped.tracker
    reference = learner.policy.featurizer.featurize_trackers([tracker], env.unwrapped.domain)
    # the tracker's first example is the opening action_listen, which the environment takes itself
    np.testing.assert_array_equal(data.X, reference.X[1:])
    np.testing.assert_array_equal(data.y, reference.y[1:])


def _state(env):
    base = env.unwrapped
    return (base._obs().tolist(), [e.as_dict() for e in base.tracker.events], base._mask.tolist(),
            base.user.patience, base.steps)


def test_undo_restores_the_state_exactly():
    env = make_env()
    listen = env.unwrapped.domain.action_names.index("action_listen")
    # accept the expert's first action (ask_howcanhelp), then listen, undo the listen and listen again
    teacher = ScriptTeacher([Decision.correct(9), Decision.correct(listen), Decision.undo(), Decision.undo(),
                             Decision.undo(), Decision.correct(9)])
    wrapper = HumanCorrectionWrapper(env, FixedLearner(env.action_space.n, [2]), teacher, seed=5)
    wrapper.reset()
    start = _state(env)
    wrapper.step()  # ask_howcanhelp
    after_ask = _state(env)
    wrapper.step()  # listen: the user replies
    reply = [e.as_dict() for e in wrapper.records[-1].events]
    assert reply[0]["event"] == "action" and reply[0]["name"] == "action_listen"
    assert reply[1]["event"] == "user" and reply[1]["intent"]["name"] == "inform"
    # next step: undo (back to after_ask), undo (back to start), undo (nothing), then ask_howcanhelp again
    wrapper.step()
    assert teacher.messages[:3] == ["undone: action_listen", "undone: utter_ask_howcanhelp", "nothing to undo"]
    assert teacher.views[3].step == 1 and teacher.views[4].step == 0  # asked again after each undo
    assert _state(env)[1] == after_ask[1]
    assert len(wrapper.records) == 1
    # the user's next reply after undoing is identical (the random generator was restored)
    wrapper2_teacher = ScriptTeacher([Decision.correct(listen)])
    wrapper.teacher = wrapper2_teacher
    wrapper.step()
    assert [e.as_dict() for e in wrapper.records[-1].events] == reply
    # and identical to a fresh replay of the same actions
    fresh = make_env()
    fresh.reset(seed=dialogue_seed(5, 0))  # the session's seed 5, its first dialogue
    assert _state(fresh) == start
    fresh.step(9)
    assert _state(fresh) == after_ask
    fresh.step(listen)
    assert _state(fresh) == _state(env)


def test_undo_in_the_log_and_round_trip(tmp_path: Path):
    env = make_env()
    listen = env.unwrapped.domain.action_names.index("action_listen")
    teacher = ScriptTeacher([Decision.correct(9), Decision.correct(listen), Decision.undo()], then=ScriptedTeacher(env))
    log = tmp_path / "session.jsonl"
    session = CorrectionSession(env, None, teacher, log_path=log, seed=2)
    summary = session.run(2)
    assert summary.dialogues == 2 and summary.successes == 2
    parsed = read_log(log)
    assert parsed.header["seed"] == 2 and parsed.header["env_id"] == ENV_ID
    kinds = [r["type"] for r in parsed.records]
    assert kinds.count("undo") == 1 and kinds.count("end") == 2 and kinds[0] == "header"
    assert [len(d.steps) for d in parsed.dialogues] == [o.steps for o in session.wrapper.outcomes]
    records = session.wrapper.records
    logged = [s for d in parsed.dialogues for s in d.steps]
    assert [(s.dialogue, s.step, s.proposal, s.label, s.action, s.corrected) for s in logged] == \
        [(r.dialogue, r.step, r.proposal, r.label, r.action, r.corrected) for r in records]
    stories = session.stories()
    assert [[e.as_dict() for e in d.events] for d in parsed.dialogues] == \
        [[e.as_dict() for e in events] for _, events in stories]
    # records are small: no whole tracker per step
    assert max(len(line) for line in log.read_text().splitlines()) < 1500


def test_reset_export_quit_and_bad_corrections(tmp_path: Path):
    env = make_env()
    n = env.action_space.n
    goodbye = env.unwrapped.domain.action_names.index("utter_goodbye")
    teacher = ScriptTeacher([Decision.correct(9), Decision.correct(n + 3), Decision.correct(goodbye),
                             Decision.reset(), Decision.correct(9), Decision.export_stories(),
                             Decision.quit(export=True)])
    stories = tmp_path / "out" / "stories.md"
    session = CorrectionSession(env, FixedLearner(n, [0]), teacher, log_path=tmp_path / "log.jsonl",
                                stories_path=stories)
    summary = session.run()
    assert summary.quit and summary.dialogues == 1  # the reset one; the second is under way
    assert teacher.messages[0] == f"no action {n + 3}: choose 0-{n - 1}"
    assert teacher.messages[1] == "utter_goodbye is not allowed here; choose another action"
    assert teacher.messages[2].startswith("dialogue 1 abandoned (reset) after 1 step")
    assert teacher.messages.count(f"exported 2 dialogues to {stories}") == 2
    assert session.wrapper.outcomes[0].reason == "reset"
    graph = read_stories(stories)
    assert graph.stats()["stories"] == 2
    text = stories.read_text()
    assert text.count("utter_ask_howcanhelp") == 2 and "## interactive_0001" in text
    # resuming continues the unfinished dialogue 2 where it stopped
    teacher2 = ScriptedTeacher(env)
    again = CorrectionSession(make_env(), FixedLearner(n, [0]), teacher2, log_path=tmp_path / "log.jsonl",
                              stories_path=stories)
    summary2 = again.run(2)
    assert teacher2.messages[0].startswith("resumed 1 finished dialogue(s) (2 confirmed step(s) in all) from ")
    assert teacher2.messages[0].endswith("; continuing unfinished dialogue 2 after its 1 confirmed step(s)")
    assert summary2.dialogues == 2 and summary2.success_per_dialogue == [False, True]
    assert again.wrapper.records[1].action == 9 and again.wrapper.records[1].dialogue == 1


_CHILD = """
import sys, time, torch
torch.set_num_threads(1)
import gymnasium as gym
import dialog_gym
from agents.imitation import make_learner
from dialog_gym.wrappers import CorrectionSession, ScriptedTeacher

class Slow(ScriptedTeacher):
    def decide(self, view):
        time.sleep(float(sys.argv[2]))
        return super().decide(view)

env = gym.make("dialog_gym/Restaurant-v0")
session = CorrectionSession(env, make_learner("scratch"), Slow(env), log_path=sys.argv[1], seed=4)
print(session.run(3))
"""


def _run_child(log: Path, delay: float) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", _CHILD, str(log), str(delay)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_killed_session_resumes_with_every_confirmed_step(tmp_path: Path):
    from agents.imitation import make_learner

    killed = tmp_path / "killed.jsonl"
    child = _run_child(killed, 0.01)
    deadline = time.time() + 60
    while time.time() < deadline:  # wait until the second dialogue is under way
        if killed.exists() and killed.read_text().count('"type":"dialogue"') >= 2 and \
                killed.read_text().count('"type":"step"') >= 35:
            break
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL  # killed mid-session, not finished
    confirmed = [json.loads(line) for line in killed.read_text().splitlines() if line.strip()]
    steps_before = [r for r in confirmed if r["type"] == "step"]
    assert steps_before, child.stderr.read().decode()
    assert sum(r["type"] == "end" for r in confirmed) < 3
    # resume in this process: the same start learner, the log's seed
    env = make_env()
    teacher = ScriptedTeacher(env)
    resumed = CorrectionSession(env, make_learner("scratch"), teacher, log_path=killed)
    summary = resumed.run(3)
    assert teacher.messages[0].startswith("resumed")
    assert summary.resumed_steps >= len(steps_before) - sum(1 for r in confirmed if r["type"] == "undo")
    # every step confirmed before the kill is in the resumed session, unchanged
    after = [r for r in (json.loads(line) for line in killed.read_text().splitlines()) if r["type"] == "step"]
    assert after[: len(steps_before)] == steps_before
    # and the whole session equals one that was never interrupted
    whole = tmp_path / "whole.jsonl"
    reference = CorrectionSession(make_env(), make_learner("scratch"), ScriptedTeacher(env), log_path=whole, seed=4)
    reference.run(3)
    strip = lambda path: [{k: v for k, v in r.items() if k != "created"}  # noqa: E731
                          for r in map(json.loads, path.read_text().splitlines()) if r["type"] in ("step", "end")]
    assert strip(killed) == strip(whole)


def test_torn_last_line_is_ignored_and_cut(tmp_path: Path):
    env = make_env()
    log = tmp_path / "s.jsonl"
    CorrectionSession(env, None, ScriptedTeacher(env), log_path=log).run(1)
    text = log.read_text()
    log.write_text(text + '{"type":"step","dialogue":1,"st')  # a write cut short by a kill
    parsed = read_log(log)
    assert parsed.valid_bytes == len(text.encode())
    session = CorrectionSession(make_env(), None, ScriptedTeacher(env), log_path=log)
    session.run(2)
    lines = log.read_text().splitlines()
    assert all(json.loads(line) for line in lines)
    (tmp_path / "bad.jsonl").write_text(text.replace('"type":"step"', '"type":"stop"', 1))
    with pytest.raises(PersistenceError, match="corrupt session log"):
        read_log(tmp_path / "bad.jsonl")


def test_resume_refuses_another_environment(tmp_path: Path):
    env = make_env()
    log = tmp_path / "s.jsonl"
    CorrectionSession(env, None, ScriptedTeacher(env), log_path=log).run(1)
    other = gym.make("dialog_gym/Restaurant-Env3-v0")
    with pytest.raises(PersistenceError, match="recorded in dialog_gym/Restaurant-v0"):
        CorrectionSession(other, None, ScriptedTeacher(other), log_path=log).run(2)


def test_resume_refuses_another_config_or_variant_of_the_generic_id(tmp_path: Path):
    """Sessions in ``dialog_gym/Dialogue-v0`` differ by their config (and variant): the log names both."""
    from dialog_gym.envs import EnvRef

    config = REPO / "configs" / "envs" / "restaurant.yml"
    log = tmp_path / "s.jsonl"
    recorded = EnvRef.parse(f"{config}:Env1")
    env = recorded.make()
    CorrectionSession(recorded, None, ScriptedTeacher(env), log_path=log).run(1)  # made from the reference
    assert read_log(log).header["env_kwargs"] == {"config": str(config), "variant": "Env1"}
    other = EnvRef.parse(f"{config}:Env3").make()
    with pytest.raises(PersistenceError, match=rf"recorded in dialog_gym/Dialogue-v0 \({config}:Env1\), not "
                                               rf"dialog_gym/Dialogue-v0 \({config}:Env3\)"):
        CorrectionSession(other, None, ScriptedTeacher(other), log_path=log).run(2)
    CorrectionSession(recorded, None, ScriptedTeacher(env), log_path=log).run(2)  # the same task resumes
    assert read_log(log).header["env_kwargs"]["variant"] == "Env1"


def test_bad_settings():
    env = make_env()
    with pytest.raises(DialogGymError, match="beta"):
        HumanCorrectionWrapper(env, None, ScriptedTeacher(env), beta=1.5)
    with pytest.raises(DialogGymError, match="retrain_every"):
        HumanCorrectionWrapper(env, None, ScriptedTeacher(env), retrain_every=0)
    wrapper = HumanCorrectionWrapper(env, None, ScriptedTeacher(env))
    with pytest.raises(DialogGymError, match="reset"):
        wrapper.step()


def test_retrain_every_k_corrections():
    env = make_env()
    learner = FixedLearner(env.action_space.n, [0])
    wrapper = HumanCorrectionWrapper(env, learner, ScriptedTeacher(env), retrain_every=2)
    wrapper.reset()
    while wrapper.active:
        wrapper.step()
    total = sum(r.corrected for r in wrapper.records)
    assert len(learner.calls) == total // 2
    assert sum(new for new, _ in learner.calls) <= len(wrapper.records)


def test_sb3_learner_learns_corrections():
    from agents.imitation import make_learner

    env = make_env()
    learner = make_learner("scratch", learner="sb3", seed=0)
    session = CorrectionSession(env, learner, ScriptedTeacher(env), seed=0)
    session.run(1)
    records = session.wrapper.records
    predicted = learner._masked_argmax(np.stack([r.observation for r in records]),
                                       np.stack([r.action_mask.astype(bool) for r in records]))
    assert (predicted == np.array([r.label for r in records])).all()


def test_resume_retrains_when_killed_before_the_retraining(tmp_path: Path):
    env = make_env()
    log = tmp_path / "s.jsonl"
    learner = FixedLearner(env.action_space.n, [0])
    CorrectionSession(env, learner, ScriptedTeacher(env), log_path=log).run(1)
    lines = log.read_text().splitlines()
    assert json.loads(lines[-1])["type"] == "retrain"
    log.write_text("\n".join(lines[:-1]) + "\n")  # the process died while training
    again = FixedLearner(env.action_space.n, [0])
    session = CorrectionSession(make_env(), again, ScriptedTeacher(env), log_path=log)
    summary = session.run(1)
    steps = summary.steps
    assert again.calls == [(steps, steps)] and summary.dialogues == 1
    assert json.loads(log.read_text().splitlines()[-1])["type"] == "retrain"


def test_minari_export(tmp_path: Path):
    pytest.importorskip("minari")
    pytest.importorskip("h5py")
    import minari

    env = make_env()
    session = CorrectionSession(env, FixedLearner(env.action_space.n, [0]), ScriptedTeacher(env))
    session.run(2)
    folder = session.export_minari("dialog_gym/test-corrections-v0", tmp_path)
    assert folder.is_dir() and str(folder).startswith(str(tmp_path))
    os.environ["MINARI_DATASETS_PATH"] = str(tmp_path)
    try:
        dataset = minari.load_dataset("dialog_gym/test-corrections-v0")
        episodes = list(dataset.iterate_episodes())
    finally:
        del os.environ["MINARI_DATASETS_PATH"]
    records = session.wrapper.records
    assert len(episodes) == 2 and sum(len(e.actions) for e in episodes) == len(records)
    first = [r for r in records if r.dialogue == 0]
    np.testing.assert_array_equal(episodes[0].actions, [r.action for r in first])
    np.testing.assert_array_equal(episodes[0].observations[:-1], np.stack([r.observation for r in first]))
    assert list(episodes[0].infos["corrected"][1:]) == [r.corrected for r in first]
    assert episodes[0].terminations[-1]


def test_the_session_exports_through_its_wrapper_and_a_bare_wrapper_has_no_export():
    env = make_env()
    n = env.action_space.n
    session = CorrectionSession(env, FixedLearner(n, [0]), ScriptTeacher([]))
    assert session.wrapper.on_export == session.export  # the teacher's export writes the session's stories
    # the bare wrapper has nothing to export to: it says so and asks again
    teacher = ScriptTeacher([Decision.export_stories(), Decision.correct(9)])
    wrapper = HumanCorrectionWrapper(make_env(), FixedLearner(n, [0]), teacher)
    wrapper.reset()
    *_, info = wrapper.step()
    assert teacher.messages == ["export is not available here"]
    assert info["label"] == 9 and info["corrected"] and len(teacher.views) == 2
    with pytest.raises(DialogGymError, match="call reset"):
        HumanCorrectionWrapper(make_env(), None, ScriptedTeacher(env)).step()
