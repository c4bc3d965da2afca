"""The chat interface (dialog_gym.chat): the same dialogues as the vector env, mistakes that cost a turn and
never raise, tools checked against the ontology, English from templates."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dialog_gym
import dialog_gym.chat as chat
from dialog_gym.chat.nlg import ActRenderer, Phrases
from dialog_gym.envs import SUITES
from dialog_gym.errors import ConfigError
from dialog_gym.rollout import expert_act
from dialog_gym.seeds import episode_seed

PYDIAL_IDS = SUITES["pydial18"]
SUMMARY_IDS = SUITES["summary"]


def vector_dialogue(env_id: str, seed: int) -> list[tuple]:
    env = gym.make(env_id, info_tracker=True)
    agent = expert_act(env)
    obs, info = env.reset(seed=seed)
    out, done = [], False
    while not done:
        action = agent(obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        out.append((action, reward, terminated, truncated, info["success"], info["turn"]))
        done = terminated or truncated
    return out


def chat_dialogue(env_id: str, seed: int) -> list[tuple]:
    c = chat.make(env_id)
    agent = chat.rule_agent(c)
    messages, info = c.reset(seed=seed)
    assert [m["role"] for m in messages] == ["system", "user"]
    out, done = [], False
    while not done:
        message = agent(c.messages, info)
        call = message["tool_calls"][0]["function"]
        action = c.view.action_of(call["name"], json.loads(call["arguments"]))
        new, reward, terminated, truncated, info = c.step(message)
        assert new[0]["role"] == "tool" and new[0]["tool_call_id"] == message["tool_calls"][0]["id"]
        assert info["tool_error"] is None
        out.append((action, reward, terminated, truncated, info["success"], info["turn"]))
        done = terminated or truncated
    return out


@pytest.mark.parametrize("env_id", PYDIAL_IDS + SUMMARY_IDS)
def test_rule_expert_through_chat_gives_the_vector_dialogues(env_id: str) -> None:
    assert len(PYDIAL_IDS) == 18 and len(SUMMARY_IDS) == 6
    for i in range(3):
        seed = episode_seed(0, i)
        assert chat_dialogue(env_id, seed) == vector_dialogue(env_id, seed)


def test_tools_are_parameterised_and_checked_against_the_ontology() -> None:
    c = chat.make("dialog_gym/PyDial-CR-Env1-v0")
    names = [t["function"]["name"] for t in c.tools]
    assert names == ["request", "confirm", "select", "inform", "inform_byname", "inform_alternatives", "bye",
                     "repeat", "reqmore", "restart"]
    slot = c.tools[0]["function"]["parameters"]["properties"]["slot"]
    assert slot["enum"] == ["food", "pricerange", "area"]
    assert c.view.action_of("request", {"slot": "area"}) == c.base.action_names.index("request_area")
    assert "must be one of" in str(c.view.action_of("request", {"slot": "phone"}))
    assert "needs the argument" in str(c.view.action_of("confirm", {}))
    assert "unknown argument" in str(c.view.action_of("bye", {"slot": "area"}))
    assert "no tool" in str(c.view.action_of("book", {}))
    s = chat.make("Restaurant-Summary-Env1-v0")
    assert s.tools[0]["function"]["parameters"]["properties"]["slot"]["enum"] == [
        "cuisine", "location", "people", "price"]
    assert [t["function"]["name"] for t in s.tools][1:] == [
        "ask_moreupdates", "offer", "next_suggestion", "reservation", "goodbye", "ask_howcanhelp"]
    for action in range(s.base.action_space.n):  # every act has a call, and the call is the act
        name, args = s.call_of(action)
        assert s.view.action_of(name, args) == action


def test_a_mistake_is_the_envs_wasted_turn() -> None:
    c = chat.make("dialog_gym/PyDial-CR-Env1-v0")
    c.reset(seed=5)
    patience = c.base.user.patience
    new, reward, terminated, _, info = c.step({"role": "assistant", "content": "hello?"})
    assert reward == -1.0 and not terminated and info["turn"] == 1 and info["invalid_action"]
    assert info["tool_error"].startswith("no tool call")
    assert new[0]["role"] == "user" and "no tool call" in new[0]["content"]
    assert c.base.user.patience == patience - 1  # PyDial's empty act costs patience
    bad = {"role": "assistant", "tool_calls": [{"id": "x1", "type": "function",
                                                "function": {"name": "request", "arguments": "{slot: food"}}]}
    new, reward, *_, info = c.step(bad)
    assert new[0] == {"role": "tool", "tool_call_id": "x1", "content": new[0]["content"]}
    assert "not valid JSON" in new[0]["content"] and info["turn"] == 2 and reward == -1.0
    new, reward, *_, info = c.step(chat.assistant_call("bye", {}))  # a good call of a masked act
    assert info["tool_error"] is None and info["invalid_action"] and reward == -1.0
    assert "not allowed now" in new[0]["content"] and 'request(slot="area")' in new[0]["content"]
    assert "bye()" not in new[0]["content"]


def test_the_summary_family_wastes_a_turn_as_a_masked_act() -> None:
    c = chat.make("Restaurant-Summary-Env1-v0")
    c.reset(seed=1)
    _, reward, *_, info = c.step(chat.assistant_call("request", {"slot": "colour"}))
    assert reward == -1.0 and info["steps"] == 1 and info["invalid_action"] and "colour" in info["tool_error"]


MESSAGE = st.one_of(
    st.none(), st.integers(), st.text(max_size=20),
    st.fixed_dictionaries({"role": st.just("assistant"), "content": st.text(max_size=10)}),
    st.builds(lambda calls: {"role": "assistant", "tool_calls": calls}, st.one_of(
        st.lists(st.one_of(st.none(), st.text(max_size=5), st.dictionaries(st.text(max_size=8), st.text(max_size=8),
                                                                          max_size=2)), max_size=3),
        st.lists(st.fixed_dictionaries({
            "id": st.one_of(st.none(), st.text(max_size=4)),
            "function": st.fixed_dictionaries({
                "name": st.sampled_from(["request", "confirm", "select", "inform", "bye", "offer", "goodbye", "x"]),
                "arguments": st.one_of(st.text(max_size=30), st.just('{"slot": "food"}'),
                                       st.just('{"slot": "cuisine"}'), st.just("[1]"), st.just("{}"),
                                       st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))})}),
            min_size=1, max_size=2))))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(env_id=st.sampled_from(["dialog_gym/PyDial-CR-Env3-v0", "dialog_gym/PyDial-LAP-Env2-v0",
                               "dialog_gym/Restaurant-Summary-Env4-v0"]),
       seed=st.integers(0, 10_000), messages=st.lists(MESSAGE, min_size=1, max_size=30))
def test_any_assistant_message_costs_one_turn_and_never_raises(env_id: str, seed: int, messages: list) -> None:
    c = chat.make(env_id)
    c.reset(seed=seed)
    for turn, message in enumerate(messages, 1):
        new, reward, terminated, truncated, info = c.step(message)
        assert new and all(m["role"] in ("tool", "user") for m in new)
        assert info["steps"] == turn
        if info["tool_error"] is not None:
            assert info["invalid_action"]
            assert reward == -1.0 or terminated or truncated
        if terminated or truncated:
            break


def test_wording_is_seeded_apart_from_the_dynamics() -> None:
    a, b = chat.make("dialog_gym/PyDial-CR-Env3-v0"), chat.make("dialog_gym/PyDial-CR-Env3-v0")
    assert a.reset(seed=7)[0] == b.reset(seed=7)[0]  # the same seed, the same words
    env = gym.make("dialog_gym/PyDial-CR-Env3-v0")
    obs, _ = env.reset(seed=7)
    np.testing.assert_array_equal(obs, a.observation)  # the wording drew nothing from the env's generator
    assert "N-best" in a.messages[1]["content"]  # under noise: the heard utterance and its hypotheses


def test_nlg_block_and_generic_defaults() -> None:
    rng = np.random.default_rng(0)
    plain = ActRenderer(Phrases("laptop"))
    assert plain.phrases.slot("pricerange") == "price range" and plain.phrases.slot("battery_life") == "battery life"
    said = plain.system(("inform", (("name", "none", False), ("family", "satellite", False))), rng)
    assert "laptop where the family is satellite" in said
    named = ActRenderer(Phrases.from_config({"entity": "notebook", "slots": {"family": "product line"}}, "laptop", "x"))
    assert "product line" in named.system(("request", (("family", None, False),)), rng)
    assert named.user(("request", (("family", None, False),)), rng).endswith("the product line?")
    with pytest.raises(ConfigError, match="x: nlg"):
        Phrases.from_config({"slot": {}}, "laptop", "x")


def test_chat_refuses_an_action_level_task() -> None:
    with pytest.raises(dialog_gym.DialogGymError, match="turn-level"):
        chat.make("dialog_gym/Restaurant-v0")


def test_rollout_interface_chat_prints_the_vector_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    from agents.cli import main

    numbers = []
    for extra in ([], ["--interface", "chat"]):
        assert main(["rollout", "--env", "PyDial-SFR-Env3-v0", "--episodes", "20", "--json", *extra]) == 0
        out = json.loads(capsys.readouterr().out)
        numbers.append({k: out[k] for k in ("success_rate", "mean_reward", "mean_turns")})
    assert numbers[0] == numbers[1]
    assert main(["rollout", "--env", "Restaurant-v0", "--interface", "chat"]) == 2
    assert "turn-level" in capsys.readouterr().err


def test_an_nlg_block_in_an_imported_task_config(tmp_path) -> None:
    import shutil

    import yaml

    task = tmp_path / "CR"
    shutil.copytree("configs/pydial/CamRestaurants", task)
    data = yaml.safe_load((task / "env.yml").read_text())
    data["nlg"] = {"entity": "eatery", "slots": {"area": "part of town"}}
    (task / "env.yml").write_text(yaml.safe_dump(data))
    c = chat.make(f"{task / 'env.yml'}:Env1")
    assert "- area (part of town): centre, north, west, south, east" in c.system_prompt
    assert "eatery information service" in c.system_prompt
    c.reset(seed=0)
    new, *_ = c.step(chat.assistant_call("request", {"slot": "area"}))
    assert "part of town" in new[0]["content"]


def test_summary_prompt_lists_the_table_values() -> None:
    prompt = chat.make("Restaurant-Summary-Env1-v0").system_prompt
    assert "- cuisine (cuisine): british, french, indian, italian, spanish" in prompt
    assert "- people (people): two, four, six, eight" in prompt
