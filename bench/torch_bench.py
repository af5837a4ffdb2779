"""bench/torch_bench.py — the digits MLP in PyTorch, one thread, for bench/run.sh.

Same architecture (64-32-16-10, ReLU), same loss (cross-entropy from logits,
batch mean), torch.optim.Adam(lr=0.001, eps=1e-7 as nnc's Keras default), same
data (features / 16, file order, batches of 32 with a partial last batch).
The batches are tensors made before timing; the loop is the plain
zero_grad / forward / loss / backward / step, no DataLoader.

    torch_bench.py train CSV EPOCHS WARMUP
    torch_bench.py infer CSV BLOCKS CALLS   # model(x) on one sample under no_grad

Output is one "name sample sample ..." line per measurement, like the C programs.
"""
import sys
import time

import numpy as np
import torch
from torch import nn

torch.set_num_threads(1)


def load(path):
    d = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32)
    return torch.from_numpy(d[:, :64] / 16.0), torch.from_numpy(d[:, 64].astype(np.int64))


def make_model():
    torch.manual_seed(42)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 10))


def emit(name, values):
    print(name, " ".join("%.6g" % v for v in values), flush=True)


def accuracy(model, x, y):
    """Accuracy over all rows, outside any timed loop: a check that it trains."""
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def train(x, y, epochs, warmup):
    model = make_model()
    opt = torch.optim.Adam(model.parameters(), lr=0.001, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    batches = [(x[i:i + 32].contiguous(), y[i:i + 32].contiguous()) for i in range(0, len(x), 32)]
    ms, acc1 = [], None
    for e in range(warmup + epochs):
        t0 = time.perf_counter()
        for xb, yb in batches:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        dt = time.perf_counter() - t0
        if e == 0:
            acc1 = accuracy(model, x, y)
        if e >= warmup:
            ms.append(1e3 * dt)
    emit("torch_train_ms", ms)
    print("torch_train_acc_after_epochs 1 %.4f %d %.4f" % (acc1, warmup + epochs, accuracy(model, x, y)))


def infer_us(model, x, blocks, calls):
    """µs per single-sample call of model, per block of calls, after a warm-up block."""
    model.eval()
    samples = [x[i:i + 1].contiguous() for i in range(min(len(x), calls))]
    n = len(samples)
    us = []
    with torch.no_grad():
        for i in range(calls):
            model(samples[i % n])
        for _ in range(blocks):
            t0 = time.perf_counter()
            for i in range(calls):
                model(samples[i % n])
            us.append(1e6 * (time.perf_counter() - t0) / calls)
    return us


def infer(x, blocks, calls):
    emit("torch_infer_us", infer_us(make_model(), x, blocks, calls))


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("train", "infer"):
        sys.exit("usage: torch_bench.py train CSV EPOCHS WARMUP | infer CSV BLOCKS CALLS")
    x, y = load(sys.argv[2])
    a, b = int(sys.argv[3]), int(sys.argv[4])
    if sys.argv[1] == "train":
        train(x, y, a, b)
    else:
        infer(x, a, b)
    print("torch_version %s\ntorch_threads %d" % (torch.__version__, torch.get_num_threads()))


if __name__ == "__main__":
    main()
