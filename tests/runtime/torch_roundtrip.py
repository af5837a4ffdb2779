"""torch_roundtrip.py make|check DIR — the runtime against PyTorch.

make: writes PyTorch state_dicts as .safetensors (by hand: struct + json +
numpy, no safetensors package) in F32 and in F64/F16/BF16, and a state_dict
for the fake binary model with the probabilities PyTorch computes from it.
check: compares what the C side wrote or printed with PyTorch, and prints
one "PASS: name" or "FAIL: name: why" line per check."""
import json
import os
import struct
import sys

import numpy as np
import torch

DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16"}
NP = {"F32": np.float32, "F64": np.float64, "F16": np.float16}


def write_st(path, tensors, meta):
    """nnc's own layout: metadata first, compact JSON, spaces to 8 bytes."""
    head, blobs, off = {}, [], 0
    if meta:
        head["__metadata__"] = meta
    for name, t in tensors:
        t = t.detach().contiguous().cpu()
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        head[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(head, separators=(",", ":"), ensure_ascii=False).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_st(path):
    blob = open(path, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    head = json.loads(blob[8 : 8 + n])
    data = blob[8 + n :]
    meta = head.pop("__metadata__", {})
    out = {}
    for name, info in head.items():
        b, e = info["data_offsets"]
        if info["dtype"] == "BF16":
            a = np.frombuffer(data[b:e], dtype=np.int16).copy()
            t = torch.from_numpy(a).view(torch.bfloat16)
        else:
            t = torch.from_numpy(np.frombuffer(data[b:e], dtype=NP[info["dtype"]]).copy())
        out[name] = t.reshape(info["shape"])
    return out, meta, list(head.keys())


class Fake(torch.nn.Module):
    """The fake model's parameters under its names: fc.weight, fc.bias."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)

    def forward(self, x):
        return self.fc(x)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(36, 3)
        self.temperature = torch.nn.Parameter(torch.tensor(2.5))


def float_state():
    torch.manual_seed(0)
    net = Net()
    net.bn.running_mean.normal_()
    net.bn.running_var.uniform_(0.5, 2)
    # num_batches_tracked is int64: not a float parameter
    return [(k, v) for k, v in net.state_dict().items() if v.is_floating_point()]


def load_csv(path):
    return np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)


def make(d):
    sd = float_state()
    write_st(os.path.join(d, "pt_f32.st"), sd, {"format": "pt", "note": "caf\u00e9 \"quoted\""})
    mixed = [(k, v.to([torch.float64, torch.float16, torch.bfloat16][i % 3])) for i, (k, v) in enumerate(sd)]
    write_st(os.path.join(d, "pt_mixed.st"), mixed, {"format": "pt"})

    # a PyTorch-made state_dict for the fake binary model, with the
    # statistics it expects, and PyTorch's own predictions
    lin = Fake()
    with torch.no_grad():
        lin.fc.weight.copy_(torch.tensor([[1.75, -0.5]]))
        lin.fc.bias.fill_(0.25)
    shift, scale = np.array([480.0, 0.001], np.float32), np.array([0.0125, 95.0], np.float32)
    meta = {"nnc.preprocess": "standardize", "nnc.shift": ",".join("%.9g" % v for v in shift),
            "nnc.scale": ",".join("%.9g" % v for v in scale)}
    write_st(os.path.join(d, "pt_fake.st"), list(lin.state_dict().items()), meta)
    x = torch.from_numpy(((load_csv(os.path.join(d, "bin_inputs.csv")).astype(np.float32) - shift) * scale))
    p = torch.sigmoid(lin(x)).detach().numpy()[:, 0]
    np.savetxt(os.path.join(d, "pt_fake_expected.csv"), p, fmt="%.9g")


FAILS = 0


def check(name, ok, why=""):
    global FAILS
    print("PASS: %s" % name if ok else "FAIL: %s: %s" % (name, why))
    FAILS += not ok


def read_pred(path):
    rows = open(path).read().splitlines()
    return rows[0], np.array([[float(v) for v in r.split(",")] for r in rows[1:]])


def verify(d):
    a, b = open(os.path.join(d, "pt_f32.st"), "rb").read(), open(os.path.join(d, "c_f32.st"), "rb").read()
    check("torch: F32 state_dict read and written back by C is byte-identical", a == b,
          "%d vs %d bytes" % (len(a), len(b)))

    sd = dict(float_state())
    got, meta, order = read_st(os.path.join(d, "c_mixed.st"))
    ok = order == list(sd) and all(got[k].dtype == torch.float32 for k in got)
    ref = dict((k, v.to([torch.float64, torch.float16, torch.bfloat16][i % 3]).float())
               for i, (k, v) in enumerate(sd.items()))
    bad = [k for k in sd if not torch.equal(got[k], ref[k])]
    check("torch: F64/F16/BF16 tensors become the floats PyTorch's .float() gives", ok and not bad,
          "mismatch in %s" % bad)
    check("torch: tensor order, shapes (incl. 0-d) and metadata survive",
          meta == {"format": "pt"} and got["temperature"].shape == () and got["conv.weight"].shape == (4, 1, 3, 3),
          str(meta))

    # weights nnc trained: load them into PyTorch and predict like nnc does
    w, meta, _ = read_st(os.path.join(d, "trained.st"))
    lin = Fake()
    try:
        lin.load_state_dict(w, strict=True)
        loaded = True
    except Exception as e:  # noqa: BLE001
        loaded, err = False, str(e)
    check("torch: nnc's weights load with load_state_dict(strict=True)", loaded, "" if loaded else err)
    train = load_csv(os.path.join(d, "bin_train.csv"))[:, :2].astype(np.float32)
    n_train = int(len(train) * (1 - 0.2))
    mean, std = train[:n_train].astype(np.float64).mean(0), train[:n_train].astype(np.float64).std(0)
    shift = np.array([float(v) for v in meta["nnc.shift"].split(",")])
    scale = np.array([float(v) for v in meta["nnc.scale"].split(",")])
    check("torch: standardize statistics are the training split's mean and population std",
          meta["nnc.preprocess"] == "standardize" and np.allclose(shift, mean, rtol=1e-6, atol=1e-9)
          and np.allclose(scale, 1 / std, rtol=1e-6), "shift %s vs %s, scale %s vs %s" % (shift, mean, scale, 1 / std))
    x = torch.from_numpy((load_csv(os.path.join(d, "bin_inputs.csv")).astype(np.float32) - shift.astype(np.float32))
                         * scale.astype(np.float32))
    p = torch.sigmoid(lin(x)).detach().numpy()[:, 0]
    header, pred = read_pred(os.path.join(d, "nnc_pred.csv"))
    check("torch: nnc predict matches PyTorch on nnc's weights",
          header == "class,p1" and pred.shape == (len(p), 2) and np.abs(pred[:, 1] - p).max() < 1e-5
          and (pred[:, 0] == (p > 0.5)).all(), "max diff %g" % np.abs(pred[:, 1] - p).max())

    header, pred = read_pred(os.path.join(d, "pt_pred.csv"))
    exp = np.loadtxt(os.path.join(d, "pt_fake_expected.csv"))
    check("torch: nnc predict with PyTorch-made weights matches PyTorch",
          pred.shape == (len(exp), 2) and np.abs(pred[:, 1] - exp).max() < 1e-5,
          "max diff %g" % np.abs(pred[:, 1] - exp).max())
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    {"make": make, "check": verify}[sys.argv[1]](sys.argv[2])
