"""gen_data.py OUTDIR — writes the small, deterministic CSV files the runtime
tests train on (standard library only)."""
import os
import random
import sys


def write(path, header, rows):
    with open(path, "w") as f:
        if header:
            f.write(header + "\n")
        for r in rows:
            f.write(",".join(repr(round(v, 6)) if isinstance(v, float) else str(v) for v in r) + "\n")


def binary(rng, n):
    # separable by z0 + z1 > 0, but on wildly different scales: only
    # standardized inputs train well with one learning rate
    rows = []
    while len(rows) < n:
        z0, z1 = rng.gauss(0, 1), rng.gauss(0, 1)
        s = z0 + z1
        if abs(s) < 0.3:
            continue
        rows.append([500 + 100 * z0, 0.01 * z1, int(s > 0)])
    return rows


def sparse(rng, n):
    centers = [(0, 0), (4, 0), (2, 4)]
    rows = []
    for i in range(n):
        c = i % 3
        x0 = centers[c][0] + rng.gauss(0, 0.7)
        x1 = centers[c][1] + rng.gauss(0, 0.7)
        rows.append([10 * x0 + 50, x1, c])
    rng.shuffle(rows)
    return rows


def one_hot(rows, k):
    # the class column of sparse() as k columns, some written as 1.0 / 0.0
    return [r[:-1] + [float(j == r[-1]) if i % 2 else int(j == r[-1]) for j in range(k)]
            for i, r in enumerate(rows)]


def regression(rng, n):
    rows = []
    for _ in range(n):
        x0, x1 = rng.uniform(-1, 1), rng.uniform(-1, 1)
        rows.append([x0, x1, 2 * x0 - 3 * x1 + 1 + rng.gauss(0, 0.05), -x0 + 0.5 * x1 + rng.gauss(0, 0.05)])
    return rows


def main():
    out = sys.argv[1]
    rng = random.Random(1234)
    write(os.path.join(out, "bin_train.csv"), "x0,x1,label", binary(rng, 500))
    test = binary(rng, 200)
    write(os.path.join(out, "bin_test.csv"), "x0,x1,label", test)
    write(os.path.join(out, "bin_inputs.csv"), "x0,x1", [r[:2] for r in test])
    sp_train, sp_test = sparse(rng, 300), sparse(rng, 150)
    write(os.path.join(out, "sp_train.csv"), "a,b,class", sp_train)
    write(os.path.join(out, "sp_test.csv"), "a,b,class", sp_test)
    write(os.path.join(out, "oh_train.csv"), "a,b,c0,c1,c2", one_hot(sp_train, 3))
    write(os.path.join(out, "oh_test.csv"), "a,b,c0,c1,c2", one_hot(sp_test, 3))
    write(os.path.join(out, "reg_train.csv"), None, regression(rng, 400))
    write(os.path.join(out, "reg_test.csv"), None, regression(rng, 100))


main()
