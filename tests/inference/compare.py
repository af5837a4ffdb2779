"""compare.py PREDICT.csv HARNESS.out TOL [skip|rel]: every value of the
inference build's output equals nnc predict's within TOL; `skip` drops
predict's first column (the class); `rel` makes TOL relative to the value
(TOL * max(1, |value|)): folding the input scaling into the weights reorders
float rounding, and float carries only ~7 digits of a value near 20. Prints
the largest (scaled) difference."""
import sys

pred, got, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
mode = sys.argv[4] if len(sys.argv) > 4 else ""
skip, rel = mode == "skip", mode == "rel"
a = [list(map(float, l.split(",")))[1 if skip else 0:] for l in open(pred).read().split("\n")[1:] if l]
b = [list(map(float, l.split(","))) for l in open(got).read().split("\n") if l]
if len(a) != len(b) or any(len(r) != len(s) for r, s in zip(a, b)):
    sys.exit(f"{len(a)} rows from predict, {len(b)} from the inference build")
worst = max(abs(u - v) / (max(1.0, abs(u)) if rel else 1.0) for r, s in zip(a, b) for u, v in zip(r, s))
print(f"{len(a)} samples, max {'relative ' if rel else ''}difference {worst:.3g} (tolerance {tol:g})")
sys.exit(0 if worst <= tol else 1)
