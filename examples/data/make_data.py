#!/usr/bin/python3
"""Regenerate the example data sets in this directory, byte for byte.

    /usr/bin/python3 examples/data/make_data.py

Sources are the copies shipped inside Debian's python3-sklearn (no network).
Values are copied as the source text, never re-formatted, so the CSVs do not
depend on float printing. Randomness uses numpy's legacy RandomState, whose
stream numpy keeps frozen across versions (the newer Generator's is not
guaranteed to be), so the splits are the same on every machine.
"""
import csv
import gzip
import os

import numpy as np

SEED = 20240601
TEST_FRACTION = 0.2
# The data files that ship inside the installed scikit-learn package.
import sklearn  # noqa: E402  (only its location is used)
SKDATA = os.path.join(os.path.dirname(sklearn.__file__), "datasets", "data")
HERE = os.path.dirname(os.path.abspath(__file__))


def write_csv(name, header, rows):
    with open(os.path.join(HERE, name), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    print(f"wrote {name}: {len(rows)} rows x {len(header)} columns")


def digits(rng):
    with gzip.open(os.path.join(SKDATA, "digits.csv.gz"), "rt") as f:
        rows = [line.strip().split(",") for line in f if line.strip()]
    assert len(rows) == 1797 and all(len(r) == 65 for r in rows)
    labels = np.array([int(r[-1]) for r in rows])
    # Stratified: 20% of each class goes to the test set, so both sets keep
    # the class balance; then each set is shuffled because the source file
    # cycles through the classes in order.
    test = []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(labels == c))
        test.extend(idx[: int(round(len(idx) * TEST_FRACTION))])
    is_test = np.zeros(len(rows), bool)
    is_test[test] = True
    train_idx = rng.permutation(np.flatnonzero(~is_test))
    test_idx = rng.permutation(np.flatnonzero(is_test))
    header = [f"p{i}" for i in range(64)] + ["label"]
    write_csv("digits.csv", header, [rows[i] for i in train_idx])
    write_csv("digits_test.csv", header, [rows[i] for i in test_idx])


def housing(rng):
    with open(os.path.join(SKDATA, "boston_house_prices.csv")) as f:
        lines = list(csv.reader(f))
    count = int(lines[0][0])            # first line: "506,13,,,..."
    header, rows = lines[1], lines[2:]
    assert count == len(rows) == 506 and len(header) == 14
    perm = rng.permutation(len(rows))
    n_test = int(len(rows) * TEST_FRACTION)
    write_csv("housing.csv", header, [rows[i] for i in perm[n_test:]])
    write_csv("housing_test.csv", header, [rows[i] for i in perm[:n_test]])


def xor():
    write_csv("xor.csv", ["x1", "x2", "y"],
              [[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 0]])


def and_or():
    """The linearly separable truth tables a perceptron learns."""
    for name, f in (("and.csv", lambda a, b: a & b), ("or.csv", lambda a, b: a | b)):
        write_csv(name, ["x1", "x2", "y"],
                  [[a, b, f(a, b)] for a in (0, 1) for b in (0, 1)])


if __name__ == "__main__":
    # One stream per data set, so adding a data set never changes another.
    digits(np.random.RandomState(SEED))
    housing(np.random.RandomState(SEED + 1))
    xor()
    and_or()
