/* fuzz_npy.c — NumPy .npy inputs and labels through nnc_data_load with
 * data(format = npy): the inputs file, then after the first "LBLS" the
 * labels file (fuzz.h). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_data_load(data, size, NNC_FORMAT_NPY, "x.npy", "y.npy");
}
