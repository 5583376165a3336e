/* ub_canary.c - built with the fuzz targets' flags (the Makefile's FUZZ_FLAGS) and run
   by tests/fuzz/fuzz_smoke.sh on the input "overflow": the signed overflow below must
   stop the run with an error. With recoverable UBSan a fuzz run prints "runtime error"
   and goes on, so undefined behaviour in a parser would pass the smoke test unnoticed. */
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    volatile int x = INT32_MAX; /* volatile: the compiler cannot fold the overflow away */
    if (size == 8 && memcmp(data, "overflow", 8) == 0) x = x + (int)size;
    return x == 0;
}
