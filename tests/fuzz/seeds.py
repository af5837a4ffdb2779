"""seeds.py OUTDIR — the starting corpus of each fuzz target, written to
OUTDIR/TARGET/: every model file under examples/ and tests/ for the front
end; small valid files of every kind the readers take (CSV with and without
a header, gzipped; IDX images and labels; .npy of each dtype and header
version, with labels; .safetensors of the xor and digits shapes, F32/F16/
BF16/F64, with and without input scaling) for the others. The first byte
of a csv/idx/npy input shapes the model the reader sees (tests/fuzz/fuzz.h):
0x01 is 2 inputs, binary, so a 2-input CSV or IDX row is valid."""
import glob
import gzip
import json
import os
import shutil
import struct
import sys

import numpy as np

out = sys.argv[1]
root = os.path.join(os.path.dirname(__file__), "..", "..")


def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


for i, p in enumerate(sorted(glob.glob(os.path.join(root, "examples", "**", "*.nn"), recursive=True) +
                           glob.glob(os.path.join(root, "tests", "**", "*.nn"), recursive=True))):
    with open(p, "rb") as f:
        put("model", "%03d-%s" % (i, os.path.basename(p)), f.read())

# desc byte 0x09: n_in 2, binary; 0x12: n_in 3, sparse (3 classes)
csvs = [b"\x09x0,x1,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n", b"\x09 1.5, -2e3 ,1\r\n\"3\",4,0\n",
        b"\x12a,b,c,label\n0.1,0.2,0.3,2\n1,2,3,0\n"]
for i, c in enumerate(csvs):
    put("csv", "csv%d" % i, c)
    put("idx", "csv%d" % i, c)                       # nnc_data_load falls to CSV
    put("idx", "csv%d.gz" % i, c[:1] + gzip.compress(c[1:], mtime=0))


def idx(arr):
    arr = np.asarray(arr, dtype=np.uint8)
    return bytes([0, 0, 8, arr.ndim]) + b"".join(struct.pack(">I", n) for n in arr.shape) + arr.tobytes()


img = np.arange(5 * 2 * 2).reshape(5, 2, 2) % 256
put("idx", "images", b"\x13" + idx(img))                               # n_in 4, sparse
put("idx", "images_labels", b"\x13" + idx(img) + b"LBLS" + idx([0, 1, 2, 1, 0]))
put("idx", "images_labels.gz", b"\x13" + gzip.compress(idx(img), mtime=0) + b"LBLS" +
    gzip.compress(idx([0, 1, 2, 1, 0]), mtime=0))


def npy(a, version=1):
    import io
    b = io.BytesIO()
    np.lib.format.write_array(b, a, version=(version, 0))
    return b.getvalue()


x = np.arange(12, dtype=np.float32).reshape(4, 3)      # 2 inputs + 1 target per row
for dt in ["<f4", "<f8", "<i4", "|u1", "|b1", "<i8"]:
    put("npy", "rows_%s" % dt.strip("<|"), b"\x09" + npy(x.astype(dt)))
for v in (2, 3):
    put("npy", "rows_v%d" % v, b"\x09" + npy(x, v))
put("npy", "x_y", b"\x09" + npy(x[:, :2].reshape(4, 2)) + b"LBLS" + npy(np.array([0, 1, 1, 0], np.int64)))


def st(tensors, meta=None):
    h, data = {}, b""
    if meta:
        h["__metadata__"] = meta
    for name, dtype, arr in tensors:
        raw = arr.astype({"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8"}[dtype]).tobytes() \
            if dtype != "BF16" else (arr.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
        h[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    hs = json.dumps(h).encode()
    hs += b" " * (-len(hs) % 8)
    return struct.pack("<Q", len(hs)) + hs + data


rng = np.random.default_rng(1)
xor = [("hidden.weight", (4, 2)), ("hidden.bias", (4,)), ("out.weight", (1, 4)), ("out.bias", (1,))]
for dt in ["F32", "F64", "F16", "BF16"]:
    put("safetensors", "xor_" + dt, st([(n, dt, rng.standard_normal(s)) for n, s in xor],
                                       {"format": "pt", "nnc.model": "xor", "nnc.preprocess": "none"}))
put("safetensors", "xor_nometa", st([(n, "F32", rng.standard_normal(s)) for n, s in xor]))
digits = [("fc1.weight", (32, 64)), ("fc1.bias", (32,)), ("fc2.weight", (16, 32)), ("fc2.bias", (16,)),
          ("fc3.weight", (10, 16)), ("fc3.bias", (10,))]
scale = {"format": "pt", "nnc.model": "digits", "nnc.preprocess": "min_max",
         "nnc.shift": ",".join(["0"] * 64), "nnc.scale": ",".join(["0.0625"] * 64)}
put("load", "digits", st([(n, "F32", rng.standard_normal(s)) for n, s in digits], scale))
put("safetensors", "digits", st([(n, "F32", rng.standard_normal(s)) for n, s in digits], scale))
