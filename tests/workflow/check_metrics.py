"""check_metrics.py KIND DATA.csv PRED.csv FIRST METRIC=VALUE ... — recomputes
each metric with scikit-learn / numpy from the targets in DATA.csv (rows
FIRST.. only) and the outputs `predict` wrote to PRED.csv, and prints one
line per metric: "ok NAME" or "bad NAME: got G, sklearn S". VALUE is what
nnc printed; the tolerance is half the last printed digit plus float noise.
KIND is binary, sparse or regression; binary:T and sparse:T read a class
at every one of T steps (T labels per row; predict's T classes, then each
step's probabilities) and score every step as a sample."""
import sys

import numpy as np
from sklearn import metrics as skm

kind, data, pred, first = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
kind, _, steps = kind.partition(":")
d = np.loadtxt(data, delimiter=",", ndmin=2)[first:]
p = np.loadtxt(pred, delimiter=",", skiprows=1, ndmin=2)
assert len(d) == len(p), (len(d), len(p))
if steps:   # a row per step: label, class, then the step's probabilities
    t = int(steps)
    k = (p.shape[1] - t) // t
    y = d[:, -t:].reshape(-1, 1)
    p = np.column_stack([p[:, :t].reshape(-1), p[:, t:].reshape(-1, k)])
    d = y
want = {}
if kind == "binary":
    y, cls, prob = d[:, -1].astype(int), p[:, 0].astype(int), p[:, 1]
    want["accuracy"] = want["binary_accuracy"] = skm.accuracy_score(y, cls)
    want["precision"] = skm.precision_score(y, cls, zero_division=0)
    want["recall"] = skm.recall_score(y, cls, zero_division=0)
    want["auc"] = skm.roc_auc_score(y, prob)
elif kind == "sparse":
    y, cls, prob = d[:, -1].astype(int), p[:, 0].astype(int), p[:, 1:]
    labels = list(range(prob.shape[1]))
    want["accuracy"] = skm.accuracy_score(y, cls)
    want["precision"] = skm.precision_score(y, cls, labels=labels, average="macro", zero_division=0)
    want["recall"] = skm.recall_score(y, cls, labels=labels, average="macro", zero_division=0)
    want["top_k_accuracy"] = skm.top_k_accuracy_score(y, prob, k=3, labels=labels)
else:
    k = p.shape[1]
    y = d[:, -k:]
    want["mse"] = skm.mean_squared_error(y, p)
    want["mae"] = skm.mean_absolute_error(y, p)
    want["rmse"] = np.sqrt(want["mse"])
for arg in sys.argv[5:]:
    name, got = arg.split("=")
    digits = len(got.split(".")[1]) if "." in got else 9
    tol = 0.5 * 10.0 ** -digits + 2e-6
    ok = abs(float(got) - want[name]) <= tol
    print(("ok %s" % name) if ok else "bad %s: got %s, sklearn %.9g" % (name, got, want[name]))
