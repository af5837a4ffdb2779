#!/usr/bin/python3
"""Compare `nnc predict`'s output with `ref.py forward`'s (inference mode).

    compare_predict.py MODEL.json NNC_PREDICT.csv REF_FORWARD.txt [--atol 1e-5]

nnc predict writes probabilities for classifiers with logits (softmax of the
logits, 6 decimals after a class column) and the values themselves for
regression; ref.py forward prints the raw outputs. Used for the models with
dropout and batch norm: their inference mode (no dropout, running
statistics) is what predict and PyTorch's eval() compute.
"""
import argparse
import json
import sys

import numpy as np


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("nnc")
    p.add_argument("ref")
    p.add_argument("--atol", type=float, default=1e-5)
    a = p.parse_args()
    spec = json.load(open(a.model))
    loss = spec["loss"] if isinstance(spec["loss"], str) else spec["loss"]["type"]
    ref = np.array([[float(v) for v in ln.split(",")] for ln in open(a.ref)
                    if ln.strip() and not ln.startswith("#")])
    lines = open(a.nnc).read().split("\n")
    header = lines[0].split(",")
    ours = np.array([[float(v) for v in ln.split(",")] for ln in lines[1:] if ln.strip()])
    if header[0] == "class":
        ours = ours[:, 1:]
        if loss in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
            e = np.exp(ref - ref.max(1, keepdims=True))
            ref = e / e.sum(1, keepdims=True)
    if ours.shape != ref.shape:
        sys.exit(f"FAIL: shapes {ours.shape} vs {ref.shape}")
    diff = np.abs(ours - ref).max()
    scale = max(np.abs(ref).max(), 1.0)
    print(f"{'OK' if diff <= a.atol * scale else 'FAIL'}: inference outputs max|a-b| {diff:.3e} over {len(ref)} samples")
    sys.exit(0 if diff <= a.atol * scale else 1)


if __name__ == "__main__":
    main()
