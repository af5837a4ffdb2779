"""bench/report.py RAW RESULTS — turn the benchmark programs' output into the table.

RAW holds the lines every program printed, round after round: "name v1 v2 ..."
(timing samples; rounds append to the same name) and "round N" markers. The
table is printed and written to RESULTS. Medians over all samples; the spread
is half the interquartile range; the ratio range is over the per-round medians
(the rounds interleave the programs, so each round is one side-by-side run).
"""
import statistics
import sys

MACS = 64 * 32 + 32 * 16 + 16 * 10          # per sample, forward
FWD_FLOPS = 2 * MACS                        # 2 flops per multiply-add
TRAIN_FLOPS = 3 * FWD_FLOPS                 # forward + backward (~2x forward)
TIMED = ("nnc_train_ms", "torch_train_ms", "fann_online_ms", "fann_batch_ms",
         "nnc_infer_us", "torch_infer_us", "fann_infer_us", "peak_gflops",
         "nnc_part_forward_ms", "nnc_part_backward_ms", "nnc_part_update_ms")
# LeNet-5 on Fashion-MNIST (examples/lenet5.nn): absent when the data is not installed
LENET_TIMED = ("lenet_nnc_block_s", "lenet_torch_block_s", "lenet_nnc_infer_us", "lenet_torch_infer_us")
LENET_MACS = 6 * 28 * 28 * 25 + 16 * 10 * 10 * 150 + 400 * 120 + 120 * 84 + 84 * 10   # per image, forward
# The textbook Keras CNN (bench/keras_cnn.nn): conv 32 3x3, pool, conv 64 3x3, pool, dense 10
KCNN_MACS = 32 * 26 * 26 * 9 + 64 * 11 * 11 * 32 * 9 + 1600 * 10


def quartiles(v):
    q = statistics.quantiles(v, n=4, method="inclusive")
    return q[0], statistics.median(v), q[2]


def lenet(lines, samples, per_round, med, half_iqr, info, ratio_range, peak,
          tag="lenet", title="LeNet-5 on Fashion-MNIST, batch 32", macs=LENET_MACS, target=4):
    """One image model's rows (LeNet-5, or the Keras CNN with tag "kcnn"):
    training s/epoch (median block time scaled to the whole training set) and
    batch-1 inference µs/image, nnc against PyTorch."""
    w = lines.append
    w("")
    if any(k.replace("lenet", tag, 1) not in samples for k in LENET_TIMED):
        w("%s: not measured (Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist)" % title)
        return
    # The same keys under this model's tag: "lenet_nnc_block_s" -> "kcnn_nnc_block_s"
    samples, med, half_iqr, info = ({k.replace(tag + "_", "lenet_", 1): v for k, v in d.items()
                                     if k.startswith(tag + "_")}
                                    for d in (samples, med, half_iqr, info))
    rr_tagged = ratio_range

    def ratio_range(a, b):
        return rr_tagged(a.replace("lenet", tag, 1), b.replace("lenet", tag, 1))
    scale = int(info["lenet_train_images"]) / int(info["lenet_block_images"])
    w("%-52s %9s    %-9s %-15s %s" % (title + ", Adam, 1 thread", "median", " spread",
                                        "vs nnc", "(per-round range)"))

    def row(label, key, base, unit, k):
        m, sp = med[key] * k, half_iqr[key] * k
        if key == base:
            rel, rr = "    1.0x", ""
        else:
            lo, hi = ratio_range(key, base)
            rel = "%7.1fx %s" % (med[key] / med[base], "slower" if med[key] > med[base] else "faster")
            rr = "(%.1f-%.1fx)" % (lo, hi)
        w("%-52s %8.2f %-3s ±%-8.3f %-15s %s" % (label, m, unit, sp, rel, rr))

    row("training s/epoch    nnc", "lenet_nnc_block_s", "lenet_nnc_block_s", "s", scale)
    row("                    PyTorch", "lenet_torch_block_s", "lenet_nnc_block_s", "s", scale)
    row("inference µs/image  nnc (batch-1 build)", "lenet_nnc_infer_us", "lenet_nnc_infer_us", "µs", 1)
    row("                    PyTorch (no_grad)", "lenet_torch_infer_us", "lenet_nnc_infer_us", "µs", 1)
    epoch_s = med["lenet_nnc_block_s"] * scale
    train_gf = 3 * 2 * macs * int(info["lenet_train_images"]) / epoch_s / 1e9
    infer_gf = 2 * macs / (med["lenet_nnc_infer_us"] * 1e-6) / 1e9
    w("  %d MACs per image forward, training counted as 3x forward; nnc training %.1f GFLOP/s (%.1f%% of peak), "
      "inference %.1f GFLOP/s (%.1f%%)"
      % (macs, train_gf, 100 * train_gf / peak, infer_gf, 100 * infer_gf / peak))
    t_train = med["lenet_torch_block_s"] / med["lenet_nnc_block_s"]
    t_infer = med["lenet_torch_infer_us"] / med["lenet_nnc_infer_us"]
    w("targets: training >= %gx PyTorch: %s (%.2fx); inference >= %gx PyTorch: %s (%.2fx)"
      % (target, "met" if t_train >= target else "MISSED", t_train,
         target, "met" if t_infer >= target else "MISSED", t_infer))
    w("samples: %d blocks of %s images per side (epochs of %s images in file order, each after a warm-up "
      "block), %d inference blocks; training-set accuracy after them: nnc %s, PyTorch %s"
      % (len(samples["lenet_nnc_block_s"]), info["lenet_block_images"], info["lenet_train_images"],
         len(samples["lenet_nnc_infer_us"]), info.get("lenet_nnc_train_acc", "?"),
         info.get("lenet_torch_train_acc", "?")))


def main():
    raw, out_path = sys.argv[1], sys.argv[2]
    samples = {}        # name -> all samples
    per_round = {}      # name -> [median of each round]
    info = {}           # name -> last value text
    rnd = 0
    for line in open(raw):
        f = line.split()
        if not f:
            continue
        if f[0] == "round":
            rnd = int(f[1])
            continue
        if f[0] in TIMED or f[0].replace("kcnn", "lenet", 1) in LENET_TIMED:
            v = [float(t) for t in f[1:]]
            samples.setdefault(f[0], []).extend(v)
            per_round.setdefault(f[0], {}).setdefault(rnd, []).extend(v)
        else:
            info[f[0]] = " ".join(f[1:])
    missing = [k for k in TIMED if k not in samples]
    if missing:
        sys.exit("bench: no samples for " + ", ".join(missing))

    med = {k: statistics.median(v) for k, v in samples.items()}
    half_iqr = {k: (quartiles(v)[2] - quartiles(v)[0]) / 2 for k, v in samples.items()}
    rounds = sorted(per_round["nnc_train_ms"])

    def ratio_range(other, base):
        r = [statistics.median(per_round[other][i]) / statistics.median(per_round[base][i])
             for i in rounds if i in per_round[other] and i in per_round[base]]
        return min(r), max(r)

    lines = []
    w = lines.append
    epoch_rows = int(info.get("nnc_rows", "1438"))
    w("%-52s %9s    %-9s %-15s %s" % ("digits MLP 64-32-16-10, batch 32, 1 thread", "median", " spread", "vs nnc", "(per-round range)"))

    def row(label, key, unit, base):
        m, s = med[key], half_iqr[key]
        fmt = "%8.3f" if m < 10 else "%8.2f" if m < 100 else "%8.1f"
        if key == base:
            rel = "    1.0x"
            rr = ""
        else:
            lo, hi = ratio_range(key, base)
            rel = "%7.1fx %s" % (m / med[base], "slower" if m > med[base] else "faster")
            rr = "(%.1f-%.1fx)" % (lo, hi)
        w("%-52s %s %-3s ±%-8.3f %-15s %s" % (label, fmt % m, unit, s, rel, rr))

    row("training ms/epoch   nnc", "nnc_train_ms", "ms", "nnc_train_ms")
    row("                    PyTorch", "torch_train_ms", "ms", "nnc_train_ms")
    row("                    FANN online (fann_train/sample)", "fann_online_ms", "ms", "nnc_train_ms")
    row("                    FANN batch (fann_train_epoch)", "fann_batch_ms", "ms", "nnc_train_ms")
    row("inference µs/sample nnc (batch-1 build)", "nnc_infer_us", "µs", "nnc_infer_us")
    row("                    PyTorch (no_grad)", "torch_infer_us", "µs", "nnc_infer_us")
    row("                    FANN (fann_run)", "fann_infer_us", "µs", "nnc_infer_us")

    peak = max(samples["peak_gflops"])
    train_gf = epoch_rows * TRAIN_FLOPS / (med["nnc_train_ms"] * 1e-3) / 1e9
    infer_gf = FWD_FLOPS / (med["nnc_infer_us"] * 1e-6) / 1e9
    w("")
    w("machine peak: %.0f GFLOP/s (1 core, %s FMA, best of %d; median %.0f); "
      "nnc training reaches %.1f%% of it (%.1f GFLOP/s), inference %.1f%% (%.1f GFLOP/s)"
      % (peak, info.get("peak_isa", "?"), len(samples["peak_gflops"]), med["peak_gflops"],
         100 * train_gf / peak, train_gf, 100 * infer_gf / peak, infer_gf))
    w("  flops counted: forward 2*%d = %d per sample, training 3x forward = %d per sample, "
      "%.1f MFLOP per epoch of %d rows" % (MACS, FWD_FLOPS, TRAIN_FLOPS, epoch_rows * TRAIN_FLOPS / 1e6, epoch_rows))

    fw, bw, up = med["nnc_part_forward_ms"], med["nnc_part_backward_ms"], med["nnc_part_update_ms"]
    w("")
    w("nnc training, ms/epoch by generated function (whole epochs of one call each):")
    w("  digits_forward %.3f | digits_backward %.3f (its own forward + %.3f backward) | digits_update (Adam) %.3f"
      % (fw, bw, bw - fw, up))
    w("  backward + update = %.3f vs train_step %.3f; shares of train_step: forward %.0f%%, backward %.0f%%, update %.0f%%"
      % (bw + up, med["nnc_train_ms"], 100 * fw / (bw + up), 100 * (bw - fw) / (bw + up), 100 * up / (bw + up)))

    w("")
    t_train = med["torch_train_ms"] / med["nnc_train_ms"]
    t_infer = med["torch_infer_us"] / med["nnc_infer_us"]
    w("targets: training >= 20x PyTorch: %s (%.1fx); inference >= 50x PyTorch: %s (%.1fx)"
      % ("met" if t_train >= 20 else "MISSED", t_train, "met" if t_infer >= 50 else "MISSED", t_infer))
    w("check (training-set accuracy after 1 / after N epochs, same data): nnc %s; PyTorch %s; "
      "FANN online %s; FANN batch %s" % tuple(
          "%s->%s (N=%s)" % (a[1], a[3], a[2]) if len(a) == 4 else "?"
          for a in (info.get(k, "").split() for k in (
              "nnc_train_acc_after_epochs", "torch_train_acc_after_epochs",
              "fann_online_train_acc_after_epochs", "fann_batch_train_acc_after_epochs"))))
    w("samples: %d training epochs and %d inference blocks per implementation over %d interleaved rounds; "
      "spread = half the interquartile range" % (len(samples["nnc_train_ms"]), len(samples["nnc_infer_us"]), len(rounds)))
    w("notes: FANN 2.2 has no ReLU (FANN_LINEAR_PIECE_RECT is 2.3+), so its hidden layers use the closest,")
    w("  FANN_LINEAR_PIECE = clamp(x, 0, 1), with a linear output layer and squared error on one-hot targets")
    w("  (FANN has no softmax cross-entropy); online = FANN_TRAIN_INCREMENTAL, one update per sample; batch =")
    w("  FANN_TRAIN_BATCH, one update per epoch. nnc and PyTorch: ReLU, cross-entropy from logits, Adam per batch of 32.")
    w("setup: %s" % info.get("setup", "?"))
    lenet(lines, samples, per_round, med, half_iqr, info, ratio_range, peak)
    lenet(lines, samples, per_round, med, half_iqr, info, ratio_range, peak,
          "kcnn", "Keras CNN (bench/keras_cnn.nn) on Fashion-MNIST, batch 128", KCNN_MACS, 3)

    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    with open(out_path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
