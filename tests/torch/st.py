#!/usr/bin/python3
"""Read and write .safetensors files with numpy only.

The format: an 8-byte little-endian u64 N, then N bytes of JSON header, then
the raw little-endian tensor bytes. The header maps each tensor name to
{"dtype", "shape", "data_offsets": [begin, end]} (offsets into the data part)
and may hold a "__metadata__" map of strings. We pad the header with spaces to
a multiple of 8 so the data is 8-byte aligned, as the reference writer does.

    /usr/bin/python3 tests/torch/st.py FILE.safetensors   # list its tensors
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4",
          "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}
NAMES = {np.dtype(v): k for k, v in DTYPES.items()}


def save(path, tensors, metadata=None):
    """Write {name: array} (insertion order kept) and optional {str: str}."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, a in tensors.items():
        a = np.asarray(a)
        dt = a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype
        if dt not in NAMES:
            raise ValueError(f"{name}: dtype {a.dtype} has no safetensors name")
        raw = np.ascontiguousarray(a, dtype=dt).tobytes()
        header[name] = {"dtype": NAMES[dt], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def load(path):
    """Return ({name: array} in header order, metadata dict or {})."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", buf[:8])
    if 8 + n > len(buf):
        raise ValueError(f"{path}: header length {n} runs past the end")
    header = json.loads(buf[8:8 + n].decode())
    data = memoryview(buf)[8 + n:]
    meta = header.pop("__metadata__", None) or {}
    tensors, spans = {}, []
    for name, h in header.items():
        if h["dtype"] not in DTYPES:
            raise ValueError(f"{path}: {name}: unsupported dtype {h['dtype']}")
        dt = np.dtype(DTYPES[h["dtype"]])
        b, e = h["data_offsets"]
        count = int(np.prod(h["shape"], dtype=np.int64))
        if not 0 <= b <= e <= len(data) or e - b != count * dt.itemsize:
            raise ValueError(f"{path}: {name}: bad data_offsets {[b, e]}")
        spans.append((b, e))
        tensors[name] = np.frombuffer(data[b:e], dt).reshape(h["shape"]).copy()
    # The data part must be exactly the tensors, back to back, no overlaps.
    pos = 0
    for b, e in sorted(spans):
        if b != pos:
            raise ValueError(f"{path}: gap or overlap in the data at byte {b}")
        pos = e
    if pos != len(data):
        raise ValueError(f"{path}: {len(data) - pos} trailing bytes")
    return tensors, meta


if __name__ == "__main__":
    for p in sys.argv[1:]:
        ts, md = load(p)
        print(f"{p}: {len(ts)} tensors" + (f", metadata {md}" if md else ""))
        for k, v in ts.items():
            print(f"  {k:30s} {str(v.dtype):8s} {list(v.shape)}"
                  f"  min {v.min() if v.size else 0:.6g} max {v.max() if v.size else 0:.6g}")
