/* Tests of fcn_import.h's Caffe and ONNX loaders. Prints "PASS: name" /
   "FAIL: name: why" lines (tests/run.sh counts them). Run from the repository root:

     build/test_import [DIR]     DIR: the cases (default tests/data/import, written by
                                 tests/import/make_import_cases.py; cases.txt lists them)

   good cases: the imported model and the same network written natively (NAME.fcn) must
   have the same layers, transform and weight bits and give byte-identical maps (sliding
   path; and the dense path equals the sliding one where the dense path accepts the net).
   bad cases: refused, with the expected words in the message. Then malformed wire data:
   every truncation of every good file, every single-byte change in the first bytes,
   hand-made varints, wire types and lengths: an error, never a crash (the sanitizer and
   fuzz builds check the "never an out-of-bounds read"). */
#define FCN_IMPLEMENTATION
#define FCN_IMPORT_IMPLEMENTATION
#include "fcn_import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
static const char *dir = "tests/data/import";

#define FAILRET(a, b) do { fail(a, b); return; } while (0)

static void fail(const char *name, const char *why);
static void pass(const char *name) { printf("PASS: %s\n", name); }
static void fail(const char *name, const char *why)
{
    printf("FAIL: %s: %s\n", name, why);
    failures++;
}

static unsigned char *slurp(const char *name, size_t *n)
{
    char path[1024];
    unsigned char *b;
    fcn_error err;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (fcn__read_file(path, &b, n, &err) != FCN_OK) return NULL;
    return b;
}

/* Loads 1 or 2 files of the case directory. */
static fcn_status load(char **files, int n, fcn_net **net, fcn_error *err)
{
    char p0[1024], p1[1024];
    const char *paths[2];
    snprintf(p0, sizeof p0, "%s/%s", dir, files[0]);
    paths[0] = p0;
    if (n > 1) {
        snprintf(p1, sizeof p1, "%s/%s", dir, files[1]);
        paths[1] = p1;
    }
    return fcn_net_load_any(paths, n, net, err);
}

/* Same layers, transform, weight bits? */
static int same_net(const fcn_net *a, const fcn_net *b, char *why, size_t n)
{
    int i, c;
    fcn_shape ia = fcn_net_input(a), ib = fcn_net_input(b);
    if (ia.c != ib.c || ia.h != ib.h || ia.w != ib.w) return snprintf(why, n, "input shapes differ"), 0;
    if (fcn_net_layer_count(a) != fcn_net_layer_count(b))
        return snprintf(why, n, "%d layers, native %d", fcn_net_layer_count(a), fcn_net_layer_count(b)), 0;
    if (memcmp(&a->scale, &b->scale, sizeof(float))) return snprintf(why, n, "scale %g, native %g", a->scale, b->scale), 0;
    for (c = 0; c < ia.c; c++)
        if (memcmp(&a->mean[c], &b->mean[c], sizeof(float))) return snprintf(why, n, "mean[%d] differs", c), 0;
    for (i = 0; i < a->n; i++) {
        const fcn__layer *x = &a->layers[i], *y = &b->layers[i];
        if (x->d.type != y->d.type || x->d.maps != y->d.maps || x->d.kh != y->d.kh || x->d.kw != y->d.kw ||
            x->d.stride != y->d.stride || x->d.pad != y->d.pad ||
            (fcn__is_pool(x->d.type) && x->d.ceil_mode != y->d.ceil_mode) || memcmp(&x->d.slope, &y->d.slope, sizeof(float)))
            return snprintf(why, n, "layer %d: %s k%dx%d s%d p%d c%d, native %s k%dx%d s%d p%d c%d", i + 1,
                            fcn_layer_name(x->d.type), x->d.kh, x->d.kw, x->d.stride, x->d.pad, x->d.ceil_mode,
                            fcn_layer_name(y->d.type), y->d.kh, y->d.kw, y->d.stride, y->d.pad, y->d.ceil_mode), 0;
        if (x->out.c != y->out.c || x->out.h != y->out.h || x->out.w != y->out.w)
            return snprintf(why, n, "layer %d: output shapes differ", i + 1), 0;
    }
    if (a->nparams != b->nparams || memcmp(a->params, b->params, a->nparams * sizeof(float)))
        return snprintf(why, n, "the weights differ"), 0;
    return 1;
}

static float *map_of(const fcn_net *net, const float *img, int h, int w, fcn_path path, size_t *n, fcn_status *st)
{
    fcn_options o;
    int oh, ow;
    float *out;
    memset(&o, 0, sizeof o);
    o.path = path;
    o.threads = 1;
    *st = fcn_map_size(net, h, w, &o, &oh, &ow, NULL);
    if (*st != FCN_OK) return NULL;
    *n = (size_t)oh * (size_t)ow * (size_t)fcn_net_outputs(net);
    out = (float *)malloc(*n * sizeof(float));
    *st = fcn_map(net, img, h, w, &o, out, NULL);
    return out;
}

static void good_case(char **files, int nf, const char *native)
{
    char name[256], why[512];
    fcn_net *a = NULL, *b = NULL;
    fcn_error err;
    float img[13 * 11 * 3];
    float *ma, *mb, *md;
    size_t na, nb, nd, i;
    fcn_status st;
    unsigned x = 12345;
    snprintf(name, sizeof name, "import %s", files[0]);
    if (load(files, nf, &a, &err) != FCN_OK) FAILRET(name, err.message);
    if (fcn_net_load(native, &b, &err) != FCN_OK) {
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, native);
        if (fcn_net_load(p, &b, &err) != FCN_OK) {
            fcn_net_free(a);
            FAILRET(name, err.message);
        }
    }
    if (!same_net(a, b, why, sizeof why)) fail(name, why);
    else pass(name);
    for (i = 0; i < sizeof img / sizeof img[0]; i++) {
        x = x * 1103515245u + 12345u;
        img[i] = (float)((x >> 16) & 255u);
    }
    snprintf(name, sizeof name, "import %s: map == native map (sliding)", files[0]);
    ma = map_of(a, img, 13, 11, FCN_PATH_SLIDING, &na, &st);
    mb = map_of(b, img, 13, 11, FCN_PATH_SLIDING, &nb, &st);
    if (!ma || !mb || na != nb || memcmp(ma, mb, na * sizeof(float))) fail(name, "maps differ");
    else pass(name);
    if (fcn_net_dense_check(a, NULL) == FCN_OK) {
        snprintf(name, sizeof name, "import %s: dense == sliding", files[0]);
        md = map_of(a, img, 13, 11, FCN_PATH_DENSE, &nd, &st);
        if (!md || st != FCN_OK || nd != na || memcmp(md, ma, na * sizeof(float))) fail(name, "dense map differs");
        else pass(name);
        free(md);
    }
    free(ma);
    free(mb);
    fcn_net_free(a);
    fcn_net_free(b);
}

static void bad_case(char **files, int nf, const char *want)
{
    char name[256], why[700];
    fcn_net *a = NULL;
    fcn_error err;
    snprintf(name, sizeof name, "refuse %s", files[0]);
    if (load(files, nf, &a, &err) == FCN_OK) {
        fcn_net_free(a);
        FAILRET(name, "loaded");
    }
    if (!strstr(err.message, want)) {
        snprintf(why, sizeof why, "message '%s' lacks '%s'", err.message, want);
        FAILRET(name, why);
    }
    pass(name);
}

/* Every truncation and a sweep of byte changes of a good file: no crash, and a truncated
   file never loads. which: 0 onnx, 1 the caffemodel of a pair, 2 the prototxt. */
static void mangle(char **files, int which)
{
    char name[256], why[300];
    unsigned char *a, *b, *buf;
    size_t na, nb = 0, cut, i, loaded = 0;
    fcn_net *net;
    fcn_error err;
    const char *f = files[which == 2 ? 0 : which];
    snprintf(name, sizeof name, "malformed %s: every truncation and byte change refused or harmless", f);
    if (!(a = slurp(files[0], &na))) FAILRET(name, "cannot read");
    b = which ? slurp(files[1], &nb) : NULL;
    {
        unsigned char *data = which == 1 ? b : a;
        size_t n = which == 1 ? nb : na;
        buf = (unsigned char *)malloc(n + 1);
        for (cut = 0; cut < n; cut += (n > 4000 ? 7 : 1)) {
            fcn_status st;
            memcpy(buf, data, cut);
            if (which == 0) st = fcn_net_load_onnx_memory(buf, cut, "t", &net, &err);
            else if (which == 1) st = fcn_net_load_caffe_memory(a, na, buf, cut, "t", &net, &err);
            else st = fcn_net_load_caffe_memory(buf, cut, b, nb, "t", &net, &err);
            if (st == FCN_OK) {
                fcn_net_free(net);
                if (which == 0) { /* a prototxt or caffemodel cut after a complete layer can be valid */
                    snprintf(why, sizeof why, "loaded when cut to %lu of %lu bytes", (unsigned long)cut, (unsigned long)n);
                    free(buf), free(a), free(b);
                    FAILRET(name, why);
                }
            }
            if (st != FCN_OK && err.message[0] == '\0') {
                free(buf), free(a), free(b);
                FAILRET(name, "an error without a message");
            }
        }
        for (i = 0; i < n && i < 600; i++) {
            static const unsigned char vals[] = {0x00, 0xff, 0x80, 0x7f, 0x0a, 0x12, 0x22};
            size_t v;
            for (v = 0; v < sizeof vals; v++) {
                fcn_status st;
                memcpy(buf, data, n);
                buf[i] = vals[v];
                if (which == 0) st = fcn_net_load_onnx_memory(buf, n, "t", &net, &err);
                else if (which == 1) st = fcn_net_load_caffe_memory(a, na, buf, n, "t", &net, &err);
                else st = fcn_net_load_caffe_memory(buf, n, b, nb, "t", &net, &err);
                if (st == FCN_OK) fcn_net_free(net), loaded++;
            }
        }
    }
    free(buf);
    free(a);
    free(b);
    pass(name);
}

/* Hand-made wire data: each must be refused with the words given. */
static void wire_cases(void)
{
    static const struct {
        const char *name, *data;
        size_t n;
        const char *want;
    } w[] = {
        {"varint overflow", "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 11, "varint overflows"},
        {"truncated varint", "\x08\xff", 2, "truncated varint"},
        {"length past the end", "\x08\x07\x3a\x80\x01\x0a", 6, "past the end"},
        {"group wire type", "\x08\x07\x3b", 3, "wire type"},
        {"field number 0", "\x00\x01", 2, "field number 0"},
        {"wrong wire type", "\x0d\x00\x00\x00\x00", 5, "wire type 5, expected 0"},
        {"not a model", "hello", 5, "ModelProto"},
        {"empty", "", 0, "not an ONNX model"},
        {"graph node with wrong wire type", "\x08\x07\x42\x02\x10\x0d\x3a\x02\x08\x01", 10, "node 1: field 1 has wire type 0"},
    };
    size_t i;
    char name[128], why[700];
    for (i = 0; i < sizeof w / sizeof w[0]; i++) {
        fcn_net *net = NULL;
        fcn_error err;
        snprintf(name, sizeof name, "wire: %s", w[i].name);
        if (fcn_net_load_onnx_memory(w[i].data, w[i].n, "t", &net, &err) == FCN_OK) {
            fcn_net_free(net);
            fail(name, "loaded");
        } else if (!strstr(err.message, w[i].want)) {
            snprintf(why, sizeof why, "message '%s' lacks '%s'", err.message, w[i].want);
            fail(name, why);
        } else
            pass(name);
    }
    /* the caffemodel side of the same reader */
    {
        fcn_net *net = NULL;
        fcn_error err;
        const char *proto = "input: \"d\" input_dim: 1 input_dim: 1 input_dim: 3 input_dim: 3\n"
                            "layer { name: \"c\" type: \"Convolution\" bottom: \"d\" top: \"c\" convolution_param { num_output: 1 kernel_size: 3 } }\n";
        if (fcn_net_load_caffe_memory(proto, strlen(proto), "\xa2\x06\xff\xff\xff\xff\x0f", 7, "t", &net, &err) == FCN_OK ||
            !strstr(err.message, "past the end"))
            fail("wire: caffemodel length past the end", err.message);
        else
            pass("wire: caffemodel length past the end");
        /* packed floats whose length is not a multiple of 4 */
        {
            static const unsigned char m[] = {0xa2, 0x06, 0x0a, 0x0a, 0x01, 'c', 0x3a, 0x05, 0x2a, 0x03, 0, 0, 0};
            if (fcn_net_load_caffe_memory(proto, strlen(proto), m, 13, "t", &net, &err) == FCN_OK ||
                !strstr(err.message, "multiple of the element size"))
                fail("wire: packed floats of a bad length", err.message);
            else
                pass("wire: packed floats of a bad length");
        }
    }
}

int main(int argc, char **argv)
{
    char path[1024], line[1024];
    FILE *f;
    if (argc > 1) dir = argv[1];
    snprintf(path, sizeof path, "%s/cases.txt", dir);
    if (!(f = fopen(path, "r"))) {
        fail("import cases", "cannot open cases.txt (run tests/import/make_import_cases.py)");
        return 1;
    }
    while (fgets(line, sizeof line, f)) {
        char *files[3], *bar = strchr(line, '|'), *tok, *want;
        int n = 0, good;
        if (line[0] == '#' || !bar) continue;
        *bar = '\0';
        want = bar + 1;
        while (*want == ' ') want++;
        want[strcspn(want, "\n")] = '\0';
        tok = strtok(line, " ");
        good = strcmp(tok, "good") == 0;
        while ((tok = strtok(NULL, " ")) && n < 3) files[n++] = tok;
        if (n < 1 || n > 2) continue;
        if (good) {
            good_case(files, n, want);
            if (n == 1) mangle(files, 0);
            else mangle(files, 1), mangle(files, 2);
        } else
            bad_case(files, n, want);
    }
    fclose(f);
    wire_cases();
    return failures ? 1 : 0;
}
