"""The custom policy of Rasa Core's "Policies" documentation page, run in a dialog_gym environment.

Rasa's docs showed this ``SimplePolicy`` to explain the policy contract: ``predict_action_probabilities``
reads the tracker and returns one probability per action. The class below is that code unchanged; only
its import lines differ (``rasa_core.policies.Policy`` -> ``agents.Policy``, ``rasa_core``'s
``ACTION_LISTEN_NAME`` and ``utils`` -> ``dialog_gym``'s). As in Rasa, the default actions come first
(``action_listen`` is index 0), so indices 2 and 3 are the domain's first two actions (``utter_greet``
and ``utter_goodbye`` in the restaurant domain).

What it does: when the bot has just listened, answer a greeting with action 3 and anything else with
action 2; otherwise predict nothing (all zeros). It is not a good restaurant bot, and that is not the
point: it shows that Rasa-style policy code runs here. :class:`agents.PolicyAgent` restricts the
probabilities to the actions the environment's mask allows (the first allowed action when the policy
gives none of them any probability).

    python scripts/simple_policy.py [--episodes 20] [--env dialog_gym/Restaurant-v0]
"""

# ruff: noqa: SIM401  (the class is Rasa's code, kept as the docs printed it)

import numpy as np

from agents import Policy
from dialog_gym import ACTION_LISTEN_NAME, utils


class SimplePolicy(Policy):
    def predict_action_probabilities(self, tracker, domain):
        responses = {"greet": 3}

        if tracker.latest_action_name == ACTION_LISTEN_NAME:
            key = tracker.latest_message.intent["name"]
            action = responses[key] if key in responses else 2
            return utils.one_hot(action, domain.num_actions)
        else:
            return np.zeros(domain.num_actions)


def main(argv=None) -> int:
    import argparse

    from agents import PolicyAgent
    from agents.evaluation_sim import evaluate_agent
    from dialog_gym.envs import DEFAULT_ENV_ID

    parser = argparse.ArgumentParser(description="Run Rasa's documented SimplePolicy in a dialog_gym environment.")
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--env", default=DEFAULT_ENV_ID)
    args = parser.parse_args(argv)
    summary = evaluate_agent(lambda env: PolicyAgent(SimplePolicy(), env), args.env, episodes=args.episodes)
    print(f"SimplePolicy on {args.env}: success {100 * summary['success_rate']:.1f}% over {summary['episodes']} "
          f"dialogues, {summary['mean_bot_actions']:.1f} bot actions, mean reward {summary['mean_reward']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
