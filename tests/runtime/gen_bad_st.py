"""gen_bad_st.py OUTDIR — safetensors files for the fake binary model
(fc.weight [1, 2], fc.bias [1], standardized inputs): one good file and many
broken ones, each of which the runtime must refuse with a clear message.
Standard library only: the format is written by hand."""
import json
import os
import struct
import sys

OUT = sys.argv[1]
STATS = {"nnc.preprocess": "standardize", "nnc.shift": "500,0", "nnc.scale": "0.01,100"}
FMT = {"F32": "<f", "F64": "<d", "I64": "<q", "I32": "<i"}


def build(tensors, meta=STATS, header=None):
    """tensors: list of (name, dtype, shape, values[, offsets])."""
    head, data = {}, b""
    if meta is not None:
        head["__metadata__"] = meta
    for t in tensors:
        name, dtype, shape, values = t[:4]
        raw = b"".join(struct.pack(FMT[dtype], v) for v in values)
        offsets = t[4] if len(t) > 4 else [len(data), len(data) + len(raw)]
        head[name] = {"dtype": dtype, "shape": shape, "data_offsets": offsets}
        data += raw
    h = header if header is not None else json.dumps(head, separators=(",", ":"))
    h = h.encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


W = ("fc.weight", "F32", [1, 2], [0.5, -0.25])
B = ("fc.bias", "F32", [1], [0.125])
good = build([W, B])
files = {
    "good": good,
    "empty": b"",
    "truncated": good[:-2],
    "truncated_header": good[:20],
    "bad_json": build([W, B], header='{"fc.weight":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},'),
    "offsets_past_end": build([W, ("fc.bias", "F32", [1], [0.125], [8, 16])]),
    "wrong_shape": build([("fc.weight", "F32", [2, 1], [0.5, -0.25]), B]),
    "missing": build([W]),
    "extra": build([W, B, ("fc2.weight", "F32", [1], [1.0])]),
    "other_model": build([("conv.weight", "F32", [2, 1], [1, 2]), ("conv.bias", "F32", [2], [1, 2])]),
    "many_extra": build([W, B] + [("x%d" % i, "F32", [1], [0.0]) for i in range(15)]),
    "int_dtype": build([W, ("fc.bias", "I32", [1], [1])]),
    "int64_range": build([W, ("fc.bias", "I64", [1], [1 << 25])]),
    "f64_range": build([("fc.weight", "F64", [1, 2], [1e300, 0.0]), B]),
    "no_stats": build([W, B], meta={"format": "pt"}),
    "bad_stats": build([W, B], meta={"nnc.preprocess": "standardize", "nnc.shift": "1", "nnc.scale": "1,1"}),
    "nan_stats": build([W, B], meta={"nnc.preprocess": "standardize", "nnc.shift": "1,2", "nnc.scale": "1,nan"}),
    "unknown_prep": build([W, B], meta={"nnc.preprocess": "zscore"}),
}
for name, blob in files.items():
    with open(os.path.join(OUT, name + ".st"), "wb") as f:
        f.write(blob)
