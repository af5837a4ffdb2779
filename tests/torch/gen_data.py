#!/usr/bin/python3
"""Make a deterministic random data set that fits a model's JSON description.

    gen_data.py MODEL.json OUT.csv --samples N [--seed S] [--no-header]

Features are N(0, 1) draws; targets come from a random "teacher" network
(tanh hidden layer), so they are learnable: classes are its argmax, binary
labels its sign, regression targets its value; one-hot targets (categorical
cross-entropy) its argmax, distributions (KL divergence) its softmax, hinge
targets its sign as 0/1 (one output) or -1/1 (several). Every number is a multiple of
1/256 of modest size, exactly representable in float32 and printed exactly,
so nnc's C parser and numpy read bit-identical inputs (no rounding question).
The seed defaults to a hash of the model name: each model its own data.
"""
import argparse
import json
import math
import zlib

import numpy as np


def q(a):
    """Round to a multiple of 1/256: exact in float32 and in decimal."""
    return np.round(np.clip(a, -8, 8) * 256) / 256


def teacher(rng, x, n_out):
    w1 = rng.randn(x.shape[1], 16) / math.sqrt(x.shape[1])
    w2 = rng.randn(16, n_out) / 4
    return np.tanh(x @ w1) @ w2


def regression(rng, x, out):
    return q(2 * teacher(rng, x, math.prod(out)))


def one_hot(rng, x, out):
    """The teacher's argmax, one-hot, for each row of k (every step of [T, k])."""
    k = out[-1]
    return np.eye(k, dtype=int)[teacher(rng, x, math.prod(out)).reshape(len(x), -1, k).argmax(-1)]


def distribution(rng, x, out):
    """Softmax of the teacher in multiples of 1/256 that sum to exactly 1:
    the first k - 1 rounded down, the last what is left (so none is < 0)."""
    z = 4 * teacher(rng, x, math.prod(out)).reshape(-1, out[-1])   # a row per step of [T, k]
    p = np.exp(z - z.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    p[:, :-1] = np.floor(p[:, :-1] * 256) / 256
    p[:, -1] = 1 - p[:, :-1].sum(-1)
    return p.reshape(len(x), -1)


def hinge(rng, x, out):
    """Signs of the teacher: 0/1 for one output (as for binary
    cross-entropy, which hinge converts), -1/1 for several."""
    s = teacher(rng, x, math.prod(out)) > 0
    return s.astype(int) if math.prod(out) == 1 else 2 * s.astype(int) - 1


# loss -> targets per sample from (rng, features, output shape)
TARGETS = {
    "mse": regression,
    "mean_squared_error": regression,
    "mae": regression,
    "mean_absolute_error": regression,
    "huber": regression,
    "log_cosh": regression,
    "binary_crossentropy":
        lambda rng, x, out: (teacher(rng, x, math.prod(out)) > 0).astype(int),
    "sparse_categorical_crossentropy":
        lambda rng, x, out: teacher(rng, x, math.prod(out)).reshape(
            len(x), -1, out[-1]).argmax(-1),
    "categorical_crossentropy": one_hot,
    "kl_divergence": distribution,
    "hinge": hinge,
}
# Keras's other names for the same losses
TARGETS.update(kld=distribution, kullback_leibler_divergence=distribution,
               logcosh=regression, huber_loss=regression)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model")
    p.add_argument("out")
    p.add_argument("--samples", type=int, required=True)
    p.add_argument("--seed", type=int)
    p.add_argument("--no-header", action="store_true")
    a = p.parse_args()
    with open(a.model) as f:
        spec = json.load(f)
    loss = spec["loss"] if isinstance(spec["loss"], str) else spec["loss"]["type"]
    if loss not in TARGETS:
        raise SystemExit(f"gen_data.py: no target generator for loss {loss!r}")
    seed = a.seed if a.seed is not None else zlib.crc32(spec["name"].encode())
    rng = np.random.RandomState(seed)   # legacy stream: frozen across numpy versions
    x = q(rng.randn(a.samples, math.prod(spec["input"])))
    first = spec["layers"][0]
    if first["type"] == "embedding":    # token ids: integers in [0, input_dim)
        x = rng.randint(0, first["input_dim"], size=x.shape).astype(float)
    y = TARGETS[loss](rng, x, spec["layers"][-1]["output_shape"])
    rows = np.concatenate([x, y.reshape(len(x), -1)], axis=1)
    with open(a.out, "w") as f:
        if not a.no_header:
            names = [f"x{i}" for i in range(x.shape[1])]
            names += [f"y{i}" for i in range(rows.shape[1] - x.shape[1])]
            f.write(",".join(names) + "\n")
        for r in rows:   # integers as integers; repr() of a dyadic is exact
            f.write(",".join(str(int(v)) if v == int(v) else repr(float(v))
                             for v in r) + "\n")


if __name__ == "__main__":
    main()
