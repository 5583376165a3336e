/* count_alloc.h - a counting allocator for fcn.h (current and peak bytes), shared by
   test_core.c and bench/bench.c. Include it before fcn.h's implementation: it defines
   FCN_MALLOC and FCN_FREE. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define COUNT_HDR 64 /* keeps malloc's alignment */
static pthread_mutex_t mem_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t mem_cur, mem_peak;

static void *count_malloc(size_t n)
{
    unsigned char *p = n <= (size_t)-1 - COUNT_HDR ? (unsigned char *)malloc(n + COUNT_HDR) : NULL;
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    pthread_mutex_lock(&mem_lock);
    mem_cur += n;
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
    pthread_mutex_unlock(&mem_lock);
    free(p);
}

/* Starts a measurement: returns the bytes held now and makes the peak the current. */
static size_t mem_mark(void)
{
    size_t c;
    pthread_mutex_lock(&mem_lock);
    c = mem_peak = mem_cur;
    pthread_mutex_unlock(&mem_lock);
    return c;
}

static size_t mem_peak_now(void)
{
    size_t c;
    pthread_mutex_lock(&mem_lock);
    c = mem_peak;
    pthread_mutex_unlock(&mem_lock);
    return c;
}

#define FCN_MALLOC(n) count_malloc(n)
#define FCN_FREE(p) count_free(p)
