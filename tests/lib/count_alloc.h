/* count_alloc.h - a counting allocator for fcn.h (current and peak bytes, live blocks),
   shared by test_core.c, bench/bench.c and tests/robust/alloc_sweep.c, which also makes
   it fail on purpose (alloc_fail). Include it before fcn.h's implementation: it defines
   FCN_MALLOC and FCN_FREE. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define COUNT_HDR 64 /* keeps malloc's alignment */
static pthread_mutex_t mem_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t mem_cur, mem_peak, mem_blocks;
static unsigned long mem_calls, fail_at; /* allocations so far; fail_at: see alloc_fail */
static int fail_rest;

/* From now on, the nth allocation fails (and, with rest, every later one too); n = 0:
   none fails. Resets the count of calls. */
static inline void alloc_fail(unsigned long n, int rest)
{
    pthread_mutex_lock(&mem_lock);
    mem_calls = 0;
    fail_at = n;
    fail_rest = rest;
    pthread_mutex_unlock(&mem_lock);
}

/* The allocations since the last alloc_fail, failed ones included. */
static inline unsigned long alloc_calls(void)
{
    unsigned long c;
    pthread_mutex_lock(&mem_lock);
    c = mem_calls;
    pthread_mutex_unlock(&mem_lock);
    return c;
}

static void *count_malloc(size_t n)
{
    unsigned char *p;
    int fail;
    pthread_mutex_lock(&mem_lock);
    mem_calls++;
    fail = fail_at && (mem_calls == fail_at || (fail_rest && mem_calls > fail_at));
    pthread_mutex_unlock(&mem_lock);
    p = !fail && n <= (size_t)-1 - COUNT_HDR ? (unsigned char *)malloc(n + COUNT_HDR) : NULL;
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    pthread_mutex_lock(&mem_lock);
    mem_cur += n;
    mem_blocks++;
    if (mem_cur > mem_peak) mem_peak = mem_cur;
    pthread_mutex_unlock(&mem_lock);
    return p + COUNT_HDR;
}

static void count_free(void *q)
{
    unsigned char *p;
    size_t n;
    if (!q) return;
    p = (unsigned char *)q - COUNT_HDR;
    memcpy(&n, p, sizeof n);
    pthread_mutex_lock(&mem_lock);
    mem_cur -= n;
    mem_blocks--;
    pthread_mutex_unlock(&mem_lock);
    free(p);
}

/* Starts a measurement: returns the bytes held now and makes the peak the current. */
static inline size_t mem_mark(void)
{
    size_t c;
    pthread_mutex_lock(&mem_lock);
    c = mem_peak = mem_cur;
    pthread_mutex_unlock(&mem_lock);
    return c;
}

static inline size_t mem_peak_now(void)
{
    size_t c;
    pthread_mutex_lock(&mem_lock);
    c = mem_peak;
    pthread_mutex_unlock(&mem_lock);
    return c;
}

#define FCN_MALLOC(n) count_malloc(n)
#define FCN_FREE(p) count_free(p)
