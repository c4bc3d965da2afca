"""The chat interface: every turn-level task as an OpenAI-style chat with tool calls, for language-model agents.

``dialog_gym.chat.make("dialog_gym/PyDial-CR-Env1-v0")`` returns a :class:`ChatEnv`: ``reset(seed=...)`` gives
the system and the customer's first messages, ``tools`` the function tools (one per summary act), and
``step(assistant_message)`` the tool's answer and the customer's reply. See :mod:`dialog_gym.chat.env`.
"""

from dialog_gym.chat.env import (
    ChatAgent,
    ChatEnv,
    Message,
    assistant_call,
    make,
    rule_agent,
    run_chat_episode,
    run_chat_episodes,
)
from dialog_gym.chat.nlg import ActRenderer, Phrases

__all__ = ["ActRenderer", "ChatAgent", "ChatEnv", "Message", "Phrases", "assistant_call", "make", "rule_agent",
           "run_chat_episode", "run_chat_episodes"]
