#!/usr/bin/python3
"""Compare two .safetensors files tensor by tensor (A = nnc, B = reference).

    compare.py A.safetensors B.safetensors [--rtol 1e-4] [--floor 1e-6]

For each tensor it prints the largest |a - b| and the error relative to the
tensor's scale:

    rel = max|a - b| / max(max|b|, floor)

Why the tensor's scale and not each element's |b|: two float32 programs that
sum in different orders differ by rounding noise proportional to the size of
the numbers involved, and after training an element that ended up near zero
carries the same absolute noise as its neighbours; an element-wise relative
test would flag it for nothing. The floor only guards all-zero tensors.
Any NaN or Inf, a missing or extra tensor, or a shape mismatch fails.
Exits 1 and names the worst tensor when it is over rtol.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--rtol", type=float, default=1e-4)
    p.add_argument("--floor", type=float, default=1e-6)
    args = p.parse_args()
    A, _ = st.load(args.a)
    B, _ = st.load(args.b)
    if sorted(A) != sorted(B):
        only_a, only_b = sorted(set(A) - set(B)), sorted(set(B) - set(A))
        sys.exit(f"FAIL: tensor names differ: only in A {only_a}, only in B {only_b}")
    worst, worst_rel, problems = None, -1.0, []
    for name in B:
        a, b = A[name].astype(np.float64), B[name].astype(np.float64)
        if a.shape != b.shape:
            problems.append(f"{name}: shape {list(a.shape)} vs {list(b.shape)}")
            continue
        if not (np.isfinite(a).all() and np.isfinite(b).all()):
            problems.append(f"{name}: NaN or Inf")
            continue
        diff = np.abs(a - b).max() if a.size else 0.0
        scale = np.abs(b).max() if b.size else 0.0
        rel = diff / max(scale, args.floor)
        ok = rel <= args.rtol
        print(f"{'OK ' if ok else 'BAD'} {name:32s} {str(list(b.shape)):12s} "
              f"max|a-b| {diff:.3e}  max|b| {scale:.3e}  rel {rel:.3e}")
        if rel > worst_rel:
            worst, worst_rel = name, rel
    if problems:
        sys.exit("FAIL: " + "; ".join(problems))
    if worst_rel > args.rtol:
        sys.exit(f"FAIL: {worst}: relative difference {worst_rel:.3e} > rtol {args.rtol:g}")
    print(f"OK: {len(B)} tensors, worst {worst} rel {worst_rel:.3e} <= {args.rtol:g}")


if __name__ == "__main__":
    main()
