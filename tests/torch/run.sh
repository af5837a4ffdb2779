#!/bin/bash
# Cross-check nnc's training against PyTorch, model by model.
#
#   tests/torch/run.sh [MODEL ...]      (names from tests/torch/models/, default all)
#
# For each model: nnc describes it as JSON, gen_data.py makes its data,
# ref.py writes PyTorch's initial weights, then nnc and ref.py each train
# from those weights on that data (no shuffling) and compare.py checks the
# final weights agree to a relative 1e-4. Prints PASS:/FAIL: per model and
# exits 1 if any failed. NNC=path overrides ./nnc; KEEP=1 keeps the work dir.
set -u
cd "$(dirname "$0")/../.." || exit 1
NNC=${NNC:-./nnc}
PY=/usr/bin/python3          # Debian's python, the one with torch
T=tests/torch
RTOL=${RTOL:-1e-4}

# model          samples  header   (samples % batch_size != 0 leaves a partial batch)
CASES="
sce_logits_sgd_momentum  50  yes
deep_relu_adam          100  yes
act_layers_sce_probs     60  yes
softmax_dense_batch1     20  no
bce_logits               50  yes
bce_probs_adam           64  no
mse_linear               40  yes
mse_multi_out            50  yes
mse_deep_adam            50  yes
no_bias                  23  yes
mse_last_axis            30  yes
val_split_sgd            47  yes
perceptron_step          30  yes
maxout_adam              50  yes
alias_kld                40  yes
alias_kullback_leibler   40  yes
alias_huber_loss         40  yes
alias_logcosh            40  yes
act_leaky_elu_selu       50  yes
act_smooth_sce           60  yes
act_hard_standalone      43  no
mae_adam                 45  yes
huber_momentum           50  yes
log_cosh_adam            40  no
bce_logits_smoothing     50  yes
bce_probs_smoothing      44  yes
cce_probs_smoothing      60  yes
cce_logits               50  yes
cce_logits_smoothing     30  no
hinge_binary             50  yes
hinge_multi              50  yes
kl_divergence_softmax    60  yes
reg_l2_sgd               50  yes
reg_l1_adam              45  yes
reg_l1_l2_mixed          40  no
opt_sgd_nesterov         50  yes
opt_sgd_poly_global_clip 40  yes
opt_rmsprop_centered     50  yes
opt_rmsprop_inverse_time 40  yes
opt_adam_amsgrad_cosine  60  yes
opt_adamw_poly_cycle     50  yes
opt_adamw_clipnorm       40  yes
opt_adagrad              50  yes
opt_adadelta             50  yes
opt_adamax_piecewise     45  yes
opt_nadam                50  yes
conv_lenet_small         43  yes
conv_odd_strides         40  no
conv_dilated_groups      33  yes
separable_conv           33  yes
conv1d_pool1d            40  yes
conv1d_global_avg        23  no
conv_global_max          30  yes
conv_wide_groups         20  yes
conv1d_long              12  yes
conv_large_plane          9  no
norm_bn_dense            54  yes
norm_bn_conv             40  yes
norm_layer_norm          31  no
norm_dropout             52  yes
rnn_lstm_last            37  yes
rnn_gru_seq              30  yes
rnn_simple_relu          30  yes
rnn_lstm_variants        29  yes
rnn_gru_variants         23  no
rnn_simple_sce           30  yes
seq_one_to_many          35  yes
seq_embedding_gru        30  yes
rnn_simple_variants      12  no
class_weight_sce         50  yes
class_weight_bce_balanced 45 yes
class_weight_cce_smoothing 33 no
wide_dense               20  yes
seq_tagging_sce          30  yes
seq_lstm_cce_smoothing   30  yes
seq_cce_logits_smoothing 30  yes
seq_sce_softmax          30  no
seq_bce_steps            30  yes
seq_bce_logits_steps     30  yes
seq_kld_steps            30  yes
graph_residual           43  yes
graph_branches           37  yes
rnn_bidirectional        37  yes
rnn_bidirectional_mul    29  no
"

if [ ! -x "$NNC" ]; then
    echo "FAIL: torch: nnc not built"
    exit 1
fi

W=$(mktemp -d)
if [ -n "${KEEP:-}" ]; then echo "work dir: $W"; else trap 'rm -rf "$W"' EXIT; fi
failed=0

fail() { echo "FAIL: torch/$1: $2"; failed=$((failed + 1)); }

check() {   # check NAME SAMPLES HEADER [MODEL.nn]
    local m=$1 n=$2 hdr=$3 d=$W/$1
    local nn=${4:-$T/models/$m.nn}
    [ -f "$nn" ] || { fail "$m" "no $nn"; return; }
    "$NNC" "$nn" --emit=json > "$d.json" 2> "$d.err" ||
        { fail "$m" "nnc --emit=json: $(head -c 300 "$d.err")"; return; }
    # epochs and batch size come from the model's fit(), so both sides agree
    read -r epochs batch split < <($PY -c 'import json,sys
f = json.load(open(sys.argv[1]))["fit"]
print(f["epochs"], f["batch_size"], f["validation_split"])' "$d.json") ||
        { fail "$m" "JSON has no fit"; return; }
    local noheader=; [ "$hdr" = no ] && noheader=--no-header
    if ! $PY $T/gen_data.py "$d.json" "$d.csv" --samples "$n" $noheader 2> "$d.err" ||
       ! $PY $T/ref.py "$d.json" init "$d.init.safetensors" --seed 1234 2> "$d.err"; then
        fail "$m" "data/init: $(tail -n 3 "$d.err")"; return
    fi
    "$NNC" train "$nn" --data "$d.csv" --epochs "$epochs" --init "$d.init.safetensors" \
        --save "$d.nnc.safetensors" --quiet > "$d.nnc.log" 2>&1 ||
        { fail "$m" "nnc train: $(tail -n 3 "$d.nnc.log")"; return; }
    $PY $T/ref.py "$d.json" train --init "$d.init.safetensors" --data "$d.csv" \
        --epochs "$epochs" --batch-size "$batch" --validation-split "$split" \
        --out "$d.ref.safetensors" > "$d.ref.log" 2>&1 ||
        { fail "$m" "ref.py train: $(tail -n 3 "$d.ref.log")"; return; }
    # Models with batch norm or dropout: also their inference mode, from the
    # weights nnc trained (PyTorch loads nnc's file as a state_dict, the
    # int64 num_batches_tracked included): predict against PyTorch's eval().
    if grep -qE '^ *(batch_normalization|dropout)' "$nn"; then
        "$NNC" predict "$nn" --weights "$d.nnc.safetensors" --data "$d.csv" --out "$d.pred.csv" \
            > "$d.pred.log" 2>&1 &&
        $PY $T/ref.py "$d.json" forward --weights "$d.nnc.safetensors" --data "$d.csv" > "$d.fwd" 2>&1 &&
        $PY $T/compare_predict.py "$d.json" "$d.pred.csv" "$d.fwd" > "$d.pcmp" 2>&1 ||
            { fail "$m" "inference mode: $(tail -n 2 "$d.pred.log" "$d.fwd" "$d.pcmp" 2>/dev/null | tail -n 3)"; return; }
    fi
    if $PY $T/compare.py "$d.nnc.safetensors" "$d.ref.safetensors" --rtol "$RTOL" \
        > "$d.cmp" 2>&1; then
        echo "PASS: torch/$m ($(tail -n 1 "$d.cmp" | sed 's/^OK: //'))"
    else
        sed 's/^/    /' "$d.cmp"
        fail "$m" "$(tail -n 1 "$d.cmp" | sed 's/^FAIL: //')"
    fi
}

count=0
# Every model file must be in the table, so none is silently skipped.
for f in "$T"/models/*.nn; do
    m=$(basename "$f" .nn)
    if ! grep -q "^$m " <<< "$CASES"; then
        fail "$m" "not listed in run.sh CASES"
        count=$((count + 1))
    fi
done

while read -r m n hdr; do
    [ -z "$m" ] && continue
    if [ $# -gt 0 ] && [[ " $* " != *" $m "* ]]; then continue; fi
    check "$m" "$n" "$hdr"
    count=$((count + 1))
done <<< "$CASES"

# The sweep: every activation and every loss at two shapes, one epoch of
# plain SGD with a partial last batch. After one step from the same weights,
# equal weights mean equal forward values and equal gradients.
sweep() {   # sweep NAME BODY SAMPLES BATCH
    local f=$W/sweep_$1.nn
    printf 'model sweep_%s {\n%s\n  optimizer sgd(learning_rate = 0.1)\n  fit(epochs = 1, batch_size = %s, shuffle = false)\n}\n' \
        "$1" "$2" "$4" > "$f"
    check "sweep_$1" "$3" yes "$f"
    count=$((count + 1))
}
if [ $# -eq 0 ] || [[ " $* " == *" sweep "* ]]; then
    for a in relu sigmoid tanh softmax log_softmax "leaky_relu(alpha = 0.1)" "elu(alpha = 0.7)" \
             selu gelu swish softplus softsign hard_sigmoid relu6 exponential; do
        n=${a%%(*}
        sweep "act_${n}_small" "  input [3]
  dense(5, activation = $a)
  dense(2)
  loss mse" 10 4
        sweep "act_${n}_wide" "  input [17]
  dense(33, activation = $a)
  dense(4)
  loss mse" 20 7
    done
    for c in 1 3; do
        sweep "loss_mse_$c" "  input [6]
  dense($c)
  loss mse" 13 5
        sweep "loss_mae_$c" "  input [6]
  dense($c)
  loss mae" 13 5
        sweep "loss_huber_$c" "  input [6]
  dense($c)
  loss huber(delta = 0.5)" 13 5
        sweep "loss_log_cosh_$c" "  input [6]
  dense($c)
  loss log_cosh" 13 5
        sweep "loss_hinge_$c" "  input [6]
  dense($c)
  loss hinge" 13 5
    done
    sweep loss_bce "  input [5]
  dense(1, activation = sigmoid)
  loss binary_crossentropy" 11 4
    sweep loss_bce_logits "  input [9]
  dense(1)
  loss binary_crossentropy(from_logits = true)" 11 4
    for c in 3 7; do
        sweep "loss_cce_$c" "  input [5]
  dense($c, activation = softmax)
  loss categorical_crossentropy" 11 4
        sweep "loss_cce_logits_$c" "  input [5]
  dense($c)
  loss categorical_crossentropy(from_logits = true)" 11 4
        sweep "loss_sce_$c" "  input [5]
  dense($c, activation = softmax)
  loss sparse_categorical_crossentropy" 11 4
        sweep "loss_sce_logits_$c" "  input [5]
  dense($c)
  loss sparse_categorical_crossentropy(from_logits = true)" 11 4
        sweep "loss_kld_$c" "  input [5]
  dense($c, activation = softmax)
  loss kl_divergence" 11 4
    done
    # a class at every step: dense on the last axis of [4, 5] gives [4, k]
    sweep loss_steps_bce "  input [4, 5]
  dense(1, activation = sigmoid)
  loss binary_crossentropy" 11 4
    sweep loss_steps_bce_logits "  input [4, 5]
  dense(1)
  loss binary_crossentropy(from_logits = true, label_smoothing = 0.1)" 11 4
    sweep loss_steps_cce "  input [4, 5]
  dense(3, activation = softmax)
  loss categorical_crossentropy" 11 4
    sweep loss_steps_cce_logits "  input [4, 5]
  dense(3)
  loss categorical_crossentropy(from_logits = true)" 11 4
    sweep loss_steps_sce "  input [4, 5]
  dense(3, activation = softmax)
  loss sparse_categorical_crossentropy" 11 4
    sweep loss_steps_sce_logits "  input [4, 5]
  dense(3)
  loss sparse_categorical_crossentropy(from_logits = true)" 11 4
    sweep loss_steps_kld "  input [4, 5]
  dense(3, activation = softmax)
  loss kl_divergence" 11 4
fi

echo "torch: $((count - failed)) of $count passed"
[ $failed -eq 0 ]
