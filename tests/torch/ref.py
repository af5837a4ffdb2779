#!/usr/bin/python3
"""The PyTorch oracle: train the model that `nnc MODEL.nn --emit=json` describes.

    ref.py MODEL.json init OUT.safetensors --seed N
    ref.py MODEL.json train --init W.safetensors --data CSV --epochs N \
        --batch-size B --out FINAL.safetensors [--validation-split S]
    ref.py MODEL.json forward --weights W.safetensors --data CSV

Training follows what nnc does with fit(shuffle = false): the rows in file
order, the last fraction held out for validation as Keras does, consecutive
batches with a partial last one, one optimizer step per batch on the batch
mean loss plus the regularizers' penalties (as Keras adds them). Everything
the JSON can say is looked up in the tables below (ACTIVATIONS, LAYERS,
LOSSES, OPTIMIZERS, SCHEDULES, REGULARIZERS, PREPROCESS); a name or an argument
that is not there stops the script, so a new nnc feature can never be
silently ignored: add its entry here.
"""
import argparse
import functools
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402

torch.set_num_threads(1)          # fast on small models, and reproducible
torch.use_deterministic_algorithms(True)


def die(msg):
    sys.exit(f"ref.py: error: {msg}")


def check_keys(what, d, known):
    """Fail on any JSON key this script does not implement."""
    extra = sorted(set(d) - set(known))
    if extra:
        die(f"{what}: unsupported argument(s) {extra}: add them to ref.py")


def entry(table, what, spec):
    """spec is a name or {"type": name, ...}: return (table entry, args)."""
    if isinstance(spec, str):
        spec = {"type": spec}
    name = spec.get("type")
    if name not in table:
        die(f"unknown {what} {name!r} (ref.py knows {sorted(table)})")
    e = table[name]
    check_keys(f"{what} {name}", spec, {"type", *e.get("keys", ())})
    return e, spec


# ---- the catalogue ---------------------------------------------------------

# activation name -> function on the output of a layer (softmax, log_softmax:
# last axis); "keys" are the arguments the JSON gives, e.g. alpha.
ACTIVATIONS = {
    "linear":  {"fn": lambda a: (lambda x: x)},
    "relu":    {"fn": lambda a: torch.relu},
    "sigmoid": {"fn": lambda a: torch.sigmoid},
    "tanh":    {"fn": lambda a: torch.tanh},
    "softmax": {"fn": lambda a: (lambda x: torch.softmax(x, dim=-1))},
    "leaky_relu": {"keys": ("alpha",),
                   "fn": lambda a: (lambda x: F.leaky_relu(x, a["alpha"]))},
    "elu":     {"keys": ("alpha",), "fn": lambda a: (lambda x: F.elu(x, a["alpha"]))},
    "selu":    {"fn": lambda a: F.selu},
    "gelu":    {"fn": lambda a: (lambda x: F.gelu(x, approximate="none"))},
    "silu":    {"fn": lambda a: F.silu},
    "swish":   {"fn": lambda a: F.silu},
    "softplus": {"fn": lambda a: F.softplus},
    "softsign": {"fn": lambda a: F.softsign},
    "hard_sigmoid": {"fn": lambda a: F.hardsigmoid},   # relu6(x + 3) / 6
    "relu6":   {"fn": lambda a: F.relu6},
    "exponential": {"fn": lambda a: torch.exp},
    "log_softmax": {"fn": lambda a: (lambda x: F.log_softmax(x, dim=-1))},
    # forward only: nnc trains step only as a perceptron (not through autograd)
    "step":    {"fn": lambda a: (lambda x: (x > 0).to(x.dtype))},
}


def activation(spec):
    e, args = entry(ACTIVATIONS, "activation", spec)
    return e["fn"](args)


def dense(L):
    # nn.Linear works on the last axis, like Keras Dense; weight is [out, in].
    return (nn.Linear(L["input_shape"][-1], L["units"], bias=L["use_bias"]),
            activation(L["activation"]))


def maxout(L):
    # PyTorch has no maxout module: a Linear to units * pieces outputs, then
    # the max over each group of `pieces` consecutive outputs (max's gradient
    # goes to the first maximum of a group, as nnc's).
    u, k = L["units"], L["pieces"]
    lin = nn.Linear(L["input_shape"][-1], u * k, bias=L["use_bias"])
    return lin, lambda x: x.view(*x.shape[:-1], u, k).max(-1).values


class PaddedConv2d(nn.Conv2d):
    """nn.Conv2d after an explicit F.pad: nnc's window pads (top, left, bottom,
    right) separately, as Keras' same does with odd totals (more at the end)."""

    def __init__(self, c, f, kernel, stride, pad, bias, dilation=(1, 1), groups=1):
        super().__init__(c, f, kernel, stride=stride, padding=0, bias=bias, dilation=dilation,
                         groups=groups)
        self.pad = pad

    def forward(self, x):
        return super().forward(window_pad(x, self.pad))


class PaddedConv1d(nn.Conv1d):
    """nn.Conv1d after an explicit F.pad (left, right); the JSON window is
    that of an image of height 1."""

    def __init__(self, c, f, w, bias):
        super().__init__(c, f, w["kernel"][1], stride=w["stride"][1], padding=0, bias=bias,
                         dilation=w["dilation"][1], groups=w["groups"])
        self.pad = (w["pad"][1], w["pad"][3])

    def forward(self, x):
        return super().forward(F.pad(x, self.pad))


def window_pad(x, pad, value=0.0):
    top, left, bottom, right = pad
    return F.pad(x, (left, right, top, bottom), value=value)


def conv2d(L):
    w = L["window"]
    return (PaddedConv2d(L["input_shape"][0], L["output_shape"][0], w["kernel"], w["stride"], w["pad"],
                         L["use_bias"], w["dilation"], w["groups"]),
            activation(L["activation"]))


class SeparableConv2d(nn.Module):
    """Keras' SeparableConv2D as PyTorch writes it: a depthwise Conv2d
    (groups = C, no bias) with nnc's window, then a 1x1 Conv2d with the bias."""

    def __init__(self, L):
        super().__init__()
        w, c = L["window"], L["input_shape"][0]
        self.depthwise = PaddedConv2d(c, c * L["depth_multiplier"], w["kernel"], w["stride"], w["pad"], False,
                                      w["dilation"], w["groups"])
        self.pointwise = nn.Conv2d(c * L["depth_multiplier"], L["filters"], 1, bias=L["use_bias"])

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


def conv1d(L):
    return (PaddedConv1d(L["input_shape"][0], L["filters"], L["window"], L["use_bias"]),
            activation(L["activation"]))


def pool1d(pool2d):
    # a 1-D pooling layer as the 2-D one on [n, C, 1, L]
    def build(L):
        _, f = pool2d(L)
        return None, lambda x: f(x.unsqueeze(2)).squeeze(2)
    return build


def global_pool(kind):
    return lambda L: (None, lambda x: (x.flatten(2).mean(-1) if kind == "avg" else x.flatten(2).max(-1).values))


def max_pool(L):
    # padding never wins: -inf, as Keras' same and PyTorch's padding do
    w = L["window"]
    return None, lambda x: F.max_pool2d(window_pad(x, w["pad"], -math.inf), w["kernel"], w["stride"])


def avg_pool(L):
    # the mean of the values inside the image (Keras; PyTorch's
    # count_include_pad=False): sum over the window / count of real values
    w = L["window"]

    def f(x):
        s = F.avg_pool2d(window_pad(x, w["pad"]), w["kernel"], w["stride"])
        c = F.avg_pool2d(window_pad(torch.ones_like(x[:1, :1]), w["pad"]), w["kernel"], w["stride"])
        return s / c
    return None, f


# ---- dropout and normalization ----------------------------------------------

# Dropout's masks, as nnc draws them (compiler/emit.c): value i of a batch
# (row-major over the whole [n, ...] tensor) is kept when the top 24 bits of
# mix64(key + (i + 1) * golden) are >= round(rate * 2^24), with key =
# mix64(mix64(seed ^ mix64(step)) + layer): seed is fit's, step the optimizer
# steps taken before this batch, layer the layer's index in the model. The
# same hash here, in numpy's wrapping uint64 arithmetic, gives PyTorch nnc's
# exact masks. CTX holds the seed and the step, set by cmd_train.
CTX = {"seed": 0, "step": 0}
U64 = np.uint64


def mix64(z):
    with np.errstate(over="ignore"):
        z = np.asarray(z, dtype=U64)
        z = (z ^ (z >> U64(30))) * U64(0xbf58476d1ce4e5b9)
        z = (z ^ (z >> U64(27))) * U64(0x94d049bb133111eb)
        return z ^ (z >> U64(31))


def dropout_mask(shape, rate, layer, seed, step):
    with np.errstate(over="ignore"):
        key = mix64(mix64(U64(seed) ^ mix64(U64(step))) + U64(layer))
        i = np.arange(1, math.prod(shape) + 1, dtype=U64)
        bits = mix64(key + i * U64(0x9e3779b97f4a7c15)) >> U64(40)
    thr = int(math.floor(rate * 16777216.0 + 0.5))
    return torch.from_numpy((bits >= U64(thr)).reshape(shape))


class Dropout(nn.Module):
    """Keras' Dropout with nnc's masks: in training x * mask / (1 - rate)."""

    def __init__(self, rate, layer):
        super().__init__()
        self.rate, self.layer = rate, layer

    def forward(self, x):
        if not self.training or self.rate == 0:
            return x
        m = dropout_mask(list(x.shape), self.rate, self.layer, CTX["seed"], CTX["step"])
        return x * m.to(x.dtype) * (1.0 / (1.0 - self.rate))


class BatchNorm(nn.Module):
    """BatchNorm1d/2d (F.batch_norm, statistics over every axis but 1) with
    Keras's center and scale separately: weight (gamma) and bias (beta) each
    only if asked, and PyTorch's buffers. Keras momentum m is PyTorch's 1 - m."""

    def __init__(self, L):
        super().__init__()
        c = L["input_shape"][0]
        self.weight = nn.Parameter(torch.ones(c)) if L["scale"] else None
        self.bias = nn.Parameter(torch.zeros(c)) if L["center"] else None
        self.register_buffer("running_mean", torch.zeros(c))
        self.register_buffer("running_var", torch.ones(c))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        self.momentum, self.eps = 1.0 - L["momentum"], L["epsilon"]

    def forward(self, x):
        if self.training:
            self.num_batches_tracked += 1
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training, self.momentum, self.eps)


class LayerNorm(nn.Module):
    """nn.LayerNorm over the last axis, with center and scale separately."""

    def __init__(self, L):
        super().__init__()
        d = L["input_shape"][-1]
        self.weight = nn.Parameter(torch.ones(d)) if L["scale"] else None
        self.bias = nn.Parameter(torch.zeros(d)) if L["center"] else None
        self.d, self.eps = d, L["epsilon"]

    def forward(self, x):
        return F.layer_norm(x, (self.d,), self.weight, self.bias, self.eps)


NORM_INIT = ("beta_initializer", "gamma_initializer")
IDENTITY = lambda x: x  # noqa: E731

class Cell(nn.Module):
    """A one-layer recurrent net with torch.nn.RNN/LSTM/GRU's parameter names
    and layouts, written out step by step for activations nn.LSTM and nn.GRU
    do not offer; with the default activations ref.py uses the torch modules
    themselves."""

    def __init__(self, kind, f, units, bias, act, ract):
        super().__init__()
        g = {"simple_rnn": 1, "lstm": 4, "gru": 3}[kind]
        self.kind, self.units, self.act, self.ract = kind, units, act, ract
        self.weight_ih_l0 = nn.Parameter(torch.zeros(g * units, f))
        self.weight_hh_l0 = nn.Parameter(torch.zeros(g * units, units))
        if bias:
            self.bias_ih_l0 = nn.Parameter(torch.zeros(g * units))
            self.bias_hh_l0 = nn.Parameter(torch.zeros(g * units))
        else:
            self.bias_ih_l0 = self.bias_hh_l0 = None

    def forward(self, x):
        n, T, _ = x.shape
        h = x.new_zeros(n, self.units)
        c = x.new_zeros(n, self.units)
        xp = F.linear(x, self.weight_ih_l0, self.bias_ih_l0)
        out = []
        for t in range(T):
            hp = F.linear(h, self.weight_hh_l0, self.bias_hh_l0)
            if self.kind == "simple_rnn":
                h = self.act(xp[:, t] + hp)
            elif self.kind == "lstm":
                i, f, g, o = (xp[:, t] + hp).chunk(4, -1)
                c = self.ract(f) * c + self.ract(i) * self.act(g)
                h = self.ract(o) * self.act(c)
            else:
                xr, xz, xn = xp[:, t].chunk(3, -1)
                hr, hz, hn = hp.chunk(3, -1)
                r, z = self.ract(xr + hr), self.ract(xz + hz)
                h = (1 - z) * self.act(xn + r * hn) + z * h
            out.append(h)
        return torch.stack(out, 1), None


def recurrent(L):
    kind, units, f = L["type"], L["units"], L["input_shape"][1]
    act, ract = L["activation"], L.get("recurrent_activation", "sigmoid")
    if kind == "simple_rnn" and act in ("tanh", "relu"):
        m = nn.RNN(f, units, nonlinearity=act, bias=L["use_bias"], batch_first=True)
    elif kind == "lstm" and (act, ract) == ("tanh", "sigmoid"):
        m = nn.LSTM(f, units, bias=L["use_bias"], batch_first=True)
    elif kind == "gru" and (act, ract) == ("tanh", "sigmoid"):
        m = nn.GRU(f, units, bias=L["use_bias"], batch_first=True)
    else:
        m = Cell(kind, f, units, L["use_bias"], activation(act), activation(ract))
    last = not L["return_sequences"]
    return m, lambda out: out[0][:, -1] if last else out[0]


def bidirectional(L):
    """PyTorch's bidirectional = True module under the layer's name; its output
    [n, T, 2U] is (forward, backward) per step. The backward direction's last
    h is the one it ends with, at step 0. merge_mode combines the two."""
    r = dict(L["layer"], name=L["name"], input_shape=L["input_shape"])
    kind, units, f = r["type"], r["units"], r["input_shape"][1]
    act, ract = r["activation"], r.get("recurrent_activation", "sigmoid")
    if (act, ract) != ("tanh", "sigmoid"):
        die("bidirectional: only PyTorch's own cells (tanh, sigmoid)")
    cls = {"simple_rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
    m = cls(f, units, bias=r["use_bias"], batch_first=True, bidirectional=True)
    merge = {"concat": lambda a, b: torch.cat([a, b], -1), "sum": torch.add, "mul": torch.mul,
             "ave": lambda a, b: (a + b) / 2}[L["merge_mode"]]

    def out(o):
        o = o[0]
        if not r["return_sequences"]:
            return merge(o[:, -1, :units], o[:, 0, units:])
        return merge(o[..., :units], o[..., units:])
    return m, out


class TimeDistributed(nn.Linear):
    """Keras' TimeDistributed(Dense): nn.Linear on the last axis, which is
    every step at once; its parameters under the outer layer's name."""


def time_distributed(L):
    d = L["layer"]
    check_keys("time_distributed's layer", d, {"type", "units", "activation", "use_bias",
                                               "kernel_initializer", "bias_initializer",
                                               "kernel_regularizer", "bias_regularizer"})
    if d["type"] != "dense" or d.get("kernel_regularizer") or d.get("bias_regularizer"):
        die("time_distributed: only dense without regularizers")
    return (TimeDistributed(L["input_shape"][-1], d["units"], bias=d["use_bias"]),
            activation(d["activation"]))


class Embedding(nn.Embedding):
    """nn.Embedding on ids that arrive as floats (nnc's inputs are floats)."""

    def forward(self, x):
        return super().forward(x.long())


# Layer keys every layer has; kernel/bias initializers are ignored because the
# oracle always starts from weights it writes itself (ref.py init, nnc --init).
COMMON = ("name", "inputs", "input_shape", "output_shape")
LAYERS = {
    "dense": {"keys": COMMON + ("units", "use_bias", "activation",
                                "kernel_initializer", "bias_initializer",
                                "kernel_regularizer", "bias_regularizer"),
              "build": dense},
    "maxout": {"keys": COMMON + ("units", "pieces", "use_bias",
                                 "kernel_initializer", "bias_initializer",
                                 "kernel_regularizer", "bias_regularizer"),
               "build": maxout},
    "activation": {"keys": COMMON + ("activation",),
                   "build": lambda L: (None, activation(L["activation"]))},
    "conv2d": {"keys": COMMON + ("filters", "kernel_size", "strides", "padding", "window", "use_bias",
                                 "activation", "kernel_initializer", "bias_initializer",
                                 "kernel_regularizer", "bias_regularizer", "dilation_rate", "groups"),
               "build": conv2d},
    "max_pooling2d": {"keys": COMMON + ("pool_size", "strides", "padding", "window"), "build": max_pool},
    "average_pooling2d": {"keys": COMMON + ("pool_size", "strides", "padding", "window"),
                          "build": avg_pool},
    "simple_rnn": {"keys": COMMON + ("units", "activation", "use_bias", "return_sequences",
                                     "kernel_initializer", "recurrent_initializer", "bias_initializer"),
                   "build": recurrent},
    "lstm": {"keys": COMMON + ("units", "activation", "recurrent_activation", "use_bias", "return_sequences",
                               "kernel_initializer", "recurrent_initializer", "bias_initializer"),
             "build": recurrent},
    "gru": {"keys": COMMON + ("units", "activation", "recurrent_activation", "use_bias", "return_sequences",
                              "kernel_initializer", "recurrent_initializer", "bias_initializer"),
            "build": recurrent},
    "repeat_vector": {"keys": COMMON + ("n",),
                      "build": lambda L: (None, lambda x: x.unsqueeze(1).expand(-1, L["n"], -1))},
    "time_distributed": {"keys": COMMON + ("layer",), "build": time_distributed},
    "embedding": {"keys": COMMON + ("input_dim", "output_dim", "embeddings_initializer"),
                  "build": lambda L: (Embedding(L["input_dim"], L["output_dim"]), lambda x: x)},
    "bidirectional": {"keys": COMMON + ("layer", "merge_mode"), "build": bidirectional},
    "flatten": {"keys": COMMON, "build": lambda L: (None, lambda x: x.reshape(len(x), -1))},
    # Merges: act receives the list of the outputs the layer names, in order.
    "add": {"keys": COMMON, "build": lambda L: (None, lambda xs: functools.reduce(torch.add, xs))},
    "subtract": {"keys": COMMON, "build": lambda L: (None, lambda xs: xs[0] - xs[1])},
    "multiply": {"keys": COMMON, "build": lambda L: (None, lambda xs: functools.reduce(torch.mul, xs))},
    "average": {"keys": COMMON, "build": lambda L: (None, lambda xs: functools.reduce(torch.add, xs) / len(xs))},
    "maximum": {"keys": COMMON, "build": lambda L: (None, lambda xs: functools.reduce(torch.maximum, xs))},
    "minimum": {"keys": COMMON, "build": lambda L: (None, lambda xs: functools.reduce(torch.minimum, xs))},
    "concatenate": {"keys": COMMON + ("axis",),
                    "build": lambda L: (None, lambda xs: torch.cat(xs, dim=L["axis"] + 1 if L["axis"] >= 0
                                                                   else L["axis"]))},
    "reshape": {"keys": COMMON + ("shape",),
                "build": lambda L: (None, lambda x: x.reshape([len(x)] + L["shape"]))},
    # 1-D layers and depthwise convolution (a grouped Conv2d) read the same window
    "conv1d": {"keys": COMMON + ("filters", "kernel_size", "strides", "padding", "window", "use_bias",
                                 "activation", "kernel_initializer", "bias_initializer",
                                 "kernel_regularizer", "bias_regularizer", "dilation_rate", "groups"),
               "build": conv1d},
    "depthwise_conv2d": {"keys": COMMON + ("kernel_size", "strides", "padding", "window", "use_bias",
                                           "activation", "depthwise_initializer", "bias_initializer",
                                           "depthwise_regularizer", "bias_regularizer", "dilation_rate",
                                           "depth_multiplier"),
                         "build": conv2d},
    "separable_conv2d": {"keys": COMMON + ("filters", "kernel_size", "strides", "padding", "window", "use_bias",
                                           "activation", "depthwise_initializer", "pointwise_initializer",
                                           "bias_initializer", "depthwise_regularizer", "pointwise_regularizer",
                                           "bias_regularizer", "dilation_rate", "depth_multiplier"),
                         "build": lambda L: (SeparableConv2d(L), activation(L["activation"]))},
    "max_pooling1d": {"keys": COMMON + ("pool_size", "strides", "padding", "window"),
                      "build": pool1d(max_pool)},
    "average_pooling1d": {"keys": COMMON + ("pool_size", "strides", "padding", "window"),
                          "build": pool1d(avg_pool)},
    "global_average_pooling2d": {"keys": COMMON + ("window",), "build": global_pool("avg")},
    "global_max_pooling2d": {"keys": COMMON + ("window",), "build": global_pool("max")},
    "global_average_pooling1d": {"keys": COMMON + ("window",), "build": global_pool("avg")},
    "global_max_pooling1d": {"keys": COMMON + ("window",), "build": global_pool("max")},
    "dropout": {"keys": COMMON + ("rate", "index"),
                "build": lambda L: (Dropout(L["rate"], L["index"]), IDENTITY)},
    "batch_normalization": {"keys": COMMON + ("momentum", "epsilon", "center", "scale") + NORM_INIT +
                            ("moving_mean_initializer", "moving_variance_initializer"),
                            "build": lambda L: (BatchNorm(L), IDENTITY)},
    "layer_normalization": {"keys": COMMON + ("epsilon", "center", "scale") + NORM_INIT,
                            "build": lambda L: (LayerNorm(L), IDENTITY)},
}


def sce_on_probs(p, y):
    # What PyTorch would do with probabilities: NLL of their log.
    return F.nll_loss(torch.log(p), y)


# Keras' label smoothing: binary targets move towards 0.5, one-hot targets
# towards 1/k, by the fraction ls.
def smooth(y, ls, toward):
    return y * (1 - ls) + ls * toward if ls else y


def bce(a):
    f = F.binary_cross_entropy_with_logits if a["from_logits"] else F.binary_cross_entropy
    return lambda p, y: f(p, smooth(y, a["label_smoothing"], 0.5))


def cce(a):
    ls = a["label_smoothing"]
    if a["from_logits"]:
        # CrossEntropyLoss with class-probability targets smooths as Keras does;
        # classes on dim 1, so every step of [N, T, k] becomes a row of k
        return lambda z, y: F.cross_entropy(z.reshape(-1, z.shape[-1]), y.reshape(-1, y.shape[-1]),
                                            label_smoothing=ls)
    # PyTorch has no CE on probabilities: -sum t log p per row, the log
    # clamped at -100 as BCELoss and nnc clamp it; mean over the rows
    return lambda p, y: -(smooth(y, ls, 1 / p.shape[-1]) *
                          torch.log(p).clamp(min=-100)).sum(-1).mean()


def log_cosh(p, y):
    # log(cosh e) in the overflow-free form nnc uses; Keras means over the
    # last axis, then over the batch: the mean over everything
    e = p - y
    return (e + F.softplus(-2 * e) - math.log(2)).mean()


def hinge(p, y):
    # Keras: 0/1 targets become -1/1; mean of max(1 - t p, 0). No PyTorch
    # equivalent (HingeEmbeddingLoss is another function).
    t = torch.where(y > 0, 1.0, -1.0).to(p.dtype)
    return F.relu(1 - t * p).mean()


def kl_divergence(p, y):
    # Keras: sum over the last axis of t log(t / p), t and p clipped to
    # [1e-7, 1]; mean over the batch. PyTorch's KLDivLoss takes log p and
    # reduces differently, so it is written out here.
    t = y.clamp(1e-7, 1)
    q = p.clamp(1e-7, 1)
    return (t * torch.log(t / q)).sum(-1).mean()


# loss -> (function of (output, target) by its arguments, target kind)
LOSSES = {
    "mse": {"keys": (), "fn": lambda a: F.mse_loss, "target": "float"},
    "mean_squared_error": {"keys": (), "fn": lambda a: F.mse_loss, "target": "float"},
    "mae": {"keys": (), "fn": lambda a: F.l1_loss, "target": "float"},
    "mean_absolute_error": {"keys": (), "fn": lambda a: F.l1_loss, "target": "float"},
    "huber": {"keys": ("delta",), "target": "float",
              "fn": lambda a: lambda p, y: F.huber_loss(p, y, delta=a["delta"])},
    "log_cosh": {"keys": (), "fn": lambda a: log_cosh, "target": "float"},
    "binary_crossentropy": {
        "keys": ("from_logits", "label_smoothing"), "target": "float", "fn": bce},
    "categorical_crossentropy": {
        "keys": ("from_logits", "label_smoothing"), "target": "float", "fn": cce},
    "sparse_categorical_crossentropy": {
        "keys": ("from_logits",), "target": "class",
        "fn": lambda a: F.cross_entropy if a["from_logits"] else sce_on_probs},
    "hinge": {"keys": (), "fn": lambda a: hinge, "target": "float"},
    "kl_divergence": {"keys": (), "fn": lambda a: kl_divergence, "target": "float"},
}
# Keras's other names for the same losses
LOSSES.update(kld=LOSSES["kl_divergence"], kullback_leibler_divergence=LOSSES["kl_divergence"],
              logcosh=LOSSES["log_cosh"], huber_loss=LOSSES["huber"])

class NAdam2(torch.optim.Optimizer):
    """PyTorch 2's NAdam step, for an older torch: PyTorch 1.13 multiplies
    mu_t into the product for the next step twice (mu_product * mu * mu_next);
    PyTorch 2, Keras and the NAdam paper use mu_product * mu_next."""

    def __init__(self, params, lr, betas, eps, momentum_decay=4e-3):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps,
                                      momentum_decay=momentum_decay))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            b1, b2 = group["betas"]
            lr, eps, md = group["lr"], group["eps"], group["momentum_decay"]
            for p in group["params"]:
                st = self.state[p]
                if not st:
                    st["step"] = 0
                    st["mu_product"] = torch.tensor(1.0)
                    st["exp_avg"] = torch.zeros_like(p)
                    st["exp_avg_sq"] = torch.zeros_like(p)
                st["step"] += 1
                t, g = st["step"], p.grad
                mu = b1 * (1.0 - 0.5 * 0.96 ** (t * md))
                mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * md))
                st["mu_product"] *= mu
                mu_product = st["mu_product"].item()
                st["exp_avg"].mul_(b1).add_(g, alpha=1 - b1)
                st["exp_avg_sq"].mul_(b2).addcmul_(g, g, value=1 - b2)
                denom = st["exp_avg_sq"].div(1 - b2 ** t).sqrt().add_(eps)
                p.addcdiv_(g, denom, value=-lr * (1 - mu) / (1 - mu_product))
                p.addcdiv_(st["exp_avg"], denom,
                           value=-lr * mu_next / (1 - mu_product * mu_next))


NADAM = torch.optim.NAdam if int(torch.__version__.split(".")[0]) >= 2 else NAdam2

# Gradient clipping, the same arguments in every optimizer; applied to the
# gradients before each step (cmd_train). At most one is given.
CLIP = ("clipnorm", "clipvalue", "global_clipnorm")
BETAS = ("beta_1", "beta_2", "epsilon")


def betas(a):
    return (a["beta_1"], a["beta_2"])


# optimizer -> torch.optim constructor; lr is the rate at step 0 (cmd_train
# sets every step's rate from the schedule before the step).
OPTIMIZERS = {
    "sgd": {"keys": ("learning_rate", "momentum", "nesterov", "weight_decay") + CLIP,
            "make": lambda p, a, lr: torch.optim.SGD(
                p, lr=lr, momentum=a["momentum"], nesterov=a["nesterov"],
                weight_decay=a["weight_decay"])},
    "rmsprop": {"keys": ("learning_rate", "rho", "momentum", "epsilon", "centered") + CLIP,
                "make": lambda p, a, lr: torch.optim.RMSprop(
                    p, lr=lr, alpha=a["rho"], eps=a["epsilon"], momentum=a["momentum"],
                    centered=a["centered"])},
    "adam": {"keys": ("learning_rate",) + BETAS + ("amsgrad",) + CLIP,
             "make": lambda p, a, lr: torch.optim.Adam(
                 p, lr=lr, betas=betas(a), eps=a["epsilon"], amsgrad=a["amsgrad"])},
    "adamw": {"keys": ("learning_rate", "weight_decay") + BETAS + ("amsgrad",) + CLIP,
              "make": lambda p, a, lr: torch.optim.AdamW(
                  p, lr=lr, betas=betas(a), eps=a["epsilon"], amsgrad=a["amsgrad"],
                  weight_decay=a["weight_decay"])},
    "adagrad": {"keys": ("learning_rate", "initial_accumulator_value", "epsilon") + CLIP,
                "make": lambda p, a, lr: torch.optim.Adagrad(
                    p, lr=lr, initial_accumulator_value=a["initial_accumulator_value"],
                    eps=a["epsilon"])},
    "adadelta": {"keys": ("learning_rate", "rho", "epsilon") + CLIP,
                 "make": lambda p, a, lr: torch.optim.Adadelta(
                     p, lr=lr, rho=a["rho"], eps=a["epsilon"])},
    "adamax": {"keys": ("learning_rate",) + BETAS + CLIP,
               "make": lambda p, a, lr: torch.optim.Adamax(
                   p, lr=lr, betas=betas(a), eps=a["epsilon"])},
    "nadam": {"keys": ("learning_rate",) + BETAS + CLIP,
              "make": lambda p, a, lr: NADAM(p, lr=lr, betas=betas(a), eps=a["epsilon"])},
}

# regularizer -> penalty on one parameter tensor, as Keras computes it
# (no 1/2 on the squares); added to the batch loss before backward().
REGULARIZERS = {
    "l1": {"keys": ("l1",), "fn": lambda a: (lambda w: a["l1"] * w.abs().sum())},
    "l2": {"keys": ("l2",), "fn": lambda a: (lambda w: a["l2"] * torch.square(w).sum())},
    "l1_l2": {"keys": ("l1", "l2"),
              "fn": lambda a: (lambda w: a["l1"] * w.abs().sum()
                               + a["l2"] * torch.square(w).sum())},
}


def piecewise(a, step):
    for b, v in zip(a["boundaries"], a["values"]):
        if step <= b:
            return v
    return a["values"][-1]


def polynomial(a, step):
    d = a["decay_steps"]
    if a["cycle"]:
        d = d * (math.ceil(step / d) if step > 0 else 1)
    else:
        step = min(step, d)
    lr0, end = a["initial_learning_rate"], a["end_learning_rate"]
    return (lr0 - end) * (1 - step / d) ** a["power"] + end


def periods(a, step):
    p = step / a["decay_steps"]
    return math.floor(p) if a["staircase"] else p


# schedule -> the rate at a step (the steps taken so far, from 0, as Keras'
# optimizer.iterations), from Keras's documented formulas.
DECAY = ("initial_learning_rate", "decay_steps")
SCHEDULES = {
    "exponential_decay": {
        "keys": DECAY + ("decay_rate", "staircase"),
        "fn": lambda a, s: a["initial_learning_rate"] * a["decay_rate"] ** periods(a, s)},
    "inverse_time_decay": {
        "keys": DECAY + ("decay_rate", "staircase"),
        "fn": lambda a, s: a["initial_learning_rate"] / (1 + a["decay_rate"] * periods(a, s))},
    "piecewise_constant": {"keys": ("boundaries", "values"), "fn": piecewise},
    "cosine_decay": {
        "keys": DECAY + ("alpha",),
        "fn": lambda a, s: a["initial_learning_rate"] * (
            (1 - a["alpha"]) * 0.5 * (1 + math.cos(math.pi * min(s, a["decay_steps"])
                                                   / a["decay_steps"])) + a["alpha"])},
    "polynomial_decay": {
        "keys": DECAY + ("end_learning_rate", "power", "cycle"), "fn": polynomial},
}


def learning_rate(opt_args):
    """The learning rate as a function of the step."""
    lr = opt_args["learning_rate"]
    if not isinstance(lr, dict):
        return lambda step: lr
    e, args = entry(SCHEDULES, "schedule", lr)
    return lambda step: e["fn"](args, step)


def clipper(a):
    """The clipping the optimizer asks for, as a function of the parameters
    that clips their gradients and says whether it changed any; or None."""
    if a.get("clipnorm") is not None:
        c = a["clipnorm"]

        def per_tensor(params):
            norms = [nn.utils.clip_grad_norm_([p], c) for p in params]
            return any(n > c for n in norms)
        return per_tensor
    if a.get("global_clipnorm") is not None:
        c = a["global_clipnorm"]
        return lambda params: bool(nn.utils.clip_grad_norm_(params, c) > c)
    if a.get("clipvalue") is not None:
        c = a["clipvalue"]

        def by_value(params):
            big = any((p.grad.abs() > c).any().item() for p in params)
            nn.utils.clip_grad_value_(params, c)
            return big
        return by_value
    return None


# Only "none" so far: a scaling whose statistics nnc computes must be mirrored
# here exactly (which rows, which std) before it can be cross-checked.
PREPROCESS = {"none": {"keys": ()}}


# ---- the model -------------------------------------------------------------

MERGES = ("add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate")

class Model(nn.Module):
    """The layers in order; a layer with parameters is registered under its
    nnc name so that state_dict() keys are nnc's tensor names."""

    def __init__(self, spec):
        super().__init__()
        self.layers = spec["layers"]
        self.steps = []
        for i, L in enumerate(spec["layers"]):
            L = dict(L, index=i) if isinstance(L, dict) and L.get("type") == "dropout" else L
            e, L = entry(LAYERS, "layer", L)
            module, act = e["build"](L)
            if module is not None:
                self.add_module(L["name"], module)
            self.steps.append((module, act))

    def outputs(self, x):
        """Every layer's output in order. A graph's layers name what they
        read ("inputs"); a merge's act takes the list, any other layer one."""
        outs, h = {"input": x}, x
        for L, (module, act) in zip(self.layers, self.steps):
            xs = [outs[n] for n in L.get("inputs", ())] or [h]
            if L["type"] in MERGES:
                h = act(xs)
            else:
                h = act(module(xs[0]) if module is not None else xs[0])
            outs[L["name"]] = h
            yield h

    def forward(self, x):
        for h in self.outputs(x):
            pass
        return h


def build(spec, dtype=torch.float32):
    entry(PREPROCESS, "preprocess", spec.get("preprocess", "none"))
    model = Model(spec).to(dtype)
    # The parameters must be exactly the ones nnc lists, in order, same shape.
    ours = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    theirs = [(p["name"], list(p["shape"])) for p in spec["params"]]
    if ours != theirs:
        die(f"parameters differ from the JSON's:\n  ref.py {ours}\n  json   {theirs}")
    # And every layer's output shape must be the JSON's.
    x = torch.zeros([2] + list(spec["input"]), dtype=dtype)
    model.eval()                # leaves batch norm's running statistics alone
    for L, x in zip(spec["layers"], model.outputs(x)):
        if list(x.shape[1:]) != list(L["output_shape"]):
            die(f"layer {L['name']}: output {list(x.shape[1:])}, "
                f"JSON says {L['output_shape']}")
    model.train()
    return model


def penalties(spec, model):
    """The regularized parameters with their penalty functions."""
    out = []
    for L in spec["layers"]:
        sep = L["type"] == "separable_conv2d"     # its tensors are its two convolutions'
        for key, what in (("kernel_regularizer", "weight"),
                          ("depthwise_regularizer", "depthwise.weight" if sep else "weight"),
                          ("pointwise_regularizer", "pointwise.weight"),
                          ("bias_regularizer", "pointwise.bias" if sep else "bias")):
            if L.get(key) is None:
                continue
            e, args = entry(REGULARIZERS, "regularizer", L[key])
            out.append((getattr(model, L["name"]).get_parameter(what), e["fn"](args)))
    return lambda: sum(fn(w) for w, fn in out)


def load_weights(model, path, dtype):
    tensors, _ = st.load(path)
    sd = model.state_dict()
    if sorted(tensors) != sorted(sd):
        die(f"{path}: tensors {sorted(tensors)}, model has {sorted(sd)}")
    for k in sd:
        if list(tensors[k].shape) != list(sd[k].shape):
            die(f"{path}: {k} is {list(tensors[k].shape)}, want {list(sd[k].shape)}")
    model.load_state_dict({k: torch.from_numpy(v).to(dtype) for k, v in tensors.items()})


def save_weights(model, path):
    # integer buffers (num_batches_tracked) stay int64, as PyTorch saves them
    st.save(path, {k: v.detach().numpy() if not v.is_floating_point() else v.detach().to(torch.float32).numpy()
                   for k, v in model.state_dict().items()})


# ---- data ------------------------------------------------------------------

def read_csv(path):
    """All rows as float64; a first row that is not numbers is a header."""
    with open(path) as f:
        lines = [ln for ln in f.read().splitlines() if ln.strip()]
    try:
        [float(v) for v in lines[0].split(",")]
    except ValueError:
        lines = lines[1:]
    return np.array([[float(v) for v in ln.split(",")] for ln in lines])


def split_xy(spec, rows, dtype, need_y=True):
    """Features first, then the target columns the loss wants."""
    n_in = math.prod(spec["input"])
    out_shape = spec["layers"][-1]["output_shape"]
    loss, _ = entry(LOSSES, "loss", spec["loss"])
    if loss["target"] == "class":       # one class index per softmax row
        y_shape = out_shape[:-1]
    else:                               # a value per output element
        y_shape = out_shape
    n_y = math.prod(y_shape)
    if rows.shape[1] == n_in and not need_y:
        n_y = 0
    elif rows.shape[1] != n_in + n_y:
        die(f"data has {rows.shape[1]} columns, the model wants {n_in} + {n_y}")
    x = torch.from_numpy(rows[:, :n_in]).to(dtype).reshape([-1] + list(spec["input"]))
    if n_y == 0:
        return x, None
    y = rows[:, n_in:].reshape([-1] + list(y_shape))
    if loss["target"] == "class":
        if (y != np.round(y)).any() or y.min() < 0 or y.max() >= out_shape[-1]:
            die(f"class targets must be integers in [0, {out_shape[-1]})")
        return x, torch.from_numpy(y).long()
    return x, torch.from_numpy(y).to(dtype)


def loss_fn(spec):
    e, args = entry(LOSSES, "loss", spec["loss"])
    f = e["fn"](args)
    if e["target"] == "class":
        # Flatten any leading sample axes: [N, ..., C] -> [N*..., C].
        return lambda out, y: f(out.reshape(-1, out.shape[-1]), y.reshape(-1))
    return f


# ---- commands --------------------------------------------------------------

def cmd_init(spec, a):
    torch.manual_seed(a.seed)             # PyTorch's default initialization
    model = build(spec)
    # Normalization starts at gamma 1, beta 0 and running statistics 0 and 1:
    # values that would hide a mixed-up gamma, beta, mean or variance. Draw
    # them instead (positive variances), so every one of them is tested.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (BatchNorm, LayerNorm)):
                if m.weight is not None:
                    m.weight.uniform_(0.5, 1.5)
                if m.bias is not None:
                    m.bias.uniform_(-0.5, 0.5)
            if isinstance(m, BatchNorm):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(3)
    save_weights(model, a.out)


def is_perceptron(spec):
    L = spec["layers"]
    return len(L) == 1 and L[0]["type"] == "dense" and L[0]["activation"] == "step"


def perceptron_step(model, xb, yb, lr):
    """Rosenblatt's rule averaged over the batch, written out (step has no
    gradient for autograd): w += lr mean((t - y) x), b += lr mean(t - y)."""
    lin = model.steps[0][0]
    with torch.no_grad():
        e = (yb - model(xb)).reshape(len(xb), -1)          # [B, units]
        lin.weight += lr * e.T @ xb.reshape(len(xb), -1) / len(xb)
        if lin.bias is not None:
            lin.bias += lr * e.mean(0)


def weighted_loss(spec, lossf, cw, y_train):
    """fit(class_weight): each sample's own mean loss times its class's
    weight, summed and divided by the batch size (Keras'
    sum_over_batch_size; PyTorch's weight= with reduction='mean' would divide
    by the sum of the weights instead). balanced: n / (classes * count_c)
    over the training rows, as scikit-learn computes it."""
    def classes(y):
        if y.dtype == torch.long:
            return y.reshape(-1)
        return y.argmax(-1) if y.shape[-1] > 1 else (y.reshape(-1) > 0.5).long()
    if cw == "balanced":
        c = classes(y_train)
        k = 2 if y_train.dtype != torch.long and y_train.shape[-1] == 1 else \
            (y_train.shape[-1] if y_train.dtype != torch.long else int(spec["layers"][-1]["output_shape"][-1]))
        counts = torch.bincount(c, minlength=k).double()
        w = torch.where(counts > 0, len(c) / (k * counts), torch.ones_like(counts))
    else:
        w = torch.tensor(cw, dtype=torch.float64)
    def f(out, y):
        ws = w[classes(y)].to(out.dtype)
        rows = torch.stack([lossf(out[i:i + 1], y[i:i + 1]) for i in range(len(out))])
        return (ws * rows).sum() / len(out)
    return f


def cmd_train(spec, a):
    dtype = getattr(torch, a.dtype)
    fit = spec.get("fit", {})
    if fit.get("shuffle"):
        print("ref.py: warning: the model says shuffle = true; ref.py never "
              "shuffles, so nnc will not match", file=sys.stderr)
    model = build(spec, dtype)
    load_weights(model, a.init, dtype)
    x, y = split_xy(spec, read_csv(a.data), dtype)
    n = len(x)
    n_train = int(n * (1.0 - a.validation_split))   # Keras: the last rows validate
    xv, yv = x[n_train:], y[n_train:]
    x, y = x[:n_train], y[:n_train]
    lossf = loss_fn(spec)
    cw = fit.get("class_weight")
    if cw:      # Keras' class_weight: sum_i w[class_i] loss_i / batch size
        lossf = weighted_loss(spec, lossf, cw, y)
    penalty = penalties(spec, model)
    o, oargs = entry(OPTIMIZERS, "optimizer", spec["optimizer"])
    lr = learning_rate(oargs)
    params = list(model.parameters())
    opt = o["make"](params, oargs, lr(0))
    clip = clipper(oargs)
    B = a.batch_size
    CTX["seed"] = fit.get("seed", 0)
    step = clipped = 0
    for epoch in range(1, a.epochs + 1):
        total = 0.0
        for i in range(0, n_train, B):
            if is_perceptron(spec):
                with torch.no_grad():
                    total += lossf(model(x[i:i + B]), y[i:i + B]).item() * len(x[i:i + B])
                perceptron_step(model, x[i:i + B], y[i:i + B], lr(step))
                step += 1
                continue
            opt.zero_grad()
            CTX["step"] = step          # dropout's masks: the steps taken so far
            loss = lossf(model(x[i:i + B]), y[i:i + B]) + penalty()
            loss.backward()
            if clip and clip(params):
                clipped += 1
            for group in opt.param_groups:
                group["lr"] = lr(step)
            opt.step()
            step += 1
            total += loss.item() * len(x[i:i + B])
        line = f"epoch {epoch}/{a.epochs}: loss {total / max(n_train, 1):.6f}"
        if len(xv):
            model.eval()                # inference: no dropout, running statistics
            with torch.no_grad():
                line += f" - val_loss {(lossf(model(xv), yv) + penalty()).item():.6f}"
            model.train()
        if not a.quiet:
            print(line)
    if clip:
        print(f"clipping changed the gradients in {clipped} of {step} steps")
        if clipped == 0:
            die("clipping never triggered: this model does not test it")
    save_weights(model, a.out)


def cmd_forward(spec, a):
    model = build(spec)
    load_weights(model, a.weights, torch.float32)
    model.eval()                        # inference mode, as nnc predict and eval
    x, y = split_xy(spec, read_csv(a.data), torch.float32, need_y=False)
    with torch.no_grad():
        out = model(x)
    for row in out.reshape(len(out), -1):
        print(",".join(f"{v:.7g}" for v in row.tolist()))
    if y is not None:
        print(f"# loss: {loss_fn(spec)(out, y).item():.7g}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model", help="JSON from `nnc MODEL.nn --emit=json`")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("init", help="write PyTorch's default initialization")
    s.add_argument("out")
    s.add_argument("--seed", type=int, required=True)
    s = sub.add_parser("train", help="train from given weights, no shuffling")
    s.add_argument("--init", required=True)
    s.add_argument("--data", required=True)
    s.add_argument("--epochs", type=int, required=True)
    s.add_argument("--batch-size", type=int, required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--validation-split", type=float, default=0.0)
    # float64 training is a yardstick: if float32 torch and float64 torch
    # already differ by more than the tolerance, the test is ill-conditioned.
    s.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    s.add_argument("--quiet", action="store_true")
    s = sub.add_parser("forward", help="print the model's raw outputs (logits "
                       "when from_logits), one row per sample, and the loss")
    s.add_argument("--weights", required=True)
    s.add_argument("--data", required=True)
    a = p.parse_args()
    with open(a.model) as f:
        spec = json.load(f)
    {"init": cmd_init, "train": cmd_train, "forward": cmd_forward}[a.cmd](spec, a)


if __name__ == "__main__":
    main()
