"""PyDial's tasks as data: the importer, the turn-level env family, its user, N-best noise, masks, the
handcrafted expert, and the registered ids."""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import yaml
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

import dialog_gym
from dialog_gym.envs import REGISTRATIONS, SUITES
from dialog_gym.errors import ConfigError
from dialog_gym.pydial.expert import HDCExpert
from dialog_gym.pydial.importer import import_pydial
from dialog_gym.pydial.task import load_task
from dialog_gym.resources import configs_dir
from dialog_gym.rollout import expert_act, run_episodes
from dialog_gym.users.nlu_noise import NBestChannel, levenshtein
from dialog_gym.users.pydial_user import PyDialUser, PyDialUserProfile

from .conftest import PYDIAL_DATA

SHIPPED = {"CamRestaurants": ("CR", 16, 110), "SFRestaurants": ("SFR", 25, 271), "Laptops11": ("LAP", 40, 123)}
PYDIAL_IDS = [i for i in dialog_gym.env_ids() if "/PyDial-" in i]
ROOT = Path(__file__).resolve().parents[1]
ZERO = {k: 0.0 for k in ("InformCombination", "AffirmCombination", "Greeting", "ConstraintRelax", "TellAboutChange",
                         "AddSlotToReq", "NoAfterReqmore", "YesAfterReqmore", "ByeOrStartOver", "DealWithPending",
                         "AddVenueNameToRequest", "InformToConfirm", "CombAffirmWithAgdItem", "OverruleCorrection",
                         "ConfirmRandomConstr", "ReqAltsAfterVenRec1", "ReqAltsAfterVenRec2", "NewRequestResp1",
                         "NewRequestResp2", "CorrectingAct1", "CorrectingAct2", "ThankAck1", "ThankAck2")}


# ------------------------------------------------------------------ the importer
def write_pydial_source(folder: Path, name: str, rules: dict, columns: list[str], rows: list[list[str]]) -> tuple:
    """A PyDial rules file and SQLite table, as PyDial ships them."""
    rules_path = folder / f"{name}-rules.json"
    rules_path.write_text(json.dumps(rules))
    db_path = folder / f"{name}-dbase.db"
    con = sqlite3.connect(db_path)
    con.execute(f'CREATE TABLE "{name}" ({", ".join(f"{c} TEXT" for c in columns)})')
    con.executemany(f'INSERT INTO "{name}" VALUES ({", ".join("?" * len(columns))})', rows)
    con.commit()
    con.close()
    return rules_path, db_path


def source_of_shipped(task_dir: Path, tmp: Path) -> tuple:
    """Rebuild PyDial's files from a shipped task directory (rules JSON + SQLite with an id column)."""
    env = yaml.safe_load((task_dir / "env.yml").read_text())
    domain = yaml.safe_load((task_dir / "domain.yml").read_text())
    informable = {s: [v for v in domain["slots"][s]["values"] if v != "dontcare"]
                  for s in env["ontology"]["informable"]}
    rules = {"type": env["entity_type"], "informable": informable,
             "requestable": env["ontology"]["requestable"],
             "system_requestable": env["ontology"]["system_requestable"],
             "method": ["none", "byconstraints", "byname", "finished", "byalternatives", "restart"],
             "discourseAct": ["ack", "hello", "none", "repeat", "silence", "thankyou"]}
    with open(task_dir / "table.csv", newline="") as handle:
        table = list(csv.reader(handle))
    rows = [[str(i), *row] for i, row in enumerate(table[1:])]
    return write_pydial_source(tmp, env["name"], rules, ["id", *table[0]], rows)


@pytest.mark.parametrize("name", list(SHIPPED))
def test_import_round_trip_reproduces_the_shipped_task(tmp_path, name):
    shipped = configs_dir() / "pydial" / name
    rules, db = source_of_shipped(shipped, tmp_path)
    out = tmp_path / "out"
    import_pydial(rules, db, out, id_prefix=SHIPPED[name][0])
    for rel in ("env.yml", "domain.yml", "table.csv", "NOTICE", "users/standard.yml", "users/unfriendly.yml"):
        assert (out / rel).read_text() == (shipped / rel).read_text(), rel
    task, _, _ = load_task(out / "env.yml")
    assert len(task.actions) == SHIPPED[name][1] and len(task.rows) == SHIPPED[name][2]
    assert "Apache License, Version 2.0" in (out / "NOTICE").read_text()


def test_shipped_tasks_are_what_the_script_makes_from_pydials_files(tmp_path):
    for name, (prefix, _, _) in SHIPPED.items():
        src = PYDIAL_DATA
        import_pydial(src / f"{name}-rules.json", src / f"{name}-dbase.db", tmp_path / name, id_prefix=prefix)
        for rel in ("env.yml", "domain.yml", "table.csv"):
            assert (tmp_path / name / rel).read_text() == (configs_dir() / "pydial" / name / rel).read_text()


UNSEEN_RULES = {
    "type": "hotel",
    "informable": {"area": ["north", "south", "centre"], "stars": ["2", "3", "4"], "parking": ["yes", "no"],
                   "name": [f"hotel {i}" for i in range(18)]},
    "requestable": ["name", "area", "stars", "parking", "phone", "postcode"],
    "system_requestable": ["area", "stars", "parking"],
}


def unseen_rows() -> list[list[str]]:
    """18 hotels: every (area, stars) pair twice, parking alternating, so 2-3 hotels fit many goals."""
    rows = []
    for i in range(18):
        area = ["north", "south", "centre"][i % 3]
        stars = ["2", "3", "4"][(i // 3) % 3]
        rows.append([str(i), f"hotel {i}", area, stars, "yes" if (i // 9) % 2 == 0 else "no", f"0{i:04d}", f"CB{i}"])
    return rows


def test_an_unseen_ontology_imports_registers_and_the_expert_solves_it(tmp_path):
    cols = ["id", "name", "area", "stars", "parking", "phone", "postcode"]
    rules, db = write_pydial_source(tmp_path, "TinyHotels", UNSEEN_RULES, cols, unseen_rows())
    env_file = import_pydial(rules, db, tmp_path / "task")
    assert len(load_task(env_file)[0].actions) == 3 * 3 + 7
    ids = dialog_gym.register_task(env_file)
    try:
        assert ids[0] == "dialog_gym/PyDial-TH-Env1-v0" and len(ids) == 6
        assert SUITES["pydial-TH"] == ids
        check_env(gym.make(ids[0]).unwrapped)
        env = gym.make(ids[0], info_tracker=True)
        results, _ = run_episodes(env, expert_act(env), 100, seed=0)
        assert sum(r.success for r in results) >= 95
    finally:  # leave the registry as found
        for env_id in ids:
            del gym.registry[env_id]
            del REGISTRATIONS[env_id]
        del SUITES["pydial-TH"]
    generic = gym.make("dialog_gym/Dialogue-v0", config=str(env_file))
    assert generic.unwrapped.actions == env.unwrapped.actions


@pytest.mark.parametrize("change, message", [
    (lambda r, d: r.unlink(), r"no such file|not found|cannot read"),
    (lambda r, d: r.write_text("{not json"), "not JSON"),
    (lambda r, d: r.write_text(json.dumps({"requestable": ["name"], "system_requestable": ["area"]})),
     "missing key 'informable'"),
    (lambda r, d: d.write_text("hello"), "not an SQLite 3 database"),
    (lambda r, d: d.unlink(), "no such file"),
])
def test_bad_input_names_the_file(tmp_path, change, message):
    cols = ["id", "name", "area", "stars", "parking", "phone", "postcode"]
    rules, db = write_pydial_source(tmp_path, "TinyHotels", UNSEEN_RULES, cols, unseen_rows())
    change(rules, db)
    with pytest.raises(ConfigError, match=message) as err:
        import_pydial(rules, db, tmp_path / "task")
    assert str(rules) in str(err.value) or str(db) in str(err.value)


def test_a_table_without_an_informable_column_is_refused(tmp_path):
    cols = ["id", "name", "area", "stars", "phone", "postcode"]
    rows = [r[:4] + r[5:] for r in unseen_rows()]
    rules, db = write_pydial_source(tmp_path, "TinyHotels", UNSEEN_RULES, cols, rows)
    with pytest.raises(ConfigError, match=r"lacks column.*parking"):
        import_pydial(rules, db, tmp_path / "task")


def test_cli_import_and_its_one_line_errors(tmp_path):
    cols = ["id", "name", "area", "stars", "parking", "phone", "postcode"]
    rules, db = write_pydial_source(tmp_path, "TinyHotels", UNSEEN_RULES, cols, unseen_rows())
    run = [sys.executable, "-m", "agents", "domain", "import-pydial"]
    ok = subprocess.run([*run, str(rules), str(db), "--out", str(tmp_path / "t"), "--id-prefix", "Hot", "--json"],
                        capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ids"][0] == "dialog_gym/PyDial-Hot-Env1-v0"
    bad = subprocess.run([*run, str(db), str(db), "--out", str(tmp_path / "u")], capture_output=True, text=True,
                         cwd=ROOT)
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr


# ------------------------------------------------------------------ registration
def test_the_18_ids_and_the_suite():
    expected = [f"dialog_gym/PyDial-{p}-Env{n}-v0" for p in ("CR", "SFR", "LAP") for n in range(1, 7)]
    assert expected == PYDIAL_IDS
    assert dialog_gym.SUITES["pydial18"] == expected
    for prefix, (_, n_actions, _) in zip(("CR", "SFR", "LAP"), SHIPPED.values(), strict=True):
        assert gym.make(f"dialog_gym/PyDial-{prefix}-Env1-v0").action_space.n == n_actions
    env3 = gym.make("dialog_gym/PyDial-CR-Env3-v0").unwrapped
    env5 = gym.make("dialog_gym/PyDial-CR-Env5-v0").unwrapped
    assert (env3.error_rate, env3.masks, env3.profile.name) == (0.15, True, "standard")
    assert (env5.profile.name, gym.make("dialog_gym/PyDial-CR-Env6-v0").unwrapped.error_rate) == ("unfriendly", 0.3)
    assert gym.make("dialog_gym/PyDial-CR-Env4-v0").unwrapped.masks is False


# ------------------------------------------------------------------ success and reward, by hand
def cr(env_id="dialog_gym/PyDial-CR-Env1-v0", **kwargs):
    return gym.make(env_id, **kwargs)


GOAL = {"food": "italian", "pricerange": "moderate", "area": "centre"}


def act(env, name):
    return env.unwrapped.actions.index(name)


def play(env, names, scenario, seed=0):
    env.reset(seed=seed, options={"scenario": scenario})
    rewards = []
    for name in names:
        _, reward, terminated, truncated, info = env.step(act(env, name))
        rewards.append(reward)
        if terminated or truncated:
            break
    return rewards, info, terminated, truncated


def test_a_successful_dialogue_returns_20_minus_its_turns():
    env = cr()
    scenario = {"constraints": GOAL, "requests": ["phone"], "params": ZERO}
    names = ["request_food", "request_pricerange", "request_area", "inform", "inform_byname", "bye"]
    rewards, info, terminated, truncated = play(env, names, scenario)
    assert rewards == [-1, -1, -1, -1, -1, 19] and terminated and not truncated
    assert info["success"] and sum(rewards) == 20 - 6
    text = env.unwrapped.transcript()
    assert 'inform(name="pizza express fen ditton",phone="01223 324033")' in text
    assert text.splitlines()[-1] == "BOT:  bye()"


def test_no_success_when_a_request_was_not_informed_or_the_offer_was_turned_down():
    env = cr("dialog_gym/PyDial-CR-Env2-v0", bye_mask=False)
    scenario = {"constraints": GOAL, "requests": ["phone"], "params": ZERO}
    rewards, info, terminated, _ = play(env, ["request_food", "request_pricerange", "request_area", "inform", "bye"],
                                        scenario)
    assert terminated and not info["success"] and sum(rewards) == -5  # no failure penalty
    turned_down = {**scenario, "params": {**ZERO, "ReqAltsAfterVenRec1": 1.0}}
    rewards, info, _, _ = play(env, ["request_food", "request_pricerange", "request_area", "inform",
                                     "inform_byname", "bye"], turned_down)
    assert not info["success"] and sum(rewards) == -6
    assert "reqalts()" in env.unwrapped.transcript()


def test_repeating_costs_patience_and_25_turns_truncate():
    env = cr("dialog_gym/PyDial-CR-Env2-v0")
    scenario = {"constraints": GOAL, "requests": [], "params": ZERO, "patience": 4}
    env.reset(seed=0, options={"scenario": scenario})
    user = env.unwrapped.user
    patience = []
    turn = 0
    while turn < 30:
        turn += 1
        _, reward, terminated, truncated, info = env.step(act(env, "request_food"))
        patience.append(user.patience)
        assert reward == -1 and not terminated
        if truncated:
            break
    assert turn == 25 and truncated and not info["success"]
    assert patience[:5] == [4, 3, 2, 1, 0] and info["user_gave_up"] and info["user_act"] == "bye()"


# ------------------------------------------------------------------ the user
def user_for(task_name="CamRestaurants", profile="standard"):
    task, _, path = load_task(configs_dir() / "pydial" / task_name / "env.yml")
    return PyDialUser(task, PyDialUserProfile.load(profile, base=path.parent)), task


def test_goals_fit_two_or_three_entities_and_request_the_name():
    user, task = user_for()
    rng = np.random.default_rng(0)
    for _ in range(200):
        user.reset(rng)
        assert 2 <= task.matches(user.constraints).bit_count() <= 3
        assert set(user.constraints) <= set(task.system_requestable) and len(user.constraints) == 3
        assert "name" in user.requests and len(user.requests) <= 3
        assert 4 <= user.max_patience <= 5  # PyDial: randint(4, 6), upper bound exclusive


def test_relaxation_when_nothing_fits():
    user, task = user_for()
    rng = np.random.default_rng(1)
    none = ("inform", (("name", "none", False), ("food", "italian", False)))
    user.reset(rng, {"constraints": GOAL, "params": {**ZERO, "ConstraintRelax": 1.0}})
    assert user.turn(none) == ("reqalts", (("food", "dontcare", False),))
    assert user.constraints["food"] == "dontcare"
    user.reset(rng, {"constraints": GOAL, "params": ZERO})
    name, ((slot, value, _),) = user.turn(none)
    assert (name, slot) == ("reqalts", "food") and value not in ("italian", "dontcare")
    assert value in task.informable["food"] and user.constraints["food"] == value


def test_unfriendly_user_volunteers_less():
    def slots_in_first_act(profile):
        user, _ = user_for(profile=profile)
        rng = np.random.default_rng(2)
        return np.mean([len(user.reset(rng)[1]) for _ in range(400)])
    assert slots_in_first_act("unfriendly") < slots_in_first_act("standard")


def test_a_wrong_confirmation_is_corrected_and_a_right_one_affirmed():
    user, _ = user_for()
    rng = np.random.default_rng(3)
    user.reset(rng, {"constraints": GOAL, "params": ZERO})
    assert user.turn(("confirm", (("food", "thai", False),))) == ("inform", (("food", "italian", False),))
    assert user.turn(("confirm", (("area", "centre", False),)))[0] == "affirm"


# ------------------------------------------------------------------ N-best noise
def test_nbest_lists_at_15_percent():
    task, _, _ = load_task(configs_dir() / "pydial" / "CamRestaurants" / "env.yml")
    values = {s: (*v, "dontcare") for s, v in task.informable.items()}
    channel = NBestChannel(0.15, 5, ["inform", "request", "affirm", "negate", "bye", "null"], task.requestable,
                           values, task.system_requestable)
    rng = np.random.default_rng(0)
    true = ("inform", (("food", "italian", False),))
    top_right, top_conf = 0, []
    for _ in range(4000):
        nbest = channel.observe(true, rng)
        assert 1 <= len(nbest) <= 6 and abs(sum(c for _, c in nbest) - 1.0) < 1e-9
        assert len({h for h, _ in nbest}) == len(nbest) and all(0 < c <= 1 for _, c in nbest)
        if nbest[0][0] == true:
            top_right += 1
            top_conf.append(nbest[0][1])
    assert abs(top_right / 4000 - 0.85) < 0.02
    assert 0.7 < np.mean(top_conf) < 0.9
    exact = NBestChannel(0.0, 5, ["inform"], task.requestable, values, task.system_requestable)
    state = rng.bit_generator.state
    assert exact.observe(true, rng) == [(true, 1.0)] and rng.bit_generator.state == state


def test_levenshtein():
    assert levenshtein("kitten", "sitting") == 3 and levenshtein("", "abc") == 3 and levenshtein("thai", "thai") == 0


def test_observation_carries_the_nbest_confidences():
    env = cr("dialog_gym/PyDial-CR-Env6-v0")
    obs, info = env.reset(seed=4)
    names = env.unwrapped.feature_names
    confidences = [obs[names.index(f"nbest_confidence_{i}")] for i in range(5)]
    expected = ([c for _, c in info["nbest"]] + [0.0] * 5)[:5]
    assert np.allclose(confidences, expected, atol=1e-6)


# ------------------------------------------------------------------ masks
def test_masks_on_off_and_the_bye_quirk():
    on = cr()
    _, info = on.reset(seed=0)
    mask = dict(zip(on.unwrapped.actions, info["action_mask"], strict=True))
    assert mask["repeat"] == mask["restart"] == mask["bye"] == mask["inform_byname"] == mask["reqmore"] == 0
    assert mask["request_food"] == 1 and info["action_mask"].dtype == np.int8
    off = cr("dialog_gym/PyDial-CR-Env2-v0")
    _, info = off.reset(seed=0)
    assert info["action_mask"].sum() == off.action_space.n - 1 and info["action_mask"][act(off, "bye")] == 0
    _, info = cr("dialog_gym/PyDial-CR-Env2-v0", bye_mask=False).reset(seed=0)
    assert info["action_mask"].all()


def test_a_masked_act_is_an_empty_turn():
    env = cr()
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(act(env, "repeat"))
    assert reward == -1 and not terminated and info["invalid_action"]
    assert "[masked: nothing said]" in env.unwrapped.transcript()


@settings(max_examples=25, deadline=None)
@given(env_index=st.integers(0, len(PYDIAL_IDS) - 1), seed=st.integers(0, 2**31 - 1),
       actions=st.lists(st.integers(0, 39), min_size=1, max_size=40), masked=st.booleans())
def test_any_action_sequence_keeps_the_invariants(env_index, seed, actions, masked):
    env = gym.make(PYDIAL_IDS[env_index])
    obs, info = env.reset(seed=seed)
    total, turns = 0.0, 0
    for a in actions:
        a %= env.action_space.n
        if masked:
            allowed = np.flatnonzero(info["action_mask"])
            a = int(allowed[a % len(allowed)])
        obs, reward, terminated, truncated, info = env.step(a)
        total += reward
        turns += 1
        assert env.observation_space.contains(obs) and info["action_mask"].any()
        assert type(terminated) is bool and type(truncated) is bool and turns == info["turn"] <= 25
        if terminated or truncated:
            assert total == -turns + 20 * info["success"]
            assert truncated == (turns == 25 and not terminated)
            if terminated:
                assert env.unwrapped.transcript().splitlines()[-1].startswith("BOT:  bye()")
            obs, info = env.reset()
            total, turns = 0.0, 0


def test_get_state_and_set_state_replay_exactly():
    env = cr("dialog_gym/PyDial-CR-Env3-v0", info_tracker=True).unwrapped
    expert = HDCExpert.for_env(env)
    obs, info = env.reset(seed=9)
    env.step(expert(obs, info))
    snapshot = env.get_state()
    obs, info = snapshot.observation, snapshot.info

    def rest():
        o, i = obs, info
        out = []
        for _ in range(30):
            o, r, t, tr, i = env.step(expert(o, i))
            out.append((o.tobytes(), r, t, tr))
            if t or tr:
                return out
        return out

    first = rest()
    env.set_state(snapshot)
    assert rest() == first


# ------------------------------------------------------------------ the expert
@pytest.mark.parametrize("env_id", ["dialog_gym/PyDial-CR-Env1-v0", "dialog_gym/PyDial-SFR-Env1-v0",
                                    "dialog_gym/PyDial-LAP-Env1-v0"])
def test_the_expert_solves_env1(env_id):
    env = gym.make(env_id, info_tracker=True)
    results, _ = run_episodes(env, expert_act(env), 60, seed=100)
    assert sum(r.success for r in results) >= 55
