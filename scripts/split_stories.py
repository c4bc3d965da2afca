"""Split a story file by story: the first N stories for training, the rest for testing.

    python scripts/split_stories.py data/rasa_babi/babi_stories.md 800 OUT_DIR
    # -> OUT_DIR/train.md (stories 1..800), OUT_DIR/test.md (the rest)

``dialog-gym evaluate-stories --train FILE --split N`` makes the same split without files; both use
``agents.evaluation.split_stories`` (stories joined by checkpoints cannot be split apart).
"""

import argparse
import sys
from pathlib import Path

from agents.evaluation import split_stories
from dialog_gym.errors import DialogGymError
from dialog_gym.stories import read_stories, write_stories


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stories", help="a story file")
    parser.add_argument("n_train", type=int, help="how many stories (from the start) go into train.md")
    parser.add_argument("out", help="folder for train.md and test.md")
    args = parser.parse_args(argv)
    try:
        train, test = split_stories(read_stories(args.stories), args.n_train)
    except (ValueError, DialogGymError) as exc:
        print(f"split_stories: error: {exc}", file=sys.stderr)
        return 1
    out = Path(args.out)
    write_stories(out / "train.md", train)
    write_stories(out / "test.md", test)
    print(f"wrote {out / 'train.md'} and {out / 'test.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
