"""bench/torch_lenet.py — LeNet-5 (examples/lenet5.nn) in PyTorch, one thread, for bench/run.sh.

The same network: Conv2d(1, 6, 5, padding=2), ReLU, MaxPool2d(2), Conv2d(6, 16, 5),
ReLU, MaxPool2d(2), 400-120-84-10 with ReLU, cross-entropy from logits,
torch.optim.Adam(lr=0.001, eps=1e-7 as nnc's Keras default); Fashion-MNIST
pixels / 255 in file order, batches of 32. The batches are tensors made
before timing; the loop is the plain zero_grad / forward / loss / backward / step.

    torch_lenet.py train IMAGES.gz LABELS.gz EPOCHS BLOCK   # s per block of BLOCK images
    torch_lenet.py infer IMAGES.gz BLOCKS CALLS             # model(x) on one image under no_grad

Output is one "name sample sample ..." line per measurement, like the C programs.
"""
import gzip
import os
import sys
import time

import numpy as np
import torch
from torch import nn

from torch_bench import emit, infer_us  # the same timing loop and output format as the MLP's

torch.set_num_threads(1)


def idx(path, header):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=header)


# KCNN=1 in the environment: the textbook Keras CNN (bench/keras_cnn.nn) instead, batches of 128:
# Conv2d(1, 32, 3), ReLU, MaxPool2d(2), Conv2d(32, 64, 3), ReLU, MaxPool2d(2), Flatten,
# Dropout(0.5), Linear(1600, 10); output lines named kcnn_* instead of lenet_*.
KCNN = os.environ.get("KCNN") == "1"
TAG = "kcnn" if KCNN else "lenet"
BATCH = 128 if KCNN else 32


def make_model():
    torch.manual_seed(42)
    if KCNN:
        return nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Dropout(0.5), nn.Linear(1600, 10))
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def train(x, y, epochs, block):
    model = make_model()
    opt = torch.optim.Adam(model.parameters(), lr=0.001, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()

    def steps(r0, r1):
        for r in range(r0, r1, BATCH):
            xb, yb = x[r:min(r + BATCH, r1)], y[r:min(r + BATCH, r1)]
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()

    steps(0, block)     # warm-up
    s = []
    for _ in range(epochs):
        for k in range(len(x) // block):
            t0 = time.perf_counter()
            steps(k * block, (k + 1) * block)
            s.append(time.perf_counter() - t0)
    emit(TAG + "_torch_block_s", s)
    with torch.no_grad():
        model.eval()    # in chunks: the Keras CNN's first activation over 60000 images would be 5 GB
        right = sum(int((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum()) for i in range(0, len(x), 1000))
        print(TAG + "_torch_train_acc %.4f" % (right / len(x)))


def infer(x, blocks, calls):
    emit(TAG + "_torch_infer_us", infer_us(make_model(), x, blocks, calls))


def main():
    a = sys.argv
    if len(a) == 6 and a[1] == "train":
        x = torch.from_numpy(idx(a[2], 16).astype(np.float32) / 255).reshape(-1, 1, 28, 28)
        y = torch.from_numpy(idx(a[3], 8).astype(np.int64))
        train(x, y, int(a[4]), int(a[5]))
    elif len(a) == 5 and a[1] == "infer":
        x = torch.from_numpy(idx(a[2], 16).astype(np.float32) / 255).reshape(-1, 1, 28, 28)
        infer(x, int(a[3]), int(a[4]))
    else:
        sys.exit("usage: torch_lenet.py train IMAGES LABELS EPOCHS BLOCK | infer IMAGES BLOCKS CALLS")


if __name__ == "__main__":
    main()
