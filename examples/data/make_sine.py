#!/usr/bin/python3
"""Write sine.csv and sine_test.csv: noisy sums of two sines, for next-step
prediction (examples/sine.nn), byte for byte the same on every machine.

    /usr/bin/python3 examples/data/make_sine.py

Each row is one sequence of STEPS + 1 values s_0 .. s_STEPS of
    s_t = a1 sin(w1 t + p1) + a2 sin(w2 t + p2) + noise,
with amplitudes, frequencies and phases drawn per sequence and Gaussian
noise of standard deviation NOISE. The inputs are s_0 .. s_{STEPS-1} (column
x0 .. x15, one feature per step) and the targets the next values s_1 ..
s_STEPS (y0 .. y15): the model sees the sequence so far and predicts the next
value at every step. Values are printed with 3 decimals and read as such.
Python's own random module (Mersenne Twister, seeded) is used: its stream
for random() and gauss() is stable across Python versions.
"""
import math
import os
import random

STEPS = 16
NOISE = 0.05
HERE = os.path.dirname(os.path.abspath(__file__))


def sequence(rng):
    a1, a2 = rng.uniform(0.5, 1.0), rng.uniform(0.1, 0.5)
    w1, w2 = rng.uniform(0.2, 0.6), rng.uniform(0.8, 1.6)
    p1, p2 = rng.uniform(0, 2 * math.pi), rng.uniform(0, 2 * math.pi)
    return [a1 * math.sin(w1 * t + p1) + a2 * math.sin(w2 * t + p2) + rng.gauss(0, NOISE)
            for t in range(STEPS + 1)]


def write(name, rows, seed):
    rng = random.Random(seed)
    with open(os.path.join(HERE, name), "w") as f:
        f.write(",".join([f"x{t}" for t in range(STEPS)] + [f"y{t}" for t in range(STEPS)]) + "\n")
        for _ in range(rows):
            s = ["%.3f" % v for v in sequence(rng)]
            f.write(",".join(s[:-1] + s[1:]) + "\n")


if __name__ == "__main__":
    write("sine.csv", 800, 1)
    write("sine_test.csv", 200, 2)
