/* layers.h — the layer table: every kind of layer, declared once.
 *
 * Included as an X-macro wherever a switch or an array needs the kinds:
 *     LAYER(KIND, facts, shape rule, parameter rule, lowering)
 * A catalogue entry (catalog.c) names its kind (L_KIND) and its arguments.
 * The shape rule and the parameter rule live in check.c: the per-sample
 * output shape from the input (errors located at the layer), and the tensors
 * the layer owns with their PyTorch names, shapes, initializers and
 * regularizers (layer_params), which lower.c, the checker's memory bound and
 * nnc summary all read. The lowering lives in lower.c: the ops the layer is
 * made of, taking its parameters from that list. Adding a layer is one row
 * here, its catalogue entry, those functions (often shared) and its tests.
 * Facts (LF_*, nnc.h): LF_WINDOW, a window over the input (layer_window);
 * LF_RECURRENT, a recurrent cell of LF_GATES(g) gates per step, caching
 * LF_CACHE(s) floats per unit each step for the backward pass (ir.c). */

LAYER(DENSE,       0,         shape_units,   params_dense,     lower_dense)
LAYER(ACTIVATION,  0,         shape_keep,    params_none,      lower_activation) /* relu, softmax, ... as layers */
LAYER(MAXOUT,      0,         shape_units,   params_maxout,    lower_maxout)     /* units * pieces, then the max per group */
LAYER(CONV2D,      LF_WINDOW, shape_window,  params_conv,      lower_conv2d)     /* conv1d, conv2d, depthwise_conv2d */
LAYER(POOL2D,      LF_WINDOW, shape_window,  params_none,      lower_pool2d)     /* max_, average_pooling1d/2d: e->op says which */
LAYER(RESHAPE,     0,         shape_reshape, params_none,      lower_reshape)    /* flatten, reshape: a view of the same values */
LAYER(GLOBAL_POOL, LF_WINDOW, shape_window,  params_none,      lower_global_pool) /* one window over the whole input */
/* Regularization and normalization. */
LAYER(DROPOUT,     0,         shape_keep,    params_none,      lower_dropout)    /* training only */
LAYER(BATCH_NORM,  0,         shape_keep,    params_batch_norm, lower_batch_norm) /* per channel (axis 1, PyTorch's) */
LAYER(LAYER_NORM,  0,         shape_keep,    params_layer_norm, lower_layer_norm) /* over the last axis */
/* Sequences [T, F]. */
LAYER(SIMPLE_RNN,  LF_RECURRENT | LF_GATES(1) | LF_CACHE(1), shape_recurrent, params_recurrent, lower_recurrent)
LAYER(LSTM,        LF_RECURRENT | LF_GATES(4) | LF_CACHE(6), shape_recurrent, params_recurrent, lower_recurrent) /* gates i, f, g, o; caches them, c, h */
LAYER(GRU,         LF_RECURRENT | LF_GATES(3) | LF_CACHE(5), shape_recurrent, params_recurrent, lower_recurrent) /* gates r, z, n; caches them, W_hn h + b_hn, h */
LAYER(REPEAT,      0,         shape_repeat,  params_none,      lower_repeat)     /* repeat_vector: [F] -> [n, F] */
LAYER(TIME_DISTRIBUTED, 0,    shape_time_distributed, params_time_distributed, lower_time_distributed)
LAYER(EMBEDDING,   0,         shape_embedding, params_embedding, lower_embedding) /* token ids [T] -> [T, output_dim] */
