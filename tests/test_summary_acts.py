"""The summary-act, turn-level variant (``family: summary``, dialog_gym/envs/summary.py): acts declared in
data, auto-listen, per-act reward, masks, the task's own success, state, config errors, the expert,
other tasks declaring their acts, and the agents that cannot run on acts."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dialog_gym
from dialog_gym.envs.state import DialogueEnvState
from dialog_gym.envs.summary import SummaryActEnv
from dialog_gym.errors import ConfigError, DialogGymError
from dialog_gym.events import ActionExecuted, UserUttered
from dialog_gym.rollout import expert_act, run_episodes

SUMMARY_IDS = [f"dialog_gym/Restaurant-Summary-Env{i}-v0" for i in range(1, 7)]
ACTS = ("ask_cuisine", "ask_location", "ask_people", "ask_price", "ask_moreupdates", "offer", "next_suggestion",
        "reservation", "goodbye", "ask_howcanhelp")
DATA = Path(__file__).resolve().parent / "data"


def step_named(env, name):
    """Step the act called ``name``; returns (reward, terminated, truncated, info, what the tracker got:
    action names, and U:<intent> for user messages)."""
    base = env.unwrapped
    before = len(base.tracker.events)
    _, reward, terminated, truncated, info = env.step(base.action_names.index(name))
    new = [e.action_name if isinstance(e, ActionExecuted) else f"U:{e.intent_name}"
           for e in base.tracker.events[before:] if isinstance(e, ActionExecuted | UserUttered)]
    return reward, terminated, truncated, info, new


def test_ids_suite_and_acts_come_from_the_config():
    assert all(env_id in dialog_gym.env_ids() for env_id in SUMMARY_IDS)
    assert dialog_gym.SUITES["summary"] == SUMMARY_IDS
    env = gym.make(SUMMARY_IDS[1])
    base = env.unwrapped
    assert isinstance(base, SummaryActEnv) and base.family == "summary"
    assert base.action_names == ACTS and env.action_space == gym.spaces.Discrete(10)
    assert base.acts[5].action_names == ("action_search_restaurants", "action_suggest")
    assert [a.hands_turn for a in base.acts] == [True] * 8 + [False, True]  # goodbye ends, no listen
    assert base.max_steps == 30 and not base.masks_enabled
    settings_of = {i: (e.unwrapped.config.noise.error_rate, e.unwrapped.config.profile.name, e.unwrapped.masks_enabled)
                   for i, e in enumerate(gym.make(x) for x in SUMMARY_IDS)}
    assert settings_of == {0: (0.0, "standard", True), 1: (0.0, "standard", False), 2: (0.15, "standard", True),
                           3: (0.15, "standard", False), 4: (0.15, "unfriendly", True), 5: (0.3, "standard", True)}
    # the generic id runs the config file too
    path = dialog_gym.resources.config_path("envs", "restaurant_summary.yml")
    assert isinstance(gym.make("dialog_gym/Dialogue-v0", config=str(path)).unwrapped, SummaryActEnv)


def test_hand_computed_transcript_with_masks_on():
    """Env1, seed 0 (goal italian / london / two / cheap; the customer changes location, people and price):
    each act runs its actions, listens after a turn-handing one, costs -1; masked acts are no-ops at -1."""
    env = gym.make(SUMMARY_IDS[0])
    _, info = env.reset(seed=0)
    assert info["action_mask"].tolist() == [1, 1, 1, 1, 0, 0, 0, 0, 0, 1]  # slot questions, how-can-I-help
    # goodbye is masked at the start: a no-op
    assert step_named(env, "goodbye")[::4] == (-1.0, [])
    r, term, trunc, info, new = step_named(env, "ask_howcanhelp")
    assert (r, term, trunc, new) == (-1.0, False, False, ["utter_ask_howcanhelp", "action_listen", "U:inform"])
    assert info["turn"] == 1 and info["steps"] == 2 and info["bot_actions"] == 1  # the reply came in the same step
    assert info["action_mask"].tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]  # only the cuisine is unset
    assert step_named(env, "ask_cuisine")[4] == ["utter_ask_cuisine", "action_listen", "U:inform"]
    for _ in range(4):  # three changes of mind, then "no"
        r, *_, info, new = step_named(env, "ask_moreupdates")
        assert r == -1.0 and new[:2] == ["utter_ask_moreupdates", "action_listen"]
    assert new == ["utter_ask_moreupdates", "action_listen", "U:deny"]
    r, _, _, info, new = step_named(env, "offer")  # two actions, one cost
    assert r == -1.0 and new == ["action_search_restaurants", "action_suggest", "action_listen", "U:deny"]
    assert info["bot_actions"] == 8 and info["action_mask"].tolist() == [0, 0, 0, 0, 1, 0, 1, 0, 0, 0]
    assert step_named(env, "next_suggestion")[4] == ["action_suggest", "action_listen", "U:deny"]
    r, _, _, info, new = step_named(env, "next_suggestion")
    assert new[-1] == "U:affirm" and info["action_mask"].tolist() == [0, 0, 0, 0, 1, 0, 1, 1, 0, 0]
    r, _, _, info, new = step_named(env, "reservation")
    assert new == ["utter_ack_makereservation", "action_listen", "U:thankyou"] and info["success"]
    assert info["action_mask"].tolist() == [0, 0, 0, 0, 0, 0, 0, 0, 1, 0]  # only goodbye
    r, term, trunc, info, new = step_named(env, "goodbye")
    assert (r, term, trunc, new) == (-1.0 + 20.0, True, False, ["utter_goodbye"])
    assert info["steps"] == 12 and info["turn"] == 10  # 11 acts, one a masked no-op; 10 of them listened


def test_masks_off_every_act_runs_and_failure_costs():
    env = gym.make(SUMMARY_IDS[1], bye_mask=False)
    assert not env.unwrapped.bye_mask
    _, info = env.reset(seed=0)
    assert info["action_mask"].tolist() == [1] * 10
    r, _, _, info, new = step_named(env, "next_suggestion")  # nothing searched: "no (more) restaurants"
    assert r == -1.0 and new[:2] == ["action_suggest", "action_listen"] and not info["invalid_action"]
    assert info["action_mask"].tolist() == [1] * 10
    r, term, trunc, info, new = step_named(env, "goodbye")
    assert (r, term, trunc, new, info["success"]) == (-1.0 - 40.0, True, False, ["utter_goodbye"], False)


BYE = ACTS.index("goodbye")
NO_BYE = [1] * BYE + [0] + [1] * (len(ACTS) - BYE - 1)  # masks off, goodbye not yet allowed


def test_bye_mask_hand_computed_transcript():
    """Env2 (masks off), seed 0, the dialogue of the masks-on transcript above: every act is allowed but
    goodbye, which is a masked no-op (-1) until the task's rules allow goodbye alone: here once the
    customer thanked for the reservation (rule 2 of masks.py)."""
    env = gym.make(SUMMARY_IDS[1])
    base = env.unwrapped
    assert base.bye_mask and not base.masks_enabled
    _, info = env.reset(seed=0)
    assert info["action_mask"].tolist() == NO_BYE and not base.dialogue_finished()
    r, term, _, info, new = step_named(env, "goodbye")
    assert (r, term, new, info["invalid_action"]) == (-1.0, False, [], True)
    plan = ["ask_howcanhelp", "ask_cuisine", *["ask_moreupdates"] * 4, "offer", "next_suggestion", "next_suggestion"]
    for name in plan:
        r, term, _, info, new = step_named(env, name)
        assert (r, term, info["action_mask"].tolist()) == (-1.0, False, NO_BYE)
    assert new == ["action_suggest", "action_listen", "U:affirm"] and info["action_mask"][ACTS.index("next_suggestion")]
    r, _, _, info, new = step_named(env, "reservation")
    assert new == ["utter_ack_makereservation", "action_listen", "U:thankyou"] and info["success"]
    assert info["action_mask"].tolist() == [1] * 10 and base.dialogue_finished()
    r, term, trunc, info, new = step_named(env, "goodbye")
    assert (r, term, trunc, new) == (-1.0 + 20.0, True, False, ["utter_goodbye"])
    assert info["steps"] == 12 and info["turn"] == 10


def test_bye_mask_stays_closed_after_a_denied_reservation_check():
    """Rule 7 of masks.py allows goodbye once a reservation check was answered, even with "no"; the bye
    mask does not (the customer is not done), so "reservation, goodbye" is no early exit (-42)."""
    env = gym.make(SUMMARY_IDS[1])
    base = env.unwrapped
    _, info = env.reset(seed=0)
    r, _, _, info, new = step_named(env, "reservation")  # nothing suggested yet: the customer denies
    assert (r, new) == (-1.0, ["utter_ack_makereservation", "action_listen", "U:deny"])
    rules = base.masker.sensible(base.progress, base.tracker.slot_values, base._matches_left())
    assert rules[base.roles.index("goodbye")] == 1 and rules.sum() > 1 and not base.dialogue_finished()
    assert info["action_mask"].tolist() == NO_BYE
    r, term, _, info, new = step_named(env, "goodbye")
    assert (r, term, new, info["invalid_action"]) == (-1.0, False, [], True)
    # with bye_mask=False the same two acts end the dialogue as a failure
    env = gym.make(SUMMARY_IDS[1], bye_mask=False)
    env.reset(seed=0)
    step_named(env, "reservation")
    r, term, _, info, new = step_named(env, "goodbye")
    assert (r, term, new, info["success"]) == (-41.0, True, ["utter_goodbye"], False)


def test_bye_mask_is_data_a_key_and_a_keyword(tmp_path):
    """The goodbye acts are found by role (here one named ``bye``, neither last nor ninth); ``bye_mask``
    is a config key and a gym.make keyword (the keyword wins); a non-bool is refused naming its source."""
    cfg = tmp_path / "acts.yml"
    text = ("family: summary\ntask: restaurant\nmax_steps: 20\n{}summary_acts:\n  bye: goodbye\n"
            "  offer: [search, suggest]\n  ask: [ask_slot.cuisine]\n")
    cfg.write_text(text.format(""))
    env = gym.make("dialog_gym/Dialogue-v0", config=str(cfg), masks=False)
    assert env.reset(seed=0)[1]["action_mask"].tolist() == [0, 1, 1]
    assert env.unwrapped.action_masks().tolist() == [False, True, True]
    assert gym.make("dialog_gym/Dialogue-v0", config=str(cfg), masks=False,
                    bye_mask=False).reset(seed=0)[1]["action_mask"].tolist() == [1, 1, 1]
    # masks on: the bye mask changes nothing (the task's rules already decide goodbye)
    for bye_mask in (True, False):
        env = gym.make("dialog_gym/Dialogue-v0", config=str(cfg), bye_mask=bye_mask)
        assert env.reset(seed=0)[1]["action_mask"].tolist() == [0, 0, 1]
    cfg.write_text(text.format("bye_mask: false\n"))
    assert gym.make("dialog_gym/Dialogue-v0", config=str(cfg), masks=False).reset(seed=0)[1]["action_mask"].all()
    assert not gym.make("dialog_gym/Dialogue-v0", config=str(cfg), masks=False,
                        bye_mask=True).reset(seed=0)[1]["action_mask"][0]
    cfg.write_text(text.format("bye_mask: sometimes\n"))
    with pytest.raises(ConfigError, match=r"acts\.yml: bye_mask must be true or false, got 'sometimes'"):
        gym.make("dialog_gym/Dialogue-v0", config=str(cfg))
    with pytest.raises(ConfigError, match=r"gym.make keyword argument bye_mask=1: bye_mask must be true or false"):
        gym.make(SUMMARY_IDS[1], bye_mask=1)


def test_the_act_limit_truncates_with_the_failure_reward():
    env = gym.make(SUMMARY_IDS[1], max_steps=12)
    assert env.unwrapped.max_steps == 12
    env.reset(seed=4)
    total, steps, terminated, truncated = 0.0, 0, False, False
    while not (terminated or truncated):
        _, r, terminated, truncated, info = env.step(ACTS.index("ask_moreupdates"))
        total += r
        steps += 1
    if truncated:  # a patient customer: the limit ends it
        assert steps == 12 and total == -12 - 40
    else:  # the customer gave up first
        assert info["user_gave_up"] and total == -steps - 40


def test_an_act_that_does_not_hand_the_turn_over_does_not_listen(tmp_path):
    cfg = tmp_path / "acts.yml"
    cfg.write_text("family: summary\ntask: restaurant\nmax_steps: 20\nsummary_acts:\n"
                   "  search_only: [search]\n  suggest: [action_suggest]\n  ask_all: [ask_slot.cuisine]\n"
                   "  bye: goodbye\n")
    env = gym.make("dialog_gym/Dialogue-v0", config=str(cfg), masks=False)
    env.reset(seed=1)
    r, _, _, info, new = step_named(env, "search_only")
    assert (r, new, info["turn"]) == (-1.0, ["action_search_restaurants"], 0)
    r, _, _, info, new = step_named(env, "suggest")  # a domain action name works as well as a role
    assert new[:2] == ["action_suggest", "action_listen"] and info["turn"] == 1
    assert env.unwrapped.acts[3].action_names == ("utter_goodbye",)


def test_mask_is_the_task_mask_of_each_acts_first_action():
    env = gym.make(SUMMARY_IDS[2], info_tracker=True)
    base = env.unwrapped
    act = expert_act(env)
    rng = np.random.default_rng(0)
    for seed in range(20):
        obs, info = env.reset(seed=seed)
        done = False
        while not done:
            task_mask = base.task_mask()
            expected = np.array([task_mask[a.actions[0]] for a in base.acts], dtype=np.int8)
            assert np.array_equal(info["action_mask"], expected) and info["action_mask"].dtype == np.int8
            assert np.array_equal(base.action_masks(), expected.astype(bool))
            choice = act(obs, info) if rng.random() < 0.7 else int(rng.choice(np.flatnonzero(expected)))
            obs, _, terminated, truncated, info = env.step(choice)
            done = terminated or truncated


@pytest.mark.parametrize(("summary_id", "task_id"), [(SUMMARY_IDS[1], "dialog_gym/Restaurant-Env2-v0"),
                                                     (SUMMARY_IDS[3], "dialog_gym/Restaurant-Env4-v0")])
def test_success_and_dynamics_are_the_tasks_own(summary_id, task_id):
    """Replaying the actions the acts executed in the action-level env (same seed) gives the same tracker,
    the same observation after each act and the same success: one task, one success definition."""
    env, task = gym.make(summary_id, info_tracker=True), gym.make(task_id)
    base, task_base = env.unwrapped, task.unwrapped
    expert = expert_act(env)
    rng = np.random.default_rng(1)
    successes = 0
    for seed in range(30):
        obs, info = env.reset(seed=seed)
        task_obs, _ = task.reset(seed=seed)
        np.testing.assert_array_equal(obs, task_obs)
        done = False
        while not done:
            choice = expert(obs, info) if seed % 2 == 0 else int(rng.integers(10))
            before = len([e for e in base.tracker.events if isinstance(e, ActionExecuted)])
            obs, _, terminated, truncated, info = env.step(choice)
            done = terminated or truncated
            names = [e.action_name for e in base.tracker.events if isinstance(e, ActionExecuted)][before:]
            for name in names:
                task_obs, _, task_term, _, task_info = task.step(task_base.domain.index_for_action(name))
            if names:
                assert task_term == terminated  # the act limit (truncation) is the summary env's own
                np.testing.assert_array_equal(obs, task_obs)
                assert task_info["success"] == info["success"] and task_info["turn"] == info["turn"]
        assert base.tracker.events == task_base.tracker.events
        assert info["success"] == base.user.success == task_base.user.success
        successes += info["success"]
    assert 10 <= successes < 30  # the expert's dialogues succeed, the random ones mostly not


@settings(max_examples=30, deadline=None)
@given(env_index=st.integers(0, 5), seed=st.integers(0, 2**31 - 1),
       actions=st.lists(st.integers(0, 9), min_size=1, max_size=60))
def test_random_act_sequences_keep_the_contract(env_index, seed, actions):
    env = gym.make(SUMMARY_IDS[env_index])
    rcfg = env.unwrapped.reward_config
    obs, info = env.reset(seed=seed)
    for a in actions:
        assert info["action_mask"].dtype == np.int8 and info["action_mask"].shape == (10,) and info["action_mask"].any()
        allowed = bool(info["action_mask"][a])
        obs, reward, terminated, truncated, info = env.step(a)
        assert env.observation_space.contains(obs)
        assert type(terminated) is bool and type(truncated) is bool and type(info["success"]) is bool
        assert info["invalid_action"] is (not allowed)
        step_cost = rcfg.bot_action + rcfg.listen if allowed else rcfg.invalid_action
        assert reward in {step_cost, rcfg.bot_action} | (
            {step_cost + rcfg.success, step_cost + rcfg.failure, rcfg.bot_action + rcfg.success,
             rcfg.bot_action + rcfg.failure} if terminated or truncated else set())
        if terminated or truncated:
            obs, info = env.reset()


def test_state_round_trip_is_a_dialogue_env_state():
    env, other = gym.make(SUMMARY_IDS[3], info_tracker=True), gym.make(SUMMARY_IDS[3], info_tracker=True)
    base = env.unwrapped
    obs, info = env.reset(seed=5)
    expert = expert_act(env)
    for _ in range(3):
        obs, _, _, _, info = env.step(expert(obs, info))
    state = base.get_state()
    assert isinstance(state, DialogueEnvState)

    def rest(e, o, i):
        out = []
        for k in range(30):
            o, r, te, tr, i = e.step(expert(o, i) if k % 3 else int(np.flatnonzero(i["action_mask"])[-1]))
            out.append((o.tobytes(), r, te, tr, i["success"], i["action_mask"].tobytes()))
            if te or tr:
                break
        return out

    first = rest(env, obs, info)
    other.reset(seed=99)
    other.unwrapped.set_state(state)
    assert rest(other, state.observation, state.info) == first
    base.set_state(state)
    assert rest(env, state.observation, state.info) == first
    # an action-level state (another configuration) is refused
    task = gym.make("dialog_gym/Restaurant-Env4-v0")
    task.reset(seed=5)
    with pytest.raises(DialogGymError, match="configured differently"):
        base.set_state(task.unwrapped.get_state())
    # the bye mask is part of the state's mask and of the configuration
    assert state.mask.tolist() == NO_BYE and state.info["action_mask"].tolist() == NO_BYE
    other.unwrapped.set_state(state)
    assert other.unwrapped.get_state().mask.tolist() == NO_BYE
    assert step_named(other, "goodbye")[3]["invalid_action"]
    no_bye = gym.make(SUMMARY_IDS[3], bye_mask=False)
    no_bye.reset(seed=5)
    assert no_bye.unwrapped.config_fingerprint != base.config_fingerprint
    with pytest.raises(DialogGymError, match="configured differently"):
        no_bye.unwrapped.set_state(state)


@pytest.mark.parametrize(("acts", "message"), [
    ("  bad: [ask_slot.colour]\n", r"summary_acts\.bad\[0\]: ask_slot\.colour: no action asks for slot 'colour'"),
    ("  bad: [search, utter_no_such_thing]\n", r"summary_acts\.bad\[1\]: 'utter_no_such_thing' is neither a role"),
    ("  bad: [listen]\n", r"summary_acts\.bad\[0\]: 'listen': listening is not an act's action"),
    ("  bad: [ask_slot.cuisine, search]\n", r"summary_acts\.bad\[0\]: 'ask_slot\.cuisine' hands the turn"),
    ("  bad: [no_match]\n", r"summary_acts\.bad\[0\]: role 'no_match' is not bound"),
    ("  bad: []\n", r"summary_acts\.bad: expected a non-empty list"),
])
def test_config_errors_name_the_file_and_key(tmp_path, acts, message):
    cfg = tmp_path / "broken_summary.yml"
    cfg.write_text("family: summary\ntask: restaurant\nsummary_acts:\n  ok: [goodbye]\n" + acts)
    with pytest.raises(ConfigError, match=rf"broken_summary\.yml: {message}"):
        gym.make("dialog_gym/Dialogue-v0", config=str(cfg))


def test_config_errors_of_the_file(tmp_path):
    cfg = tmp_path / "s.yml"
    cfg.write_text("family: summary\nsummary_acts: {bye: [goodbye]}\n")
    with pytest.raises(ConfigError, match=r"s\.yml: task: name the env config"):
        gym.make("dialog_gym/Dialogue-v0", config=str(cfg))
    cfg.write_text("family: summary\ntask: restaurant\nsummary_acts: {bye: [goodbye]}\nnoise: 0.1\n")
    with pytest.raises(ConfigError, match=r"s\.yml: unknown key\(s\) 'noise'"):
        gym.make("dialog_gym/Dialogue-v0", config=str(cfg))
    cfg.write_text("family: summary\ntask: restaurant\n")
    with pytest.raises(ConfigError, match=r"s\.yml: summary_acts: expected a mapping"):
        gym.make("dialog_gym/Dialogue-v0", config=str(cfg))
    with pytest.raises(ConfigError, match="unknown keyword"):
        gym.make(SUMMARY_IDS[0], colour="red")
    # the reward check counts acts: every act costs, so a success in 30 acts scores at least 20 - 30
    assert gym.make(SUMMARY_IDS[1], reward={"failure": -12}).unwrapped.config.max_steps == 30
    with pytest.raises(ConfigError, match=r"restaurant_summary\.yml: reward: a success could score -10"):
        gym.make(SUMMARY_IDS[1], reward={"failure": -8})
    with pytest.raises(ConfigError, match="not a summary-act config"):
        SummaryActEnv(config="restaurant")


def test_expert_solves_env1():
    env = gym.make(SUMMARY_IDS[0], info_tracker=True)
    results, _ = run_episodes(env, expert_act(env), 200, seed=0)
    assert all(r.success for r in results)
    assert all(r.invalid_actions == 0 for r in results)


@pytest.mark.parametrize(("task", "acts"), [
    ("hotel", "  ask_city: [ask_slot.city]\n  ask_stars: [ask_slot.stars]\n  ask_budget: [ask_slot.budget]\n"
              "  ask_guests: [ask_slot.guests]\n  anything_else: [ask_moreupdates]\n  offer: [search, suggest]\n"
              "  next: [suggest]\n  none_fits: [no_match]\n  book: [ack_makereservation]\n  bye: [goodbye]\n"
              "  help: [ask_howcanhelp]\n"),
    (str(DATA / "car_rental" / "env.yml"),
     "  city: [ask_slot.city]\n  size: [ask_slot.size]\n  gearbox: [ask_slot.gearbox]\n"
     # no no_match role here: the customer relaxes a constraint only when asked for changes in the turn of an
     # empty search, so this task's search act asks for changes, and suggesting is an act of its own
     "  passengers: [ask_slot.passengers]\n  changes: [ask_moreupdates]\n  find: [action_find_cars, ask_moreupdates]\n"
     "  offer: [suggest]\n  rent: [ack_makereservation]\n  bye: [goodbye]\n  help: [ask_howcanhelp]\n"),
])
def test_other_tasks_declare_their_own_acts(tmp_path, task, acts):
    """The hotel (77 of 144 goals have a row; it binds no_match) and the car rental of tests/data declare
    their own acts; the same expert plays them."""
    cfg = tmp_path / "summary.yml"
    cfg.write_text(f"family: summary\ntask: {task}\nmax_steps: 30\nsummary_acts:\n{acts}")
    for masks in (True, False):
        env = gym.make("dialog_gym/Dialogue-v0", config=str(cfg), masks=masks, info_tracker=True)
        assert env.action_space.n == acts.count("\n")
        results, _ = run_episodes(env, expert_act(env), 60, seed=0)
        assert np.mean([r.success for r in results]) >= 0.95


def test_rule_agent_and_warm_start_demonstrations_play_acts():
    from agents.loading import make_agent
    from agents.warm_start import expert_demonstrations

    env = gym.make(SUMMARY_IDS[1], info_tracker=True)
    results, _ = run_episodes(env, make_agent("rule", env), 50, seed=0)
    assert all(r.success for r in results)
    demos = expert_demonstrations(SUMMARY_IDS[1], 5, seed=0)
    assert demos.masks.shape[1] == 10 and demos.actions.max() < 10 and demos.obs.shape[1] == 100


def test_rasa_policies_are_refused_with_a_clear_message(tmp_path):
    from agents.benchmark import BUDGETS, plan_cells, unsupported_agents
    from agents.policy import PolicyAgent
    from agents.rule import RulePolicy
    from agents.warm_start import story_demonstrations

    env = gym.make(SUMMARY_IDS[1])
    with pytest.raises(DialogGymError, match=r"Rasa policies choose among the domain's 18 actions, but "
                                             r"dialog_gym/Restaurant-Summary-Env2-v0 acts with 10"):
        PolicyAgent(RulePolicy(), env)
    assert PolicyAgent(RulePolicy(), gym.make("dialog_gym/Restaurant-Env2-v0")) is not None
    agents = ["rule", "memo", "supervised", "ppo"]
    assert set(unsupported_agents(SUMMARY_IDS[1], agents)) == {"memo", "supervised"}
    assert unsupported_agents("dialog_gym/Restaurant-Env2-v0", agents) == {}
    cells = plan_cells(BUDGETS["small"], [SUMMARY_IDS[1], "dialog_gym/Restaurant-v0"], agents, [0], tmp_path)
    assert [c.params["agents"] for c in cells] == [["rule"], ["ppo"], ["rule"], ["memo", "supervised"], ["ppo"]]
    from agents.imitation import make_learner

    with pytest.raises(DialogGymError, match="Rasa policies choose among"):  # the correction loop's network
        make_learner("scratch", env_id=SUMMARY_IDS[1])
    stories = tmp_path / "s.md"
    stories.write_text("## s\n* greet\n  - utter_ask_howcanhelp\n")
    with pytest.raises(DialogGymError, match="stories are Rasa actions"):
        story_demonstrations(stories, SUMMARY_IDS[1])


def test_scripted_teacher_answers_with_acts():
    from dialog_gym.wrappers.teaching import ScriptedTeacher, StepView

    env = gym.make(SUMMARY_IDS[0], info_tracker=True)
    obs, info = env.reset(seed=0)
    teacher = ScriptedTeacher(env)
    act = expert_act(env)
    base = env.unwrapped
    view = StepView(base.domain, base.tracker.deep_copy(), base.transcript(), 0, np.full(10, 0.1),
                    info["action_mask"], 0, 0, 1.0, action_names=base.action_names)
    assert teacher.action_for(view) == act(obs, info) == ACTS.index("ask_howcanhelp")
