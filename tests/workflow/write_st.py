"""write_st.py OUT NAME=v,v,...:shape ... — writes F32 tensors to a
.safetensors file, e.g. fc.weight=1,0,0,1:2x2 (shape given as AxB)."""
import json
import struct
import sys

out, specs = sys.argv[1], sys.argv[2:]
header, data = {}, b""
for spec in specs:
    name, rest = spec.split("=", 1)
    values, shape = rest.split(":")
    vals = [float(v) for v in values.split(",")]
    raw = struct.pack("<%df" % len(vals), *vals)
    header[name] = {"dtype": "F32", "shape": [int(s) for s in shape.split("x")],
                    "data_offsets": [len(data), len(data) + len(raw)]}
    data += raw
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + data)
