#!/usr/bin/python3
"""Write tagging.csv and tagging_test.csv: sequence tagging, a class at every
step (examples/tagging.nn), byte for byte the same on every machine.

    /usr/bin/python3 examples/data/make_tagging.py

Each row is one sequence of STEPS token ids drawn uniformly from
[0, TOKENS) (columns x0 .. x11), then one label per step (y0 .. y11): 1 if
the token at that step already appeared earlier in the sequence, else 0.
Labelling a step needs the set of tokens seen so far, so a model must carry
memory along the sequence; the majority class (0) is right at about 60% of
the steps. Python's own random module (Mersenne Twister, seeded) is used:
its stream for randrange() is stable across Python versions.
"""
import os
import random

STEPS = 12
TOKENS = 10
HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, rows, seed):
    rng = random.Random(seed)
    with open(os.path.join(HERE, name), "w") as f:
        f.write(",".join([f"x{t}" for t in range(STEPS)] + [f"y{t}" for t in range(STEPS)]) + "\n")
        for _ in range(rows):
            tokens = [rng.randrange(TOKENS) for _ in range(STEPS)]
            labels = [int(tok in tokens[:t]) for t, tok in enumerate(tokens)]
            f.write(",".join(str(v) for v in tokens + labels) + "\n")


if __name__ == "__main__":
    write("tagging.csv", 2000, 1)
    write("tagging_test.csv", 500, 2)
