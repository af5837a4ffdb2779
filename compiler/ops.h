/* ops.h — the op table: every IR op, declared once, with every fact about it.
 *
 * Included as an X-macro wherever a switch or an array needs the ops:
 *     OP(NAME, "name", inputs | facts, shape rule, gradient rule, emitter)
 * The facts (OPF_*, nnc.h) are or'd onto the input count and read through
 * op_flags() (ops.c): what plan.c may do in place, what fuse.c may fold, what
 * a loss's targets are, how summary.c counts MACs, which ops act by mode.
 * The shape rule lives in ir.c, the gradient rule in autodiff.c and the
 * emitter in emit.c; adding an op is one line here plus those three functions
 * (often shared) and its tests. Inputs are in llm.c's order: data, then
 * weights. Attributes: a->act (fused activation of LINEAR), f[] below.
 *
 * Activations: OPF_GRAD_Y, the gradient rule grad_act, differentiates
 * through the output y; OPF_GRAD_X, grad_act_x, through the input x (gelu,
 * silu: no formula in y). An activation's parameters (alpha) are in f[], in
 * catalogue order, on the activation node, its ACT_BWD and a LINEAR it is
 * fused into. */

/* Leaves: storage the caller or the plan provides, no computation. */
OP(INPUT,  "input",  0, shape_leaf, grad_leaf, emit_nothing)
OP(TARGET, "target", 0, shape_leaf, grad_leaf, emit_nothing)
OP(PARAM,  "param",  0, shape_leaf, grad_leaf, emit_nothing)
OP(STATE,  "state",  0, shape_leaf, grad_leaf, emit_nothing) /* optimizer state */

/* Forward ops. */
OP(LINEAR,       "linear",       3 | OPF_MACS_FAN_IN | OPF_OPTIONAL(2),           shape_linear, grad_linear, emit_linear) /* x, W[out,in], b or NULL */
OP(RELU,         "relu",         1 | OPF_ELEMENTWISE | OPF_IN_PLACE | OPF_GRAD_Y, shape_same,   grad_act,    emit_act)
OP(LEAKY_RELU,   "leaky_relu",   1 | OPF_ELEMENTWISE | OPF_IN_PLACE | OPF_GRAD_Y, shape_same,   grad_act,    emit_act) /* f[0] = alpha */
OP(ELU,          "elu",          1 | OPF_ELEMENTWISE | OPF_IN_PLACE | OPF_GRAD_Y, shape_same,   grad_act,    emit_act) /* f[0] = alpha */
OP(SELU,         "selu",         1 | OPF_ELEMENTWISE | OPF_IN_PLACE | OPF_GRAD_Y, shape_same,   grad_act,    emit_act)
OP(RELU6,        "relu6",        1 | OPF_ELEMENTWISE | OPF_IN_PLACE | OPF_GRAD_Y, shape_same,   grad_act,    emit_act)
OP(HARD_SIGMOID, "hard_sigmoid", 1 | OPF_ELEMENTWISE | OPF_IN_PLACE | OPF_GRAD_Y, shape_same,   grad_act,    emit_act)
OP(SIGMOID,      "sigmoid",      1 | OPF_ELEMENTWISE | OPF_IN_PLACE | OPF_GRAD_Y, shape_same,   grad_act,    emit_act)
OP(TANH,         "tanh",         1 | OPF_ELEMENTWISE | OPF_IN_PLACE | OPF_GRAD_Y, shape_same,   grad_act,    emit_act)
OP(SOFTPLUS,     "softplus",     1 | OPF_ELEMENTWISE | OPF_IN_PLACE | OPF_GRAD_Y, shape_same,   grad_act,    emit_act)
OP(SOFTSIGN,     "softsign",     1 | OPF_ELEMENTWISE | OPF_IN_PLACE | OPF_GRAD_Y, shape_same,   grad_act,    emit_act)
OP(EXPONENTIAL,  "exponential",  1 | OPF_ELEMENTWISE | OPF_IN_PLACE | OPF_GRAD_Y, shape_same,   grad_act,    emit_act)
OP(GELU,         "gelu",         1 | OPF_ELEMENTWISE | OPF_IN_PLACE | OPF_GRAD_X, shape_same,   grad_act_x,  emit_act)
OP(SILU,         "silu",         1 | OPF_ELEMENTWISE | OPF_IN_PLACE | OPF_GRAD_X, shape_same,   grad_act_x,  emit_act) /* = swish */
OP(SOFTMAX,      "softmax",      1 | OPF_IN_PLACE | OPF_GRAD_Y,                   shape_same,   grad_act,    emit_softmax) /* over the last axis */
OP(LOG_SOFTMAX,  "log_softmax",  1 | OPF_IN_PLACE | OPF_GRAD_Y,                   shape_same,   grad_act,    emit_softmax) /* over the last axis */
/* Heaviside: 1 if x > 0; perceptrons only. Its straight-through gradient
 * reads neither x nor y, so it folds as if through y. */
OP(STEP,   "step",   1 | OPF_ELEMENTWISE | OPF_IN_PLACE | OPF_GRAD_Y, shape_same,   grad_step,   emit_act)
OP(MAXOUT, "maxout", 1,                                               shape_maxout, grad_maxout, emit_maxout) /* max over groups of f[0] on the last axis */

/* Images, channels first [n, C, H, W]; win[] (WIN_*) holds the window. */
OP(CONV2D,     "conv2d",     3 | OPF_MACS_FAN_IN | OPF_OPTIONAL(2), shape_conv2d,  grad_conv2d,  emit_conv2d) /* x, W[out,in,kh,kw], b or NULL */
OP(MAX_POOL2D, "max_pool2d", 1,                                     shape_pool2d,  grad_pool2d,  emit_pool2d)
OP(AVG_POOL2D, "avg_pool2d", 1,                                     shape_pool2d,  grad_pool2d,  emit_pool2d)
OP(RESHAPE,    "reshape",    1,                                     shape_reshape, grad_reshape, emit_reshape) /* same values, new shape (set by lower.c) */

/* Regularization and normalization. Dropout and batch norm act differently in
 * training (NAME_backward) and inference (NAME_forward, NAME_evaluate): their
 * functions take a `training` flag. DROPOUT: f[0] = rate, f[1] = the layer's
 * index (its masks' stream). BATCH_NORM: f[0] = Keras momentum, f[1] = epsilon,
 * statistics per channel = axis 1, running statistics in buf[]. LAYER_NORM:
 * f[0] = epsilon, statistics over the last axis. */
OP(DROPOUT,    "dropout",    1 | OPF_TRAINING,                   shape_same, grad_dropout,    emit_dropout)
OP(BATCH_NORM, "batch_norm", 3 | OPF_TRAINING | OPF_OPTIONAL(1), shape_same, grad_batch_norm, emit_batch_norm) /* x, gamma or NULL, beta or NULL */
OP(LAYER_NORM, "layer_norm", 3 | OPF_OPTIONAL(1),                shape_same, grad_layer_norm, emit_layer_norm) /* x, gamma or NULL, beta or NULL */
/* Sequences [n, T, F], batch first. A recurrent layer is a LINEAR for the
 * input projection xp = x W_ih^T + b_ih over every step at once, then
 * RECURRENCE: the steps in order, h_t from xp_t and h_{t-1}, written to a
 * cache [n, T, S] of what the backward pass needs (gates, cell, h: S per
 * step, the cell kind follows from W_hh's shape); RECURRENCE_OUT reads the
 * h's out of it. a->act: the activation, a->ract: the gates' (LSTM, GRU);
 * f[0..3] and f[4..7] their parameters. */
OP(RECURRENCE,     "recurrence",     3 | OPF_MACS_STEPS | OPF_OPTIONAL(2), shape_recurrence,     grad_never,          emit_recurrence) /* xp, W_hh, b_hh or NULL */
OP(RECURRENCE_OUT, "recurrence_out", 1,                                    shape_recurrence_out, grad_recurrence_out, emit_recurrence_out) /* cache -> h: every step or the last */
OP(REPEAT,         "repeat",         1,                                    shape_repeat,         grad_repeat,         emit_repeat) /* [n, F] -> [n, f[0], F] */
OP(REVERSE,        "reverse",        1,                                    shape_same,           grad_reverse,        emit_reverse) /* [n, T, F]: the steps in reverse order */
OP(EMBED,          "embed",          2,                                    shape_embed,          grad_embed,          emit_embed) /* ids [n, T], W [V, D] -> [n, T, D] */

/* Merges of two values (lower.c chains more): elementwise on equal shapes,
 * or joined along axis f[0] of the batched shape. SCALE: f[0] x (average). */
OP(MERGE_ADD, "merge_add",      2 | OPF_IN_PLACE,                   shape_same,   grad_merge,  emit_merge)
OP(MERGE_SUB, "merge_subtract", 2 | OPF_IN_PLACE,                   shape_same,   grad_merge,  emit_merge)
OP(MERGE_MUL, "merge_multiply", 2 | OPF_IN_PLACE,                   shape_same,   grad_merge,  emit_merge)
OP(MERGE_MAX, "merge_maximum",  2,                                  shape_same,   grad_merge,  emit_merge)
OP(MERGE_MIN, "merge_minimum",  2,                                  shape_same,   grad_merge,  emit_merge)
OP(SCALE,     "scale",          1 | OPF_IN_PLACE,                   shape_same,   grad_scale,  emit_scale) /* f[0] x */
OP(CONCAT,    "concatenate",    2,                                  shape_concat, grad_concat, emit_concat) /* f[0] = axis */

/* Layout variants chosen by fuse.c after autodiff, for speed. */
OP(TRANSPOSE, "transpose", 1 | OPF_WEIGHTS_ONLY,                    shape_transpose, grad_never, emit_transpose) /* W[out,in] -> [in,out] */
OP(LINEAR_T,  "linear_t",  3 | OPF_MACS_FAN_IN_T | OPF_OPTIONAL(2), shape_linear_t,  grad_never, emit_linear_t) /* x, W^T[in,out], b or NULL */

/* Losses: (prediction, target) -> scalar mean over the batch. f[0] holds
 * label_smoothing (BCE, CCE and their logits variants) or delta (HUBER). */
OP(MSE,        "mse",           2 | OPF_LOSS | OPF_TASK(TASK_REGRESSION), shape_scalar, grad_loss, emit_loss)
OP(BCE,        "bce",           2 | OPF_LOSS | OPF_TASK(TASK_BINARY),     shape_scalar, grad_loss, emit_loss) /* on probabilities */
OP(BCE_LOGITS, "bce_logits",    2 | OPF_LOSS | OPF_TASK(TASK_BINARY),     shape_scalar, grad_loss, emit_loss)
OP(SCE,        "sce",           2 | OPF_LOSS | OPF_TASK(TASK_SPARSE),     shape_scalar, grad_loss, emit_loss) /* sparse CE on probabilities */
OP(SCE_LOGITS, "sce_logits",    2 | OPF_LOSS | OPF_TASK(TASK_SPARSE),     shape_scalar, grad_loss, emit_loss)
OP(MAE,        "mae",           2 | OPF_LOSS | OPF_TASK(TASK_REGRESSION), shape_scalar, grad_loss, emit_loss)
OP(HUBER,      "huber",         2 | OPF_LOSS | OPF_TASK(TASK_REGRESSION), shape_scalar, grad_loss, emit_loss) /* f[0] = delta */
OP(LOG_COSH,   "log_cosh",      2 | OPF_LOSS | OPF_TASK(TASK_REGRESSION), shape_scalar, grad_loss, emit_loss)
OP(CCE,        "cce",           2 | OPF_LOSS | OPF_TASK(TASK_ONEHOT),     shape_scalar, grad_loss, emit_loss) /* one-hot CE on probabilities */
OP(CCE_LOGITS, "cce_logits",    2 | OPF_LOSS | OPF_TASK(TASK_ONEHOT),     shape_scalar, grad_loss, emit_loss)
OP(HINGE,      "hinge",         2 | OPF_LOSS | OPF_TASK(TASK_HINGE),      shape_scalar, grad_loss, emit_loss) /* targets 0/1 or -1/1 */
OP(KLD,        "kl_divergence", 2 | OPF_LOSS | OPF_TASK(TASK_ONEHOT),     shape_scalar, grad_loss, emit_loss) /* Keras' clipped formula */
OP(PERCEPTRON, "perceptron",    2 | OPF_LOSS | OPF_TASK(TASK_REGRESSION), shape_scalar, grad_loss, emit_loss) /* mse's value, gradient (p - t) / rows */

/* Regularization, after the loss: the running loss plus one parameter's penalty
 * l1 sum|w| + l2 sum w^2 (f[0] = l1, f[1] = l2), as Keras adds it to the loss. */
OP(L1L2, "l1_l2", 2 | OPF_WEIGHTS_ONLY, shape_scalar, grad_l1l2, emit_l1l2) /* loss, W */

/* Backward ops, made by autodiff.c; never differentiated again. */
OP(ADD,             "add",                  2 | OPF_IN_PLACE,     shape_same,       grad_never, emit_add) /* gradient accumulation */
OP(ACT_BWD,         "act_backward",         2 | OPF_IN_PLACE,     shape_same,       grad_never, emit_act_bwd) /* dy, y or x: a->act's gradient rule says */
OP(SOFTMAX_BWD,     "softmax_backward",     2 | OPF_IN_PLACE,     shape_same,       grad_never, emit_softmax_bwd) /* dy, y */
OP(LOG_SOFTMAX_BWD, "log_softmax_backward", 2 | OPF_IN_PLACE,     shape_same,       grad_never, emit_softmax_bwd) /* dy, y */
OP(MAXOUT_BWD,      "maxout_backward",      2,                    shape_maxout_bwd, grad_never, emit_maxout_bwd) /* dy, x; f[0] = pieces */
OP(LINEAR_DX,       "linear_dx",            2,                    shape_linear_dx,  grad_never, emit_linear_dx) /* dy, W */
OP(LINEAR_DW,       "linear_dw",            2,                    shape_linear_dw,  grad_never, emit_linear_dw) /* dy, x */
OP(LINEAR_DB,       "linear_db",            1,                    shape_linear_db,  grad_never, emit_linear_db) /* dy */
OP(LOSS_BWD,        "loss_backward",        2,                    shape_same,       grad_never, emit_loss_bwd) /* pred, target; a->loss says which */
OP(CONV2D_DX,       "conv2d_dx",            3,                    shape_conv2d_dx,  grad_never, emit_conv2d_dx) /* dy, W, x (for its shape) */
OP(CONV2D_DW,       "conv2d_dw",            2,                    shape_conv2d_dw,  grad_never, emit_conv2d_dw) /* dy, x */
OP(CHANNEL_DB,      "channel_db",           1,                    shape_channel_db, grad_never, emit_channel_db) /* dy [n,C,H,W] -> [C] */
OP(POOL2D_DX,       "pool2d_dx",            3,                    shape_pool2d_dx,  grad_never, emit_pool2d_dx) /* dy, x, y; a->act: MAX/AVG */
OP(L1L2_BWD,        "l1_l2_backward",       1 | OPF_WEIGHTS_ONLY, shape_same,       grad_never, emit_l1l2_bwd) /* W -> l1 sign(w) + 2 l2 w */
/* Normalization and dropout gradients: statistics are recomputed from x, so
 * the forward keeps nothing but its output. */
OP(DROPOUT_BWD,       "dropout_backward",  1,                   shape_same,       grad_never, emit_dropout_bwd) /* dy; f as DROPOUT */
OP(BATCH_NORM_DX,     "batch_norm_dx",     3 | OPF_OPTIONAL(2), shape_same,       grad_never, emit_batch_norm_dx) /* dy, x, gamma or NULL */
OP(BATCH_NORM_DGAMMA, "batch_norm_dgamma", 2,                   shape_channel_db, grad_never, emit_batch_norm_dgamma) /* dy, x */
OP(LAYER_NORM_DX,     "layer_norm_dx",     3 | OPF_OPTIONAL(2), shape_same,       grad_never, emit_layer_norm_dx) /* dy, x, gamma or NULL */
OP(LAYER_NORM_DGAMMA, "layer_norm_dgamma", 2,                   shape_linear_db,  grad_never, emit_layer_norm_dgamma) /* dy, x */
/* Backpropagation through time, from the forward cache. */
OP(RECURRENCE_DX, "recurrence_dx",   3, shape_recurrence_dx, grad_never, emit_recurrence_dx) /* dh, cache, W_hh -> dxp */
OP(RECURRENCE_DW, "recurrence_dw",   2, shape_recurrence_dw, grad_never, emit_recurrence_dw) /* dxp, cache -> dW_hh */
OP(RECURRENCE_DB, "recurrence_db",   2, shape_recurrence_db, grad_never, emit_recurrence_db) /* dxp, cache -> db_hh */
OP(REPEAT_BWD,    "repeat_backward", 1, shape_repeat_bwd,    grad_never, emit_repeat_bwd) /* dy [n, R, F] -> [n, F] */
OP(EMBED_DW,      "embed_dw",        2, shape_embed_dw,      grad_never, emit_embed_dw) /* dy, ids -> dW [V, D]; f[0] = V */

/* Merge gradients: the part of dy that was a's (f[1] = 0) or b's (f[1] =
 * 1) where a >= b (MERGE_MAX) or a <= b (MERGE_MIN), as TensorFlow gives
 * ties to a; a slice of dy along axis f[0] from offset f[1]. */
OP(SELECT_BWD, "select_backward", 3, shape_same,  grad_never, emit_select_bwd) /* dy, a, b; a->act: MAX/MIN */
OP(SLICE,      "slice",           1, shape_slice, grad_never, emit_slice) /* dy -> its part */

/* Gradient clipping, made by optim.c: in place on one gradient, before the
 * update. f[0] is the limit. clip_global_norm nodes share one norm taken over
 * every gradient they clip. */
OP(CLIP_NORM,        "clip_norm",        1 | OPF_CLIP, shape_none, grad_never, emit_update) /* g */
OP(CLIP_GLOBAL_NORM, "clip_global_norm", 1 | OPF_CLIP, shape_none, grad_never, emit_update) /* g */
OP(CLIP_VALUE,       "clip_value",       1 | OPF_CLIP, shape_none, grad_never, emit_update) /* g */

/* Optimizer updates, made by optim.c: in place on (param, grad) and the
 * parameter's state tensors (STATE nodes with wrt = param, by slot). The
 * learning rate is not an attribute: the update reads it from the schedule. */
OP(SGD,      "sgd",      2, shape_none, grad_never, emit_update) /* f = momentum, nesterov, weight_decay */
OP(RMSPROP,  "rmsprop",  2, shape_none, grad_never, emit_update) /* f = rho, momentum, epsilon, centered */
OP(ADAM,     "adam",     2, shape_none, grad_never, emit_update) /* f = beta_1, beta_2, epsilon, amsgrad */
OP(ADAMW,    "adamw",    2, shape_none, grad_never, emit_update) /* f = beta_1, beta_2, epsilon, amsgrad, weight_decay */
OP(ADAGRAD,  "adagrad",  2, shape_none, grad_never, emit_update) /* f = initial_accumulator_value, epsilon */
OP(ADADELTA, "adadelta", 2, shape_none, grad_never, emit_update) /* f = rho, epsilon */
OP(ADAMAX,   "adamax",   2, shape_none, grad_never, emit_update) /* f = beta_1, beta_2, epsilon */
OP(NADAM,    "nadam",    2, shape_none, grad_never, emit_update) /* f = beta_1, beta_2, epsilon, momentum_decay */
