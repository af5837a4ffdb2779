"""The first N training and M test images of Fashion-MNIST (Debian's gzipped
IDX files) as plain IDX files named as MNIST's, so that a model finds the
labels beside the images: for short end-to-end runs and benchmarks.

    python3 tools/fashion_subset.py SRC_DIR DST_DIR N_TRAIN N_TEST
"""
import gzip
import sys

src, dst, n_train, n_test = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for split, n in (("train", n_train), ("t10k", n_test)):
    for kind, per in (("images-idx3", 784), ("labels-idx1", 1)):
        with gzip.open(f"{src}/{split}-{kind}-ubyte.gz") as f:
            head = bytearray(f.read(16 if per > 1 else 8))
            data = f.read(n * per)
        head[4:8] = n.to_bytes(4, "big")
        with open(f"{dst}/{split}-{kind}-ubyte", "wb") as f:
            f.write(head + data)
