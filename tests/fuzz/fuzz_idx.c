/* fuzz_idx.c — IDX images and labels through nnc_data_load with format
 * auto, so the format probe and the gzipped-CSV path are fuzzed too: the
 * images file, then after the first "LBLS" the labels file (fuzz.h). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_data_load(data, size, NNC_FORMAT_AUTO, "images", "labels");
}
