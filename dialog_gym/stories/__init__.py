"""Rasa Core markdown stories: reading, writing, and training-tracker generation.

Format (Rasa Core 0.7–0.14)::

    ## story name                      a block; a story is a path through blocks
    > checkpoint                       at the start: continue from blocks ending here
    * greet                            a user turn (action_listen is implied before it)
    * inform{"cuisine": "italian"}     with entities (they fill slots of the same name)
    * _inform[cuisine=italian]         the Rasa 0.7 form of the same
    * affirm OR thankyou               alternatives: the story branches
     - utter_ask_location              a bot action
     - slot{"cuisine": "italian"}      an event (slot, restart, reset_slots, undo, rewind)
    > checkpoint                       at the end: the story continues in blocks starting here
    <!-- comment -->

Malformed input raises :class:`~dialog_gym.errors.StoryError` with the file, the line and what was
expected; nothing is skipped silently. :func:`generate_trackers` walks the story graph as Rasa's
training-data generator does (checkpoints joined, ``* a OR b`` expanded, ``augmentation_factor``
stories glued end to start, duplicates removed).

One module per concern, every public name re-exported here:

* :mod:`~dialog_gym.stories.structures`: the story graph (:class:`StoryGraph`, :class:`StoryStep`,
  :class:`UserTurn`, :class:`Checkpoint`);
* :mod:`~dialog_gym.stories.reader`: :func:`read_stories`, :func:`parse_stories`;
* :mod:`~dialog_gym.stories.writer`: :func:`events_to_story`, :func:`graph_to_string`, :func:`write_stories`;
* :mod:`~dialog_gym.stories.generation`: training trackers (:func:`generate_trackers`, augmentation).
"""

from dialog_gym.stories.generation import generate_trackers, trackers_from_stories
from dialog_gym.stories.reader import parse_stories, read_stories
from dialog_gym.stories.structures import STORY_START, Checkpoint, StoryGraph, StoryStep, UserTurn
from dialog_gym.stories.writer import events_to_story, graph_to_string, write_stories

__all__ = [
    "STORY_START",
    "Checkpoint",
    "StoryGraph",
    "StoryStep",
    "UserTurn",
    "events_to_story",
    "generate_trackers",
    "graph_to_string",
    "parse_stories",
    "read_stories",
    "trackers_from_stories",
    "write_stories",
]
