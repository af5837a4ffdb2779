#!/usr/bin/python3
"""RMSE of the naive next-step forecast "the next value equals this one" on
a next-step CSV (x0..x{T-1} then y0..y{T-1}, y_t = x_{t+1}): the bar
examples/sine.nn must beat.

    last_value_baseline.py TEST.csv
"""
import csv
import math
import sys

with open(sys.argv[1]) as f:
    rows = list(csv.reader(f))[1:]
steps = len(rows[0]) // 2
err = [(float(r[t]) - float(r[steps + t])) ** 2 for r in rows for t in range(steps)]
print(f"{math.sqrt(sum(err) / len(err)):.6f}")
