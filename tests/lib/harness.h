/* harness.h - what test_core.c, test_isbi.c and tests/port/port.c share: PASS/FAIL lines
   for tests/run.sh, a seeded generator, bits of a float, a clock, a layer. Define
   HARNESS_NAME (the program's name, for the out-of-memory line) before including it,
   after fcn.h. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int n_pass, n_fail, n_skip;
static char cur_name[256], cur_why[4096];
static int cur_fails;

static void begin(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cur_name, sizeof cur_name, fmt, ap);
    va_end(ap);
    cur_fails = 0;
    cur_why[0] = '\0';
}

/* Records the first failure of the current case; returns cond. */
static int check(int cond, const char *fmt, ...)
{
    va_list ap;
    if (cond) return 1;
    if (cur_fails++ == 0) {
        va_start(ap, fmt);
        vsnprintf(cur_why, sizeof cur_why, fmt, ap);
        va_end(ap);
    }
    return 0;
}

/* Ends the case; 'note' (may be NULL) is appended to a PASS line. */
static void end_note(const char *note)
{
    if (cur_fails == 0) {
        printf("PASS: %s%s%s\n", cur_name, note ? ": " : "", note ? note : "");
        n_pass++;
    } else {
        if (cur_fails > 1)
            printf("FAIL: %s: %s (and %d more failed checks)\n", cur_name, cur_why, cur_fails - 1);
        else
            printf("FAIL: %s: %s\n", cur_name, cur_why);
        n_fail++;
    }
    fflush(stdout);
}

static void end(void) { end_note(NULL); }

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rnext(rng *r) /* splitmix64 */
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int rint_(rng *r, int lo, int hi) /* inclusive */
{
    return lo + (int)(rnext(r) % (uint64_t)(hi - lo + 1));
}

/* uniform in [-1, 1): exact, so every build generates the same floats */
static float runif(rng *r) { return (float)((int32_t)(rnext(r) >> 40) - (1 << 23)) * (1.0f / 8388608.0f); }

static uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        printf("FAIL: %s: out of memory for %lu bytes\n", HARNESS_NAME, (unsigned long)n);
        exit(1);
    }
    return p;
}

/* A layer: its type, maps, a square kernel and stride (0 for what the type ignores).
   static inline: a test that does not use it gets no warning. */
static inline fcn_layer mk_layer(fcn_layer_type t, int maps, int k, int stride)
{
    fcn_layer l;
    memset(&l, 0, sizeof l);
    l.type = t;
    l.maps = maps;
    l.kh = l.kw = k;
    l.stride = stride;
    return l;
}

static const char *border_name(fcn_border b)
{
    static const char *n[] = {"mirror", "zero", "replicate", "valid"};
    return (unsigned)b < 4 ? n[b] : "?";
}
