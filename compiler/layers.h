/* layers.h — the layer table: every kind of layer, declared once.
 *
 * Included as an X-macro wherever a switch or an array needs the kinds:
 *     LAYER(KIND, facts, shape rule, parameter rule, lowering)
 * A catalogue entry (catalog.c) names its kind (L_KIND) and its arguments.
 * The shape rule and the parameter rule live in layers.c: the per-sample
 * output shape from the input (errors located at the layer), and the tensors
 * the layer owns with their PyTorch names, shapes, initializers and
 * regularizers (layer_params), which lower.c, the checker's memory bound and
 * nnc summary all read. The lowering lives in lower.c: the ops the layer is
 * made of, taking its parameters from that list. Adding a layer is one row
 * here, its catalogue entry, those functions (often shared) and its tests.
 * Facts (LF_*, nnc.h): LF_WINDOW, a window over the input (layer_window),
 * LF_CONV of a kernel (kernel_size, dilation_rate; filters or depth_multiplier);
 * LF_RECURRENT, a recurrent cell of LF_GATES(g) gates per step, caching
 * LF_CACHE(s) floats per unit each step for the backward pass (ir.c). */

/* Dense and activations: activation layers are relu, softmax, ... by name;
 * maxout maps to units * pieces values, then takes the max of each group. */
LAYER(DENSE,       0, shape_units, params_dense,  lower_dense)
LAYER(ACTIVATION,  0, shape_keep,  params_none,   lower_activation)
LAYER(MAXOUT,      0, shape_units, params_maxout, lower_maxout)
/* Windows over [C, H, W], 1-D layers as height 1: conv1d, conv2d and
 * depthwise_conv2d; separable_conv2d, a depthwise then a 1x1 convolution;
 * max_ and average_pooling1d/2d (e->op says which); global pooling, one
 * window over the whole input. flatten and reshape: views of the values. */
LAYER(CONV2D,           LF_WINDOW | LF_CONV, shape_window, params_conv,      lower_conv2d)
LAYER(SEPARABLE_CONV2D, LF_WINDOW | LF_CONV, shape_window, params_separable, lower_separable)
LAYER(POOL2D,           LF_WINDOW,           shape_window, params_none,      lower_pool2d)
LAYER(GLOBAL_POOL,      LF_WINDOW,           shape_window, params_none,      lower_global_pool)
LAYER(RESHAPE,          0,                   shape_reshape, params_none,     lower_reshape)
/* Regularization and normalization: dropout in training only; batch norm
 * per channel (axis 1, PyTorch's); layer norm over the last axis. */
LAYER(DROPOUT,     0, shape_keep, params_none,       lower_dropout)
LAYER(BATCH_NORM,  0, shape_keep, params_batch_norm, lower_batch_norm)
LAYER(LAYER_NORM,  0, shape_keep, params_layer_norm, lower_layer_norm)
/* Sequences [T, F]. LSTM's gates i, f, g, o, its cache them, c and h; GRU's
 * r, z, n, its cache them, W_hn h + b_hn and h. repeat_vector: [F] -> [n, F];
 * embedding: token ids [T] -> [T, output_dim]. */
LAYER(SIMPLE_RNN,  LF_RECURRENT | LF_GATES(1) | LF_CACHE(1), shape_recurrent, params_recurrent, lower_recurrent)
LAYER(LSTM,        LF_RECURRENT | LF_GATES(4) | LF_CACHE(6), shape_recurrent, params_recurrent, lower_recurrent)
LAYER(GRU,         LF_RECURRENT | LF_GATES(3) | LF_CACHE(5), shape_recurrent, params_recurrent, lower_recurrent)
LAYER(REPEAT,      0, shape_repeat, params_none, lower_repeat)
LAYER(TIME_DISTRIBUTED, 0, shape_time_distributed, params_time_distributed, lower_time_distributed)
LAYER(EMBEDDING,   0, shape_embedding, params_embedding, lower_embedding)
/* bidirectional(lstm(...)): the cell over the steps forward and over them
 * reversed, its second set of parameters PyTorch's NAME.weight_ih_l0_reverse,
 * the two outputs merged by merge_mode (concat on the features, sum, mul, ave). */
LAYER(BIDIRECTIONAL, 0, shape_bidirectional, params_bidirectional, lower_bidirectional)
/* Merges of several outputs (graph.c resolves which, Layer.from): add,
 * subtract, multiply, average, maximum, minimum (e->op says which) of equal
 * shapes; concatenate along one sample axis. */
LAYER(MERGE,       0, shape_merge, params_none, lower_merge)
LAYER(CONCATENATE, 0, shape_merge, params_none, lower_concatenate)
