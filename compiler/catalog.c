/* catalog.c — every name a model file may use, in one table: statements,
 * layers, activations, losses, optimizers, initializers, preprocessing.
 * The checker, `nnc --list` and the docs are all driven from it, so adding
 * a name is adding a row (plus, for a new kind of layer, its row of layers.h).
 * The accessors at the end read a checked call's arguments by name.
 *
 * callbacks(...) takes any number of callbacks, each a call checked against
 * its K_CALLBACK row; check.c says which monitors fit the task. metrics(...)
 * likewise takes K_METRIC rows; check.c says which metrics fit the loss.
 *
 * Defaults are written exactly as in a model file and parsed by the same
 * parser; "" marks an optional argument without a default (a layer's name,
 * which the checker makes up Keras-style). */
#include "nnc.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#define ANY   (-HUGE_VAL), HUGE_VAL, 0, 0
#define NAME  {"name", T_STR, "", ANY, "a C identifier; by default the layer type, numbered: dense, dense_1, ..."}
/* The window arguments of the 2-D convolutions. */
#define CONV_STRIDES  {"strides", T_PAIR, "(1, 1)", 0, INT_MAX, 0, 0, "s or (sh, sw)"}
#define CONV_PADDING  {"padding", T_PADDING, "valid", 0, INT_MAX, 0, 0, \
                       "valid (none), same (output = ceil(input / stride), extra at the end), p or (ph, pw)"}
#define CONV_DILATION {"dilation_rate", T_PAIR, "(1, 1)", 1, INT_MAX, 0, 0, "d or (dh, dw): kernel taps d apart"}
/* alpha >= 0 keeps y > 0 exactly where x > 0, so the derivative can be taken
 * through the output (autodiff.c). Keras' activation default is 0.2 (its
 * LeakyReLU layer's is 0.3); nnc's leaky_relu layer reads as Activation. */
#define LEAKY_ALPHA {"alpha", T_FLOAT, "0.2", 0, HUGE_VAL, 0, 0, "slope for x < 0 (Keras' negative_slope)"}
#define MONITOR {"monitor", T_NAME, "val_loss", ANY, \
                 "loss, accuracy or rmse, or a metric of metrics(...); val_ for the validation data"}
#define MODE    {"mode", T_NAME, "auto", ANY, "min, max, or auto (min for losses, mse, mae, rmse; max otherwise)"}
#define ELU_ALPHA   {"alpha", T_FLOAT, "1.0", 0, HUGE_VAL, 0, 0, "alpha (exp(x) - 1) is the value for x <= 0"}

/* Every optimizer's learning rate, Adam-style moments and gradient clipping
 * (at most one of the three clipping arguments, as Keras). */
#define LR(d) {"learning_rate", T_SCHEDULE, d, 0, HUGE_VAL, 1, 0, "step size: a number > 0 or a schedule"}
#define BETAS \
    {"beta_1", T_FLOAT, "0.9", 0, 1, 0, 1, "decay of the first moment estimate"}, \
    {"beta_2", T_FLOAT, "0.999", 0, 1, 0, 1, "decay of the second moment estimate"}, \
    {"epsilon", T_FLOAT, "1e-7", 0, HUGE_VAL, 1, 0, "added to the denominator"}
#define CLIP \
    {"clipnorm", T_FLOAT, "", 0, HUGE_VAL, 1, 0, "scale each gradient tensor to norm <= clipnorm"}, \
    {"clipvalue", T_FLOAT, "", 0, HUGE_VAL, 1, 0, "clamp each gradient value to [-clipvalue, clipvalue]"}, \
    {"global_clipnorm", T_FLOAT, "", 0, HUGE_VAL, 1, 0, "scale all gradients together to norm <= global_clipnorm"}
#define HUBER_DELTA {"delta", T_FLOAT, "1.0", 0, HUGE_VAL, 1, 0, "where the loss turns from quadratic to linear"}
#define INITIAL_LR {"initial_learning_rate", T_FLOAT, NULL, 0, HUGE_VAL, 1, 0, "the rate at step 0"}
#define DECAY_STEPS {"decay_steps", T_INT, NULL, 1, INT_MAX, 0, 0, "steps (batches) per decay period"}

const Entry catalog[] = {
    /* name, kind, op, layer, {params: name, type, default, lo, hi, lo_open, hi_open, doc}, doc, example */

    /* ---- statements ---- */
    {"input", K_STATEMENT, 0, L_NONE, {
        {"shape", T_SHAPE, NULL, 1, 4, 0, 0, "1 to 4 positive sizes"},
     }, "the shape of one sample, without the batch dimension", "input [64]"},
    {"loss", K_STATEMENT, 0, L_NONE, {
        {"loss", T_LOSS, NULL, ANY, "a loss, with arguments if any"},
     }, "the loss to minimise", "loss mse"},
    {"optimizer", K_STATEMENT, 0, L_NONE, {
        {"optimizer", T_OPTIMIZER, NULL, ANY, "an optimizer, with arguments if any"},
     }, "how the parameters are updated", "optimizer adam(learning_rate = 0.001)"},
    {"fit", K_STATEMENT, 0, L_NONE, {
        {"epochs", T_INT, "1", 1, INT_MAX, 0, 0, "passes over the training data"},
        {"batch_size", T_INT, "32", 1, INT_MAX, 0, 0, "samples per step (and the compiled batch size)"},
        {"shuffle", T_BOOL, "true", ANY, "shuffle the training data every epoch"},
        {"seed", T_INT, "0", 0, HUGE_VAL, 0, 0, "seeds initialization and shuffling"},
        {"validation_split", T_FLOAT, "0.0", 0, 1, 0, 1, "fraction of the training data held out, from its end"},
        {"validation_data", T_STR, "", ANY, "a CSV, IDX or .npy file validated on instead of a split"},
        {"validation_labels", T_STR, "", ANY, "the IDX or .npy labels of validation_data's inputs"},
        {"class_weight", T_NUMBERS, "", 1, 65536, 0, 0,
         "a weight per class, [w0, w1, ...], or balanced: n / (classes * count) from the training labels"},
     }, "training settings, as Keras' Model.fit", "fit(epochs = 10, batch_size = 32)"},
    {"data", K_STATEMENT, 0, L_NONE, {
        {"train", T_STR, "", ANY, "CSV or IDX file of training samples, relative to the model file"},
        {"test", T_STR, "", ANY, "CSV or IDX file of test samples, relative to the model file"},
        {"train_labels", T_STR, "", ANY, "IDX labels of IDX train images (default: the MNIST name beside them)"},
        {"test_labels", T_STR, "", ANY, "IDX labels of IDX test images (default: the MNIST name beside them)"},
        {"scale", T_FLOAT, "1.0", 0, HUGE_VAL, 1, 0, "every input value read is divided by scale (255: pixels to [0, 1])"},
        {"format", T_NAME, "auto", ANY, "auto (told apart by the first bytes), csv, idx or npy"},
     }, "where the data is: CSV, IDX images (MNIST format) or NumPy .npy arrays, gzipped or not, with their labels",
     "data(train = \"train.csv\", test = \"test.csv\")"},
    {"preprocess", K_STATEMENT, 0, L_NONE, {
        {"method", T_PREPROCESS, NULL, ANY, "none, standardize or min_max"},
     }, "input scaling, fitted on the training data (default: none)", "preprocess standardize"},
    {"callbacks", K_STATEMENT, 0, L_NONE, {
        {"callback", T_CALLBACK, "", ANY, "any number of callbacks, each at most once"},
     }, "what runs at the end of every epoch, as Keras' fit(callbacks = [...])",
     "callbacks(early_stopping(patience = 3), csv_logger(\"history.csv\"))"},
    {"metrics", K_STATEMENT, 0, L_NONE, {
        {"metric", T_METRIC, "", ANY, "any number of metrics, each at most once"},
     }, "what is reported per epoch and by eval besides the loss, as Keras' compile(metrics = [...])",
     "metrics(accuracy, precision, recall)"},
    {"cross_validate", K_STATEMENT, 0, L_NONE, {
        {"k", T_INT, "5", 2, INT_MAX, 0, 0, "folds"},
     }, "nnc train runs k-fold cross-validation instead of one fit: per-fold and mean +- std of each metric",
     "cross_validate(5)"},

    /* ---- layers ---- */
    {"dense", K_LAYER, 0, L_DENSE, {
        {"units", T_INT, NULL, 1, INT_MAX, 0, 0, "output size"},
        {"activation", T_ACTIVATION, "linear", ANY, "applied to the output"},
        {"use_bias", T_BOOL, "true", ANY, "add a bias vector"},
        {"kernel_initializer", T_INITIALIZER, "glorot_uniform", ANY, "initial weights"},
        {"bias_initializer", T_INITIALIZER, "zeros", ANY, "initial bias"},
        {"kernel_regularizer", T_REGULARIZER, "", ANY, "penalty on the weights, added to the loss"},
        {"bias_regularizer", T_REGULARIZER, "", ANY, "penalty on the bias, added to the loss"},
        NAME,
     }, "densely connected layer on the last axis: activation(x W + b)", "dense(32, activation = relu)"},
    {"maxout", K_LAYER, 0, L_MAXOUT, {
        {"units", T_INT, NULL, 1, INT_MAX, 0, 0, "output size"},
        {"pieces", T_INT, NULL, 1, INT_MAX, 0, 0, "linear pieces per output, the max of which is taken"},
        {"use_bias", T_BOOL, "true", ANY, "add a bias vector"},
        {"kernel_initializer", T_INITIALIZER, "glorot_uniform", ANY, "initial weights [units * pieces, in]"},
        {"bias_initializer", T_INITIALIZER, "zeros", ANY, "initial bias [units * pieces]"},
        {"kernel_regularizer", T_REGULARIZER, "", ANY, "penalty on the weights, added to the loss"},
        {"bias_regularizer", T_REGULARIZER, "", ANY, "penalty on the bias, added to the loss"},
        NAME,
     }, "maxout: x W + b to units * pieces values, then the max of each group of pieces consecutive ones",
     "maxout(16, pieces = 3)"},
    {"conv2d", K_LAYER, 0, L_CONV2D, {
        {"filters", T_INT, NULL, 1, INT_MAX, 0, 0, "output channels"},
        {"kernel_size", T_PAIR, NULL, 1, INT_MAX, 0, 0, "k or (kh, kw)"},
        CONV_STRIDES,
        CONV_PADDING,
        CONV_DILATION,
        {"groups", T_INT, "1", 1, INT_MAX, 0, 0, "channel groups convolved separately; divides C and filters"},
        {"activation", T_ACTIVATION, "linear", ANY, "applied to the output"},
        {"use_bias", T_BOOL, "true", ANY, "add a bias per output channel"},
        {"kernel_initializer", T_INITIALIZER, "glorot_uniform", ANY, "initial weights"},
        {"bias_initializer", T_INITIALIZER, "zeros", ANY, "initial bias"},
        {"kernel_regularizer", T_REGULARIZER, "", ANY, "penalty on the weights, added to the loss"},
        {"bias_regularizer", T_REGULARIZER, "", ANY, "penalty on the bias, added to the loss"},
        NAME,
     }, "2-D convolution on [C, H, W] (cross-correlation, as PyTorch's Conv2d)",
     "conv2d(6, kernel_size = 5, padding = 2, activation = relu)"},
    {"max_pooling2d", K_LAYER, OP_MAX_POOL2D, L_POOL2D, {
        {"pool_size", T_PAIR, "(2, 2)", 1, INT_MAX, 0, 0, "k or (kh, kw)"},
        {"strides", T_PAIR, "", 0, INT_MAX, 0, 0, "s or (sh, sw); default: pool_size"},
        {"padding", T_PADDING, "valid", 0, INT_MAX, 0, 0, "valid, same, p or (ph, pw); padding is never the max"},
        NAME,
     }, "maximum over each window of [C, H, W]", "max_pooling2d((2, 2))"},
    {"average_pooling2d", K_LAYER, OP_AVG_POOL2D, L_POOL2D, {
        {"pool_size", T_PAIR, "(2, 2)", 1, INT_MAX, 0, 0, "k or (kh, kw)"},
        {"strides", T_PAIR, "", 0, INT_MAX, 0, 0, "s or (sh, sw); default: pool_size"},
        {"padding", T_PADDING, "valid", 0, INT_MAX, 0, 0,
         "valid, same, p or (ph, pw); the mean is over the values inside the input"},
        NAME,
     }, "mean over each window of [C, H, W]", "average_pooling2d((2, 2))"},
    {"flatten", K_LAYER, 0, L_RESHAPE, {NAME}, "the sample as one axis: [C, H, W] -> [C * H * W]", "flatten"},
    {"reshape", K_LAYER, 0, L_RESHAPE, {
        {"shape", T_SHAPE, NULL, 1, 4, 0, 0, "the new per-sample shape, same number of values"},
        NAME,
     }, "the same values in a new per-sample shape (row-major)", "reshape([1, 28, 28])"},
    /* More convolutions and pooling, lowered to the same window ops: 1-D
     * layers work on [C, L] as images of height 1. */
    {"conv1d", K_LAYER, 0, L_CONV2D, {
        {"filters", T_INT, NULL, 1, INT_MAX, 0, 0, "output channels"},
        {"kernel_size", T_INT, NULL, 1, INT_MAX, 0, 0, "window length"},
        {"strides", T_INT, "1", 0, INT_MAX, 0, 0, "step between windows"},
        {"padding", T_PADDING, "valid", 0, INT_MAX, 0, 0,
         "valid (none), same (output = ceil(input / stride), extra at the end) or p"},
        {"dilation_rate", T_INT, "1", 1, INT_MAX, 0, 0, "kernel taps d apart"},
        {"groups", T_INT, "1", 1, INT_MAX, 0, 0, "channel groups convolved separately; divides C and filters"},
        {"activation", T_ACTIVATION, "linear", ANY, "applied to the output"},
        {"use_bias", T_BOOL, "true", ANY, "add a bias per output channel"},
        {"kernel_initializer", T_INITIALIZER, "glorot_uniform", ANY, "initial weights"},
        {"bias_initializer", T_INITIALIZER, "zeros", ANY, "initial bias"},
        {"kernel_regularizer", T_REGULARIZER, "", ANY, "penalty on the weights, added to the loss"},
        {"bias_regularizer", T_REGULARIZER, "", ANY, "penalty on the bias, added to the loss"},
        NAME,
     }, "1-D convolution on [C, L] (cross-correlation, as PyTorch's Conv1d)",
     "conv1d(8, kernel_size = 3, padding = same, activation = relu)"},
    {"depthwise_conv2d", K_LAYER, 0, L_CONV2D, {
        {"kernel_size", T_PAIR, NULL, 1, INT_MAX, 0, 0, "k or (kh, kw)"},
        CONV_STRIDES,
        CONV_PADDING,
        {"depth_multiplier", T_INT, "1", 1, INT_MAX, 0, 0, "output channels per input channel"},
        CONV_DILATION,
        {"activation", T_ACTIVATION, "linear", ANY, "applied to the output"},
        {"use_bias", T_BOOL, "true", ANY, "add a bias per output channel"},
        {"depthwise_initializer", T_INITIALIZER, "glorot_uniform", ANY, "initial weights"},
        {"bias_initializer", T_INITIALIZER, "zeros", ANY, "initial bias"},
        {"depthwise_regularizer", T_REGULARIZER, "", ANY, "penalty on the weights, added to the loss"},
        {"bias_regularizer", T_REGULARIZER, "", ANY, "penalty on the bias, added to the loss"},
        NAME,
     }, "each channel of [C, H, W] convolved on its own into depth_multiplier channels "
        "(PyTorch's Conv2d with groups = C)", "depthwise_conv2d(3, padding = same, activation = relu)"},
    {"separable_conv2d", K_LAYER, 0, L_SEPARABLE_CONV2D, {
        {"filters", T_INT, NULL, 1, INT_MAX, 0, 0, "output channels"},
        {"kernel_size", T_PAIR, NULL, 1, INT_MAX, 0, 0, "k or (kh, kw) of the depthwise step"},
        CONV_STRIDES,
        CONV_PADDING,
        {"depth_multiplier", T_INT, "1", 1, INT_MAX, 0, 0, "channels per input channel after the depthwise step"},
        CONV_DILATION,
        {"activation", T_ACTIVATION, "linear", ANY, "applied to the output"},
        {"use_bias", T_BOOL, "true", ANY, "add a bias per output channel"},
        {"depthwise_initializer", T_INITIALIZER, "glorot_uniform", ANY, "initial depthwise weights"},
        {"pointwise_initializer", T_INITIALIZER, "glorot_uniform", ANY, "initial pointwise weights"},
        {"bias_initializer", T_INITIALIZER, "zeros", ANY, "initial bias"},
        {"depthwise_regularizer", T_REGULARIZER, "", ANY, "penalty on the depthwise weights, added to the loss"},
        {"pointwise_regularizer", T_REGULARIZER, "", ANY, "penalty on the pointwise weights, added to the loss"},
        {"bias_regularizer", T_REGULARIZER, "", ANY, "penalty on the bias, added to the loss"},
        NAME,
     }, "depthwise_conv2d without bias, then a 1x1 conv2d to filters channels (Keras' SeparableConv2D; "
        "PyTorch: Conv2d(groups = C) then Conv2d(kernel 1))",
     "separable_conv2d(16, kernel_size = 3, padding = same, activation = relu)"},
    {"max_pooling1d", K_LAYER, OP_MAX_POOL2D, L_POOL2D, {
        {"pool_size", T_INT, "2", 1, INT_MAX, 0, 0, "window length"},
        {"strides", T_INT, "", 0, INT_MAX, 0, 0, "step between windows; default: pool_size"},
        {"padding", T_PADDING, "valid", 0, INT_MAX, 0, 0, "valid, same or p; padding is never the max"},
        NAME,
     }, "maximum over each window of [C, L]", "max_pooling1d(2)"},
    {"average_pooling1d", K_LAYER, OP_AVG_POOL2D, L_POOL2D, {
        {"pool_size", T_INT, "2", 1, INT_MAX, 0, 0, "window length"},
        {"strides", T_INT, "", 0, INT_MAX, 0, 0, "step between windows; default: pool_size"},
        {"padding", T_PADDING, "valid", 0, INT_MAX, 0, 0,
         "valid, same or p; the mean is over the values inside the input"},
        NAME,
     }, "mean over each window of [C, L]", "average_pooling1d(2)"},
    {"global_average_pooling2d", K_LAYER, OP_AVG_POOL2D, L_GLOBAL_POOL, {NAME},
     "mean of each channel: [C, H, W] -> [C]", "global_average_pooling2d"},
    {"global_max_pooling2d", K_LAYER, OP_MAX_POOL2D, L_GLOBAL_POOL, {NAME},
     "maximum of each channel: [C, H, W] -> [C]", "global_max_pooling2d"},
    {"global_average_pooling1d", K_LAYER, OP_AVG_POOL2D, L_GLOBAL_POOL, {NAME},
     "mean of each channel: [C, L] -> [C]", "global_average_pooling1d"},
    {"global_max_pooling1d", K_LAYER, OP_MAX_POOL2D, L_GLOBAL_POOL, {NAME},
     "maximum of each channel: [C, L] -> [C]", "global_max_pooling1d"},
    /* Regularization and normalization (lower.c: lower_dropout, lower_batch_norm, lower_layer_norm). */
    {"dropout", K_LAYER, 0, L_DROPOUT, {
        {"rate", T_FLOAT, NULL, 0, 1, 0, 1, "fraction of the values zeroed in training, 0 <= rate < 1"},
        NAME,
     }, "training only: zeroes each value with probability rate, scales the rest by 1 / (1 - rate)",
     "dropout(0.25)"},
    {"batch_normalization", K_LAYER, 0, L_BATCH_NORM, {
        {"momentum", T_FLOAT, "0.99", 0, 1, 0, 0, "running = momentum running + (1 - momentum) batch (PyTorch's is 1 - this)"},
        {"epsilon", T_FLOAT, "0.001", 0, HUGE_VAL, 1, 0, "added to the variance"},
        {"center", T_BOOL, "true", ANY, "add a learned offset beta (PyTorch's bias)"},
        {"scale", T_BOOL, "true", ANY, "multiply by a learned gamma (PyTorch's weight)"},
        {"beta_initializer", T_INITIALIZER, "zeros", ANY, "initial beta"},
        {"gamma_initializer", T_INITIALIZER, "ones", ANY, "initial gamma"},
        {"moving_mean_initializer", T_INITIALIZER, "zeros", ANY, "initial running mean"},
        {"moving_variance_initializer", T_INITIALIZER, "ones", ANY, "initial running variance"},
        NAME,
     }, "normalizes each channel (axis 1: the features of [F], the C of [C, H, W]) by the batch's statistics in training, running ones in inference",
     "batch_normalization(momentum = 0.9)"},
    {"layer_normalization", K_LAYER, 0, L_LAYER_NORM, {
        {"epsilon", T_FLOAT, "0.001", 0, HUGE_VAL, 1, 0, "added to the variance"},
        {"center", T_BOOL, "true", ANY, "add a learned offset beta (PyTorch's bias)"},
        {"scale", T_BOOL, "true", ANY, "multiply by a learned gamma (PyTorch's weight)"},
        {"beta_initializer", T_INITIALIZER, "zeros", ANY, "initial beta"},
        {"gamma_initializer", T_INITIALIZER, "ones", ANY, "initial gamma"},
        NAME,
     }, "normalizes each sample over the last axis by its own mean and variance",
     "layer_normalization"},
    /* Recurrent layers on sequences [T, F], as torch.nn.RNN / LSTM / GRU (batch_first). */
    {"simple_rnn", K_LAYER, 0, L_SIMPLE_RNN, {
        {"units", T_INT, NULL, 1, INT_MAX, 0, 0, "size of the state h"},
        {"activation", T_ACTIVATION, "tanh", ANY, "h_t = activation(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)"},
        {"use_bias", T_BOOL, "true", ANY, "add the biases b_ih and b_hh"},
        {"return_sequences", T_BOOL, "false", ANY, "output every step's h [T, units], not the last [units]"},
        {"kernel_initializer", T_INITIALIZER, "glorot_uniform", ANY, "initial W_ih"},
        {"recurrent_initializer", T_INITIALIZER, "orthogonal", ANY, "initial W_hh"},
        {"bias_initializer", T_INITIALIZER, "zeros", ANY, "initial b_ih and b_hh"},
        NAME,
     }, "fully connected recurrent layer on a sequence [T, F] (PyTorch's RNN)",
     "simple_rnn(32, return_sequences = true)"},
    {"lstm", K_LAYER, 0, L_LSTM, {
        {"units", T_INT, NULL, 1, INT_MAX, 0, 0, "size of the states h and c"},
        {"activation", T_ACTIVATION, "tanh", ANY, "of the cell input g and of c in h = o activation(c)"},
        {"recurrent_activation", T_ACTIVATION, "sigmoid", ANY, "of the gates i, f, o"},
        {"use_bias", T_BOOL, "true", ANY, "add the biases b_ih and b_hh"},
        {"return_sequences", T_BOOL, "false", ANY, "output every step's h [T, units], not the last [units]"},
        {"kernel_initializer", T_INITIALIZER, "glorot_uniform", ANY, "initial W_ih"},
        {"recurrent_initializer", T_INITIALIZER, "orthogonal", ANY, "initial W_hh"},
        {"bias_initializer", T_INITIALIZER, "zeros", ANY, "initial b_ih and b_hh"},
        NAME,
     }, "long short-term memory on a sequence [T, F], gates i, f, g, o (PyTorch's LSTM)", "lstm(64)"},
    {"gru", K_LAYER, 0, L_GRU, {
        {"units", T_INT, NULL, 1, INT_MAX, 0, 0, "size of the state h"},
        {"activation", T_ACTIVATION, "tanh", ANY, "of the candidate n"},
        {"recurrent_activation", T_ACTIVATION, "sigmoid", ANY, "of the gates r and z"},
        {"use_bias", T_BOOL, "true", ANY, "add the biases b_ih and b_hh"},
        {"return_sequences", T_BOOL, "false", ANY, "output every step's h [T, units], not the last [units]"},
        {"kernel_initializer", T_INITIALIZER, "glorot_uniform", ANY, "initial W_ih"},
        {"recurrent_initializer", T_INITIALIZER, "orthogonal", ANY, "initial W_hh"},
        {"bias_initializer", T_INITIALIZER, "zeros", ANY, "initial b_ih and b_hh"},
        NAME,
     }, "gated recurrent unit on a sequence [T, F], gates r, z, n, r applied to W_hn h + b_hn "
        "(PyTorch's GRU; Keras' reset_after = true)", "gru(64)"},
    {"repeat_vector", K_LAYER, 0, L_REPEAT, {
        {"n", T_INT, NULL, 1, INT_MAX, 0, 0, "how many steps"},
        NAME,
     }, "a vector [F] repeated as a sequence of n steps [n, F]", "repeat_vector(10)"},
    {"time_distributed", K_LAYER, 0, L_TIME_DISTRIBUTED, {
        {"layer", T_LAYER, NULL, ANY, "the layer applied to every step: dense(...)"},
        NAME,
     }, "the inner dense layer applied to every step of [T, F] (its parameters under this layer's name)",
     "time_distributed(dense(1))"},
    {"embedding", K_LAYER, 0, L_EMBEDDING, {
        {"input_dim", T_INT, NULL, 1, INT_MAX, 0, 0, "vocabulary size: token ids are 0 .. input_dim - 1"},
        {"output_dim", T_INT, NULL, 1, INT_MAX, 0, 0, "size of each token's vector"},
        {"embeddings_initializer", T_INITIALIZER, "random_uniform", ANY, "initial vectors"},
        NAME,
     }, "token ids [T] (integers stored as numbers) to their vectors [T, output_dim]; the first layer only",
     "embedding(1000, 16)"},
    /* Merges: their operands are the names written before any argument
     * (graph.c takes them out); the result continues the stack. */
    {"add", K_LAYER, OP_MERGE_ADD, L_MERGE, {NAME}, "the sum of two or more outputs of one shape",
     "add(stem, b)"},
    {"subtract", K_LAYER, OP_MERGE_SUB, L_MERGE, {NAME}, "the first of two outputs of one shape minus the second",
     "subtract(a, b)"},
    {"multiply", K_LAYER, OP_MERGE_MUL, L_MERGE, {NAME}, "the product of two or more outputs of one shape",
     "multiply(a, b)"},
    {"average", K_LAYER, OP_MERGE_ADD, L_MERGE, {NAME}, "the mean of two or more outputs of one shape",
     "average(a, b)"},
    {"maximum", K_LAYER, OP_MERGE_MAX, L_MERGE, {NAME}, "the elementwise maximum of two or more outputs of one shape",
     "maximum(a, b)"},
    {"minimum", K_LAYER, OP_MERGE_MIN, L_MERGE, {NAME}, "the elementwise minimum of two or more outputs of one shape",
     "minimum(a, b)"},
    {"concatenate", K_LAYER, 0, L_CONCATENATE, {
        {"axis", T_INT, "-1", -MAX_DIMS + 1, MAX_DIMS - 2, 0, 0,
         "the sample axis joined, channels first ([C, H, W]: 0 joins channels); negative counts from the end"},
        NAME,
     }, "two or more outputs joined along one axis, equal on every other", "concatenate(a, b, axis = 0)"},
    {"bidirectional", K_LAYER, 0, L_BIDIRECTIONAL, {
        {"layer", T_LAYER, NULL, ANY, "the recurrent layer run both ways: lstm(...), gru(...) or simple_rnn(...)"},
        {"merge_mode", T_NAME, "concat", ANY, "concat (on the features), sum, mul or ave of the two directions"},
        NAME,
     }, "a recurrent layer over the steps forward and reversed, the two outputs merged (PyTorch's "
        "bidirectional = true: parameters NAME.weight_ih_l0 and NAME.weight_ih_l0_reverse, ...)",
     "bidirectional(lstm(32))"},
    {"activation", K_LAYER, 0, L_ACTIVATION, {
        {"activation", T_ACTIVATION, NULL, ANY, "the activation to apply"},
        NAME,
     }, "applies an activation (Keras' Activation layer)", "activation(relu)"},
    {"linear", K_LAYER, OP_NONE, L_ACTIVATION, {NAME}, "identity layer", "linear"},
    {"relu", K_LAYER, OP_RELU, L_ACTIVATION, {NAME}, "applies relu", "relu"},
    {"sigmoid", K_LAYER, OP_SIGMOID, L_ACTIVATION, {NAME}, "applies sigmoid", "sigmoid"},
    {"tanh", K_LAYER, OP_TANH, L_ACTIVATION, {NAME}, "applies tanh", "tanh"},
    {"softmax", K_LAYER, OP_SOFTMAX, L_ACTIVATION, {NAME}, "applies softmax over the last axis", "softmax"},
    {"leaky_relu", K_LAYER, OP_LEAKY_RELU, L_ACTIVATION, {LEAKY_ALPHA, NAME}, "applies leaky_relu",
     "leaky_relu(alpha = 0.2)"},
    {"elu", K_LAYER, OP_ELU, L_ACTIVATION, {ELU_ALPHA, NAME}, "applies elu", "elu(alpha = 1.0)"},
    {"selu", K_LAYER, OP_SELU, L_ACTIVATION, {NAME}, "applies selu", "selu"},
    {"gelu", K_LAYER, OP_GELU, L_ACTIVATION, {NAME}, "applies gelu", "gelu"},
    {"silu", K_LAYER, OP_SILU, L_ACTIVATION, {NAME}, "applies silu", "silu"},
    {"swish", K_LAYER, OP_SILU, L_ACTIVATION, {NAME}, "applies swish (silu)", "swish"},
    {"softplus", K_LAYER, OP_SOFTPLUS, L_ACTIVATION, {NAME}, "applies softplus", "softplus"},
    {"softsign", K_LAYER, OP_SOFTSIGN, L_ACTIVATION, {NAME}, "applies softsign", "softsign"},
    {"hard_sigmoid", K_LAYER, OP_HARD_SIGMOID, L_ACTIVATION, {NAME}, "applies hard_sigmoid", "hard_sigmoid"},
    {"relu6", K_LAYER, OP_RELU6, L_ACTIVATION, {NAME}, "applies relu6", "relu6"},
    {"exponential", K_LAYER, OP_EXPONENTIAL, L_ACTIVATION, {NAME}, "applies exponential", "exponential"},
    {"log_softmax", K_LAYER, OP_LOG_SOFTMAX, L_ACTIVATION, {NAME}, "applies log_softmax over the last axis",
     "log_softmax"},
    {"step", K_LAYER, OP_STEP, L_ACTIVATION, {NAME}, "applies step; trainable only right after the one dense layer of a perceptron",
     "step"},

    /* ---- activations ---- */
    {"linear", K_ACTIVATION, OP_NONE, L_NONE, {{0}}, "identity: x", NULL},
    {"relu", K_ACTIVATION, OP_RELU, L_NONE, {{0}}, "max(x, 0)", NULL},
    {"sigmoid", K_ACTIVATION, OP_SIGMOID, L_NONE, {{0}}, "1 / (1 + exp(-x))", NULL},
    {"tanh", K_ACTIVATION, OP_TANH, L_NONE, {{0}}, "hyperbolic tangent", NULL},
    {"softmax", K_ACTIVATION, OP_SOFTMAX, L_NONE, {{0}}, "exp(x) / sum(exp(x)) over the last axis", NULL},
    {"leaky_relu", K_ACTIVATION, OP_LEAKY_RELU, L_NONE, {LEAKY_ALPHA}, "x if x > 0, else alpha x", NULL},
    {"elu", K_ACTIVATION, OP_ELU, L_NONE, {ELU_ALPHA}, "x if x > 0, else alpha (exp(x) - 1)", NULL},
    {"selu", K_ACTIVATION, OP_SELU, L_NONE, {{0}},
     "scale elu(x, alpha), alpha = 1.6732632, scale = 1.0507010 (self-normalizing)", NULL},
    {"gelu", K_ACTIVATION, OP_GELU, L_NONE, {{0}},
     "x Phi(x), Phi the normal CDF in its exact erf form (PyTorch's approximate = 'none')", NULL},
    {"silu", K_ACTIVATION, OP_SILU, L_NONE, {{0}}, "x sigmoid(x)", NULL},
    {"swish", K_ACTIVATION, OP_SILU, L_NONE, {{0}}, "same as silu", NULL},
    {"softplus", K_ACTIVATION, OP_SOFTPLUS, L_NONE, {{0}}, "log(1 + exp(x))", NULL},
    {"softsign", K_ACTIVATION, OP_SOFTSIGN, L_NONE, {{0}}, "x / (1 + |x|)", NULL},
    {"hard_sigmoid", K_ACTIVATION, OP_HARD_SIGMOID, L_NONE, {{0}},
     "relu6(x + 3) / 6, as Keras 3 and PyTorch's hardsigmoid", NULL},
    {"relu6", K_ACTIVATION, OP_RELU6, L_NONE, {{0}}, "min(max(x, 0), 6)", NULL},
    {"exponential", K_ACTIVATION, OP_EXPONENTIAL, L_NONE, {{0}}, "exp(x)", NULL},
    {"log_softmax", K_ACTIVATION, OP_LOG_SOFTMAX, L_NONE, {{0}},
     "x - log(sum(exp(x))) over the last axis", NULL},
    {"step", K_ACTIVATION, OP_STEP, L_NONE, {{0}},
     "Heaviside: 1 if x > 0, else 0; only in a single-layer perceptron, trained by the perceptron rule",
     NULL},

    /* ---- losses ---- */
    {"mse", K_LOSS, OP_MSE, L_NONE, {{0}}, "mean squared error, for regression", "loss mse"},
    {"mean_squared_error", K_LOSS, OP_MSE, L_NONE, {{0}}, "same as mse", "loss mean_squared_error"},
    {"mae", K_LOSS, OP_MAE, L_NONE, {{0}}, "mean absolute error, for regression", "loss mae"},
    {"mean_absolute_error", K_LOSS, OP_MAE, L_NONE, {{0}}, "same as mae", "loss mean_absolute_error"},
    {"huber", K_LOSS, OP_HUBER, L_NONE, {HUBER_DELTA},
     "squared error for small errors, absolute error for large ones", "loss huber(delta = 1.0)"},
    {"huber_loss", K_LOSS, OP_HUBER, L_NONE, {HUBER_DELTA}, "same as huber", "loss huber_loss(delta = 1.0)"},
    {"log_cosh", K_LOSS, OP_LOG_COSH, L_NONE, {{0}}, "log(cosh(error)), a smooth absolute error",
     "loss log_cosh"},
    {"logcosh", K_LOSS, OP_LOG_COSH, L_NONE, {{0}}, "same as log_cosh", "loss logcosh"},
    {"binary_crossentropy", K_LOSS, OP_BCE, L_NONE, {
        {"from_logits", T_BOOL, "false", ANY, "the output is a logit, not a probability"},
        {"label_smoothing", T_FLOAT, "0.0", 0, 1, 0, 0, "targets move towards 0.5 by this fraction"},
     }, "two classes: one output, the probability of class 1", "loss binary_crossentropy"},
    {"categorical_crossentropy", K_LOSS, OP_CCE, L_NONE, {
        {"from_logits", T_BOOL, "false", ANY, "the outputs are logits, not probabilities"},
        {"label_smoothing", T_FLOAT, "0.0", 0, 1, 0, 0, "targets move towards 1/k by this fraction"},
     }, "k classes given as one-hot targets (k columns): k outputs", "loss categorical_crossentropy"},
    {"sparse_categorical_crossentropy", K_LOSS, OP_SCE, L_NONE, {
        {"from_logits", T_BOOL, "false", ANY, "the outputs are logits, not probabilities"},
     }, "k classes given as integer labels: k outputs", "loss sparse_categorical_crossentropy"},
    {"hinge", K_LOSS, OP_HINGE, L_NONE, {{0}}, "max(1 - t p, 0) with targets -1/1 (0/1 are converted)",
     "loss hinge"},
    {"kl_divergence", K_LOSS, OP_KLD, L_NONE, {{0}},
     "Kullback-Leibler divergence of the output from target distributions (k columns)",
     "loss kl_divergence"},
    {"kld", K_LOSS, OP_KLD, L_NONE, {{0}}, "same as kl_divergence", "loss kld"},
    {"kullback_leibler_divergence", K_LOSS, OP_KLD, L_NONE, {{0}}, "same as kl_divergence",
     "loss kullback_leibler_divergence"},

    /* ---- optimizers ---- */
    {"sgd", K_OPTIMIZER, OP_SGD, L_NONE, {
        LR("0.01"),
        {"momentum", T_FLOAT, "0.0", 0, 1, 0, 1, "velocity decay (0: plain gradient descent)"},
        {"nesterov", T_BOOL, "false", ANY, "Nesterov momentum, as PyTorch: step along g + momentum * buf"},
        {"weight_decay", T_FLOAT, "0.0", 0, HUGE_VAL, 0, 0, "L2 penalty: weight_decay * p added to the gradient"},
        CLIP,
     }, "stochastic gradient descent, with optional momentum", "optimizer sgd(learning_rate = 0.01)"},
    {"rmsprop", K_OPTIMIZER, OP_RMSPROP, L_NONE, {
        LR("0.001"),
        {"rho", T_FLOAT, "0.9", 0, 1, 0, 1, "decay of the mean square (PyTorch's alpha)"},
        {"momentum", T_FLOAT, "0.0", 0, 1, 0, 1, "momentum of the step (0: none)"},
        {"epsilon", T_FLOAT, "1e-7", 0, HUGE_VAL, 1, 0, "added to the root mean square"},
        {"centered", T_BOOL, "false", ANY, "divide by the root of the variance, not the mean square"},
        CLIP,
     }, "RMSprop: steps scaled by a running root mean square of the gradient", "optimizer rmsprop(learning_rate = 0.001)"},
    {"adam", K_OPTIMIZER, OP_ADAM, L_NONE, {
        LR("0.001"),
        BETAS,
        {"amsgrad", T_BOOL, "false", ANY, "divide by the largest second moment so far"},
        CLIP,
     }, "Adam, with Keras' defaults", "optimizer adam(learning_rate = 0.001)"},
    {"adamw", K_OPTIMIZER, OP_ADAMW, L_NONE, {
        LR("0.001"),
        {"weight_decay", T_FLOAT, "0.004", 0, HUGE_VAL, 0, 0, "decoupled decay: p -= lr * weight_decay * p"},
        BETAS,
        {"amsgrad", T_BOOL, "false", ANY, "divide by the largest second moment so far"},
        CLIP,
     }, "Adam with decoupled weight decay", "optimizer adamw(learning_rate = 0.001, weight_decay = 0.004)"},
    {"adagrad", K_OPTIMIZER, OP_ADAGRAD, L_NONE, {
        LR("0.001"),
        {"initial_accumulator_value", T_FLOAT, "0.1", 0, HUGE_VAL, 0, 0, "starting sum of squared gradients"},
        {"epsilon", T_FLOAT, "1e-7", 0, HUGE_VAL, 1, 0, "added to the root of the sum"},
        CLIP,
     }, "Adagrad: steps scaled by the root of all past squared gradients", "optimizer adagrad(learning_rate = 0.01)"},
    {"adadelta", K_OPTIMIZER, OP_ADADELTA, L_NONE, {
        LR("0.001"),
        {"rho", T_FLOAT, "0.95", 0, 1, 0, 1, "decay of the running averages"},
        {"epsilon", T_FLOAT, "1e-7", 0, HUGE_VAL, 1, 0, "added inside both roots"},
        CLIP,
     }, "Adadelta: steps scaled by the ratio of running RMS of updates and gradients", "optimizer adadelta(learning_rate = 1.0)"},
    {"adamax", K_OPTIMIZER, OP_ADAMAX, L_NONE, {
        LR("0.001"),
        BETAS,
        CLIP,
     }, "Adamax: Adam with the infinity norm", "optimizer adamax(learning_rate = 0.001)"},
    {"nadam", K_OPTIMIZER, OP_NADAM, L_NONE, {
        LR("0.001"),
        BETAS,
        CLIP,
     }, "Nadam: Adam with Nesterov momentum", "optimizer nadam(learning_rate = 0.001)"},

    /* ---- learning-rate schedules, stepped once per batch ---- */
    {"exponential_decay", K_SCHEDULE, 0, L_NONE, {
        INITIAL_LR,
        DECAY_STEPS,
        {"decay_rate", T_FLOAT, NULL, 0, HUGE_VAL, 1, 0, "factor per decay_steps steps"},
        {"staircase", T_BOOL, "false", ANY, "decay in whole periods only"},
     }, "lr * decay_rate ^ (step / decay_steps)",
     "learning_rate = exponential_decay(0.01, decay_steps = 100, decay_rate = 0.9)"},
    {"inverse_time_decay", K_SCHEDULE, 0, L_NONE, {
        INITIAL_LR,
        DECAY_STEPS,
        {"decay_rate", T_FLOAT, NULL, 0, HUGE_VAL, 0, 0, "how fast it decays"},
        {"staircase", T_BOOL, "false", ANY, "decay in whole periods only"},
     }, "lr / (1 + decay_rate * step / decay_steps)",
     "learning_rate = inverse_time_decay(0.01, decay_steps = 100, decay_rate = 0.5)"},
    {"piecewise_constant", K_SCHEDULE, 0, L_NONE, {
        {"boundaries", T_NUMBERS, NULL, 1, 64, 0, 0, "increasing step counts"},
        {"values", T_NUMBERS, NULL, 2, 65, 0, 0, "one rate more than boundaries, each > 0"},
     }, "values[i] while step <= boundaries[i], the last value after them",
     "learning_rate = piecewise_constant([100, 200], [0.01, 0.005, 0.001])"},
    {"cosine_decay", K_SCHEDULE, 0, L_NONE, {
        INITIAL_LR,
        DECAY_STEPS,
        {"alpha", T_FLOAT, "0.0", 0, 1, 0, 0, "final rate as a fraction of the initial one"},
     }, "lr * ((1 - alpha) (1 + cos(pi min(step, decay_steps) / decay_steps)) / 2 + alpha)",
     "learning_rate = cosine_decay(0.01, decay_steps = 1000)"},
    {"polynomial_decay", K_SCHEDULE, 0, L_NONE, {
        INITIAL_LR,
        DECAY_STEPS,
        {"end_learning_rate", T_FLOAT, "0.0001", 0, HUGE_VAL, 0, 0, "the rate after decay_steps"},
        {"power", T_FLOAT, "1.0", 0, HUGE_VAL, 1, 0, "1: linear"},
        {"cycle", T_BOOL, "false", ANY, "restart the decay every decay_steps, ever longer"},
     }, "(lr - end) (1 - min(step, decay_steps) / decay_steps) ^ power + end",
     "learning_rate = polynomial_decay(0.01, decay_steps = 1000)"},

    /* ---- initializers ----
     * fan_in and fan_out as Keras computes them: for dense, in and units. The
     * *_normal variance scalings are truncated at 2 standard deviations and
     * widened by 1 / .87962566103423978 so the variance is the one named. */
    {"zeros", K_INITIALIZER, 0, L_NONE, {{0}}, "all zero", NULL},
    {"ones", K_INITIALIZER, 0, L_NONE, {{0}}, "all one", NULL},
    {"constant", K_INITIALIZER, 0, L_NONE, {
        {"value", T_FLOAT, "0.0", ANY, "the value of every element"},
     }, "every element the same value", "dense(32, bias_initializer = constant(0.1))"},
    {"random_uniform", K_INITIALIZER, 0, L_NONE, {
        {"minval", T_FLOAT, "-0.05", ANY, "lower bound"},
        {"maxval", T_FLOAT, "0.05", ANY, "upper bound (excluded)"},
     }, "uniform in [minval, maxval)", "dense(32, kernel_initializer = random_uniform(-0.1, 0.1))"},
    {"random_normal", K_INITIALIZER, 0, L_NONE, {
        {"mean", T_FLOAT, "0.0", ANY, "mean"},
        {"stddev", T_FLOAT, "0.05", 0, HUGE_VAL, 0, 0, "standard deviation"},
     }, "normal(mean, stddev)", "dense(32, kernel_initializer = random_normal(stddev = 0.1))"},
    {"truncated_normal", K_INITIALIZER, 0, L_NONE, {
        {"mean", T_FLOAT, "0.0", ANY, "mean before truncation"},
        {"stddev", T_FLOAT, "0.05", 0, HUGE_VAL, 0, 0, "standard deviation before truncation"},
     }, "normal(mean, stddev), values beyond 2 stddev redrawn",
     "dense(32, kernel_initializer = truncated_normal(stddev = 0.1))"},
    {"glorot_uniform", K_INITIALIZER, 0, L_NONE, {{0}}, "uniform in +-sqrt(6 / (fan_in + fan_out))", NULL},
    {"glorot_normal", K_INITIALIZER, 0, L_NONE, {{0}},
     "truncated normal, variance 2 / (fan_in + fan_out)", NULL},
    {"he_uniform", K_INITIALIZER, 0, L_NONE, {{0}}, "uniform in +-sqrt(6 / fan_in)", NULL},
    {"he_normal", K_INITIALIZER, 0, L_NONE, {{0}}, "truncated normal, variance 2 / fan_in", NULL},
    {"lecun_uniform", K_INITIALIZER, 0, L_NONE, {{0}}, "uniform in +-sqrt(3 / fan_in)", NULL},
    {"lecun_normal", K_INITIALIZER, 0, L_NONE, {{0}}, "truncated normal, variance 1 / fan_in", NULL},
    {"orthogonal", K_INITIALIZER, 0, L_NONE, {
        {"gain", T_FLOAT, "1.0", ANY, "multiplies the orthogonal matrix"},
     }, "gain times a random orthogonal matrix (rows or columns orthonormal, by shape)",
     "dense(32, kernel_initializer = orthogonal(gain = 1.0))"},

    /* ---- regularizers: penalties added to the loss ----
     * l2 first: the one suggested when a misspelling is as near to both. */
    {"l2", K_REGULARIZER, 0, L_NONE, {
        {"l2", T_FLOAT, "0.01", 0, HUGE_VAL, 0, 0, "factor of the sum of squares"},
     }, "l2 * sum(w^2)", "dense(32, kernel_regularizer = l2(0.01))"},
    {"l1", K_REGULARIZER, 0, L_NONE, {
        {"l1", T_FLOAT, "0.01", 0, HUGE_VAL, 0, 0, "factor of the sum of absolute values"},
     }, "l1 * sum(|w|)", "dense(32, kernel_regularizer = l1(0.01))"},
    {"l1_l2", K_REGULARIZER, 0, L_NONE, {
        {"l1", T_FLOAT, "0.01", 0, HUGE_VAL, 0, 0, "factor of the sum of absolute values"},
        {"l2", T_FLOAT, "0.01", 0, HUGE_VAL, 0, 0, "factor of the sum of squares"},
     }, "l1 * sum(|w|) + l2 * sum(w^2)", "dense(32, kernel_regularizer = l1_l2(l1 = 0.01, l2 = 0.01))"},

    /* ---- callbacks: run at the end of every epoch, in the order written ---- */
    {"early_stopping", K_CALLBACK, 0, L_NONE, {
        MONITOR,
        {"patience", T_INT, "0", 0, INT_MAX, 0, 0, "epochs without improvement before stopping"},
        {"min_delta", T_FLOAT, "0.0", 0, HUGE_VAL, 0, 0, "smaller changes do not count as improvement"},
        {"restore_best_weights", T_BOOL, "false", ANY, "end with the weights of the best epoch"},
        MODE,
     }, "stops training when the monitored quantity stops improving",
     "callbacks(early_stopping(monitor = val_loss, patience = 3))"},
    {"model_checkpoint", K_CALLBACK, 0, L_NONE, {
        {"path", T_STR, NULL, ANY, "a .safetensors file; {epoch} is replaced by the epoch number"},
        MONITOR,
        {"save_best_only", T_BOOL, "false", ANY, "save only when the monitored quantity improves"},
        MODE,
     }, "saves the weights at the end of an epoch",
     "callbacks(model_checkpoint(\"best.safetensors\", save_best_only = true))"},
    {"csv_logger", K_CALLBACK, 0, L_NONE, {
        {"path", T_STR, NULL, ANY, "the CSV file, rewritten at the start of training"},
     }, "writes one row of loss and metrics per epoch", "callbacks(csv_logger(\"history.csv\"))"},
    {"reduce_lr_on_plateau", K_CALLBACK, 0, L_NONE, {
        MONITOR,
        {"factor", T_FLOAT, "0.1", 0, 1, 1, 1, "the rate is multiplied by factor"},
        {"patience", T_INT, "10", 0, INT_MAX, 0, 0, "epochs without improvement before reducing"},
        {"min_delta", T_FLOAT, "1e-4", 0, HUGE_VAL, 0, 0, "smaller changes do not count as improvement"},
        {"cooldown", T_INT, "0", 0, INT_MAX, 0, 0, "epochs to wait after a reduction before counting again"},
        {"min_lr", T_FLOAT, "0.0", 0, HUGE_VAL, 0, 0, "the rate is never reduced below min_lr"},
        MODE,
     }, "multiplies the learning rate by factor when the monitored quantity stops improving",
     "callbacks(reduce_lr_on_plateau(factor = 0.5, patience = 3))"},

    /* ---- metrics: computed per epoch on the training and validation data ---- */
    {"accuracy", K_METRIC, 0, L_NONE, {{0}}, "classification: the fraction classified right", NULL},
    {"binary_accuracy", K_METRIC, 0, L_NONE, {{0}},
     "binary: the fraction with (p > 0.5) == label (logit > 0)", NULL},
    {"mse", K_METRIC, 0, L_NONE, {{0}}, "regression: mean squared error", NULL},
    {"mae", K_METRIC, 0, L_NONE, {{0}}, "regression: mean absolute error", NULL},
    {"rmse", K_METRIC, 0, L_NONE, {{0}}, "regression: root mean squared error", NULL},
    {"precision", K_METRIC, 0, L_NONE, {{0}},
     "tp / (tp + fp); binary at p > 0.5, multi-class macro-averaged over classes", NULL},
    {"recall", K_METRIC, 0, L_NONE, {{0}},
     "tp / (tp + fn); binary at p > 0.5, multi-class macro-averaged over classes", NULL},
    {"auc", K_METRIC, 0, L_NONE, {{0}}, "binary: exact area under the ROC curve (ties count half)", NULL},
    {"top_k_accuracy", K_METRIC, 0, L_NONE, {
        {"k", T_INT, "5", 1, INT_MAX, 0, 0, "a sample counts if its class is among the k highest outputs"},
     }, "multi-class: the fraction whose class is among the k highest outputs", "metrics(top_k_accuracy(k = 3))"},

    /* ---- preprocessing ---- */
    {"none", K_PREPROCESS, 0, L_NONE, {{0}}, "inputs as they are", NULL},
    {"standardize", K_PREPROCESS, 0, L_NONE, {{0}}, "zero mean, unit variance per feature", NULL},
    {"min_max", K_PREPROCESS, 0, L_NONE, {{0}}, "scaled to [0, 1] per feature", NULL},
};

const int catalog_len = (int)(sizeof catalog / sizeof catalog[0]);

const Entry *catalog_find(const char *name, Kind kind) {
    for (int i = 0; i < catalog_len; i++)
        if (catalog[i].kind == kind && strcmp(catalog[i].name, name) == 0)
            return &catalog[i];
    return NULL;
}

const Entry *catalog_activation(int op) {
    for (int i = 0; i < catalog_len; i++)
        if (catalog[i].kind == K_ACTIVATION && catalog[i].op == op)
            return &catalog[i];
    internal_error("no activation with op %d", op);
}

/* Activations before layers: `optimizer relu` is about the activation. */
const Entry *catalog_find_any(const char *name) {
    static const Kind order[] = {K_ACTIVATION, K_LOSS, K_OPTIMIZER, K_INITIALIZER,
                                 K_REGULARIZER, K_PREPROCESS, K_SCHEDULE, K_CALLBACK, K_METRIC, K_STATEMENT,
                                 K_LAYER};
    for (int k = 0; k < (int)(sizeof order / sizeof order[0]); k++) {
        const Entry *e = catalog_find(name, order[k]);
        if (e)
            return e;
    }
    return NULL;
}

const char *kind_name(Kind k) {
    static const char *const names[K_NKINDS] = {
        "statement", "layer", "activation", "loss", "optimizer", "initializer",
        "preprocessing method", "regularizer", "learning-rate schedule", "callback", "metric",
    };
    if (k < 0 || k >= K_NKINDS)
        internal_error("bad kind %d", (int)k);
    return names[k];
}

static const char *type_name(const ParamDef *p) {
    switch (p->type) {
    case T_INT: return "int";
    case T_FLOAT: return "float";
    case T_BOOL: return "bool";
    case T_STR: return "string";
    case T_ACTIVATION: return "activation";
    case T_INITIALIZER: return "initializer";
    case T_SHAPE: return "shape";
    case T_LOSS: return "loss";
    case T_OPTIMIZER: return "optimizer";
    case T_PREPROCESS: return "preprocessing method";
    case T_REGULARIZER: return "regularizer";
    case T_SCHEDULE: return "float or schedule";
    case T_NUMBERS: return "numbers";
    case T_CALLBACK: return "callback";
    case T_METRIC: return "metric";
    case T_NAME: return "name";
    case T_PAIR: return "int or (int, int)";
    case T_PADDING: return "valid, same, int or (int, int)";
    case T_LAYER: return "layer";
    }
    internal_error("bad type %d", (int)p->type);
}

/* "int >= 1", "float in [0, 1)"; plain type name if unbounded. */
static char *type_range(const ParamDef *p) {
    const char *t = type_name(p);
    if (p->type == T_SHAPE)
        return fmt("shape (%g to %g sizes)", p->lo, p->hi);
    if (p->type == T_PAIR || p->type == T_PADDING)
        return fmt("%s", t);
    if (p->type == T_NUMBERS)
        return fmt("list (%g to %g numbers)", p->lo, p->hi);
    if (p->type != T_INT && p->type != T_FLOAT && p->type != T_SCHEDULE)
        return (char *)t;
    /* An upper bound beyond 1e6 only guards against overflow: not shown. */
    int lo = p->lo > -HUGE_VAL, hi = p->hi <= 1e6;
    if (lo && hi)
        return fmt("%s in %c%g, %g%c", t, p->lo_open ? '(' : '[', p->lo, p->hi, p->hi_open ? ')' : ']');
    if (lo)
        return fmt("%s %s %g", t, p->lo_open ? ">" : ">=", p->lo);
    if (hi)
        return fmt("%s %s %g", t, p->hi_open ? "<" : "<=", p->hi);
    return (char *)t;
}

/* A keyword statement takes its one required parameter as an operand. */
static int keyword_statement(const Entry *e) {
    return e->kind == K_STATEMENT && e->params[0].name && !e->params[0].dflt;
}

static void print_signature(FILE *out, const Entry *e) {
    const ParamDef *p = e->params;
    if (keyword_statement(e)) {
        fprintf(out, "  %s ", e->name);
        for (const char *c = p->name; *c; c++)
            fputc(toupper((unsigned char)*c), out);
        fprintf(out, "\n");
        return;
    }
    fprintf(out, "  %s", e->name);
    if (!p->name && e->kind != K_STATEMENT && e->kind != K_LAYER) {
        fprintf(out, "\n");
        return;
    }
    fprintf(out, "(");
    for (int i = 0; i < MAX_PARAMS && p[i].name; i++) {
        fprintf(out, "%s%s%s", i ? ", " : "", p[i].name, p[i].type == T_CALLBACK || p[i].type == T_METRIC ? ", ..." : "");
        if (p[i].dflt && *p[i].dflt)
            fprintf(out, " = %s", p[i].dflt);
    }
    fprintf(out, ")\n");
}

void catalog_print(FILE *out) {
    static const char *const titles[K_NKINDS] = {
        "Statements", "Layers", "Activations (activation = NAME)", "Losses (loss NAME)",
        "Optimizers (optimizer NAME)", "Initializers (kernel_initializer = NAME)",
        "Preprocessing (preprocess NAME)", "Regularizers (kernel_regularizer = NAME)",
        "Learning-rate schedules (learning_rate = NAME(...))",
        "Callbacks (callbacks(NAME(...), ...))",
        "Metrics (metrics(NAME, ...))",
    };
    for (int k = 0; k < K_NKINDS; k++) {
        fprintf(out, "%s%s:\n", k ? "\n" : "", titles[k]);
        for (int i = 0; i < catalog_len; i++) {
            const Entry *e = &catalog[i];
            if (e->kind != (Kind)k)
                continue;
            print_signature(out, e);
            fprintf(out, "      %s\n", e->doc);
            for (int j = 0; j < MAX_PARAMS && e->params[j].name; j++) {
                const ParamDef *p = &e->params[j];
                fprintf(out, "      %-20s %-26s %s%s\n", p->name, type_range(p),
                        p->dflt ? "" : "required; ", p->doc);
            }
        }
    }
}

/* ---- a checked call's arguments -------------------------------------------- */

int entry_param(const Entry *e, const char *name) {
    for (int i = 0; i < MAX_PARAMS && e->params[i].name; i++)
        if (strcmp(e->params[i].name, name) == 0)
            return i;
    return -1;
}

const ArgVal *call_arg(const Call *c, const char *param) {
    int k = entry_param(c->e, param);
    if (k < 0)
        internal_error("%s has no parameter '%s'", c->e->name, param);
    return &c->v[k];
}

double call_num(const Call *c, const char *param) {
    return call_arg(c, param)->num;
}

const char *call_str(const Call *c, const char *param) {
    return call_arg(c, param)->str;
}

Call *call_sub(const Call *c, const char *param) {
    Call *sub = call_arg(c, param)->call;
    if (!sub)
        internal_error("%s's '%s' is not a name", c->e->name, param);
    return sub;
}

/* Whether the call's entry has the parameter at all (mse has no from_logits). */
int call_has(const Call *c, const char *param) { return entry_param(c->e, param) >= 0; }
