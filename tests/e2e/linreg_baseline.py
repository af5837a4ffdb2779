#!/usr/bin/python3
"""Test RMSE of ordinary least squares (with an intercept) on nnc-style CSVs.

    linreg_baseline.py TRAIN.csv TEST.csv      -> prints the RMSE

The bar a neural network on the same split must beat: if nnc's MLP does no
better than a straight line, something in training is wrong.
"""
import sys

import numpy as np


def load(path):
    a = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)  # header row
    return np.hstack([a[:, :-1], np.ones((len(a), 1))]), a[:, -1]


x, y = load(sys.argv[1])
xt, yt = load(sys.argv[2])
w = np.linalg.lstsq(x, y, rcond=None)[0]
print(f"{np.sqrt(np.mean((xt @ w - yt) ** 2)):.4f}")
