/* ONNX's own node tests (onnx.backend.test) through fcn_import.h and the sliding path.
   tests/import/onnx_node_cases.py writes them, as patch classifiers, into DIR;
   tests/import/test_onnx_node.sh runs both:

     build/test_onnx_node DIR EXPECT

   Each case (a line "NAME ITEMS OPS" of DIR/list.txt) is loaded item by item from
   DIR/NAME.K.onnx; the net maps DIR/NAME.K.in (H x W x C float32: exactly the patch, one
   output pixel with border valid) on the sliding path, and its outputs are compared with
   DIR/NAME.K.out: |fcn - onnx| <= 1e-5 |onnx| + 1e-6 (the absolute term for outputs that
   cancel to about 0). Where the dense path takes the net, its map must be the same bits.
   A case passes when every item does; it is refused when the importer refuses it with a
   message (FCN_ERR_UNSUPPORTED or FCN_ERR_FORMAT); anything else fails: a wrong value, a
   refusal without a message or with another status, a crash (the run ends).

   EXPECT (tests/import/onnx_node_expect.txt) says what each case it lists must do:
   "NAME pass" or "NAME refused WORDS" (the message contains WORDS). A case it does not
   list (a newer python3-onnx brings new ones) may pass or be refused. Prints PASS for a
   case that does as expected, FAIL otherwise, a line for each refusal, then the counts. */
#define FCN_IMPLEMENTATION
#define FCN_IMPORT_IMPLEMENTATION
#include "fcn_import.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RTOL 1e-5
#define ATOL 1e-6

typedef struct expect {
    char name[128];
    char what[256]; /* "pass", or the words of the refusal */
    int refused, seen;
} expect;

static expect *expects;
static int nexpect;

static void read_expect(const char *path)
{
    char line[512];
    FILE *f = fopen(path, "r");
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        char name[128], kind[16];
        int n = 0;
        expect *e;
        if (line[0] == '#' || sscanf(line, "%127s %15s %n", name, kind, &n) < 2) continue;
        if (!(e = realloc(expects, (size_t)(nexpect + 1) * sizeof *e))) break;
        expects = e;
        e = &expects[nexpect++];
        memset(e, 0, sizeof *e);
        snprintf(e->name, sizeof e->name, "%s", name);
        e->refused = strcmp(kind, "refused") == 0;
        snprintf(e->what, sizeof e->what, "%s", e->refused ? line + n : "pass");
        e->what[strcspn(e->what, "\n")] = '\0';
    }
    fclose(f);
}

static expect *find_expect(const char *name)
{
    int i;
    for (i = 0; i < nexpect; i++)
        if (strcmp(expects[i].name, name) == 0) return &expects[i];
    return NULL;
}

/* The map of img (exactly the patch) on path; NULL with *st set on failure. */
static float *map_patch(const fcn_net *net, const float *img, fcn_path path, fcn_status *st, fcn_error *err)
{
    fcn_shape in = fcn_net_input(net);
    fcn_options o;
    float *out = (float *)malloc((size_t)fcn_net_outputs(net) * sizeof(float));
    memset(&o, 0, sizeof o);
    o.path = path;
    o.border = FCN_BORDER_VALID;
    o.threads = 1;
    *st = out ? fcn_map(net, img, in.h, in.w, &o, out, err) : FCN_ERR_NOMEM;
    if (*st != FCN_OK) {
        free(out);
        return NULL;
    }
    return out;
}

/* One item: 0 it matches, 1 refused (msg set), -1 failed (msg set). */
static int run_item(const char *dir, const char *name, int k, char *msg, size_t n, double *worst)
{
    char path[1024];
    unsigned char *model = NULL, *img = NULL, *want = NULL;
    size_t nm, ni, nw, K, i;
    fcn_net *net = NULL;
    fcn_error err;
    fcn_status st;
    fcn_shape in;
    float *got = NULL, *dense = NULL;
    int rc = -1;
    snprintf(path, sizeof path, "%s/%s.%d.onnx", dir, name, k);
    if (fcn__read_file(path, &model, &nm, &err) != FCN_OK) return snprintf(msg, n, "%s", err.message), -1;
    st = fcn_net_load_onnx_memory(model, nm, name, &net, &err);
    FCN_FREE(model);
    if (st != FCN_OK) {
        if ((st == FCN_ERR_UNSUPPORTED || st == FCN_ERR_FORMAT) && err.message[0]) return snprintf(msg, n, "%s", err.message), 1;
        return snprintf(msg, n, "refused with status %d and message '%s'", (int)st, err.message), -1;
    }
    in = fcn_net_input(net);
    K = (size_t)fcn_net_outputs(net);
    snprintf(path, sizeof path, "%s/%s.%d.in", dir, name, k);
    if (fcn__read_file(path, &img, &ni, &err) != FCN_OK) goto io;
    snprintf(path, sizeof path, "%s/%s.%d.out", dir, name, k);
    if (fcn__read_file(path, &want, &nw, &err) != FCN_OK) goto io;
    if (ni != (size_t)in.h * (size_t)in.w * (size_t)in.c * 4 || nw != K * 4) {
        snprintf(msg, n, "loaded as a %dx%dx%d patch with %lu outputs; the test has %lu inputs and %lu outputs", in.h, in.w, in.c,
                 (unsigned long)K, (unsigned long)(ni / 4), (unsigned long)(nw / 4));
        goto done;
    }
    if (!(got = map_patch(net, (const float *)(void *)img, FCN_PATH_SLIDING, &st, &err))) {
        snprintf(msg, n, "sliding map: %s", err.message);
        goto done;
    }
    for (i = 0; i < K; i++) {
        float w;
        double d;
        memcpy(&w, want + 4 * i, 4);
        d = fabs((double)got[i] - (double)w);
        if (!(d <= RTOL * fabs((double)w) + ATOL)) {
            snprintf(msg, n, "item %d output %lu: fcn %.9g, onnx %.9g", k, (unsigned long)i, (double)got[i], (double)w);
            goto done;
        }
        if (d / (fabs((double)w) + ATOL) > *worst) *worst = d / (fabs((double)w) + ATOL);
    }
    if (fcn_net_dense_check(net, NULL) == FCN_OK) {
        if (!(dense = map_patch(net, (const float *)(void *)img, FCN_PATH_DENSE, &st, &err))) {
            snprintf(msg, n, "dense map: %s", err.message);
            goto done;
        }
        if (memcmp(dense, got, K * sizeof(float))) {
            snprintf(msg, n, "item %d: the dense map differs from the sliding one", k);
            goto done;
        }
    }
    rc = 0;
    goto done;
io:
    snprintf(msg, n, "%s", err.message);
done:
    free(got);
    free(dense);
    FCN_FREE(img);
    FCN_FREE(want);
    fcn_net_free(net);
    return rc;
}

int main(int argc, char **argv)
{
    char path[1024], line[1024];
    int passed = 0, refused = 0, failed = 0, unexpected = 0, i;
    FILE *f;
    if (argc != 3) {
        fprintf(stderr, "usage: test_onnx_node DIR EXPECT\n");
        return 2;
    }
    read_expect(argv[2]);
    if (nexpect == 0) {
        printf("FAIL: onnx-node: no expectations in %s\n", argv[2]);
        return 1;
    }
    snprintf(path, sizeof path, "%s/list.txt", argv[1]);
    if (!(f = fopen(path, "r"))) {
        printf("FAIL: onnx-node: cannot open %s (run tests/import/onnx_node_cases.py)\n", path);
        return 1;
    }
    while (fgets(line, sizeof line, f)) {
        char name[128], ops[512], msg[700];
        int items, k, rc = 0;
        double worst = 0;
        expect *e;
        if (sscanf(line, "%127s %d %511s", name, &items, ops) != 3) continue;
        for (k = 0; k < items && rc == 0; k++) rc = run_item(argv[1], name, k, msg, sizeof msg, &worst);
        e = find_expect(name);
        if (e) e->seen = 1;
        if (rc < 0) {
            failed++;
            printf("FAIL: onnx-node %s (%s): %s\n", name, ops, msg);
            continue;
        }
        rc ? refused++ : passed++;
        if (rc) printf("refused: %s (%s): %s\n", name, ops, msg);
        if (!e) {
            if (!rc) printf("PASS: onnx-node %s (%s): not in the expectations; within tolerance\n", name, ops);
            continue;
        }
        if (!e->refused && rc)
            printf("FAIL: onnx-node %s (%s): expected to pass, refused\n", name, ops), unexpected++;
        else if (e->refused && !rc)
            printf("FAIL: onnx-node %s (%s): expected to be refused (%s), passed\n", name, ops, e->what), unexpected++;
        else if (e->refused && !strstr(msg, e->what))
            printf("FAIL: onnx-node %s (%s): the refusal lacks '%s'\n", name, ops, e->what), unexpected++;
        else if (rc)
            printf("PASS: onnx-node %s (%s): refused as expected (%s)\n", name, ops, e->what);
        else
            printf("PASS: onnx-node %s (%s): %d item%s within tolerance (largest relative difference %.1e)\n", name, ops, items,
                   items == 1 ? "" : "s", worst);
    }
    fclose(f);
    for (i = 0; i < nexpect; i++)
        if (!expects[i].seen) printf("note: %s is in the expectations but not among the cases of this onnx\n", expects[i].name);
    printf("onnx node tests: %d passed, %d refused with a reason, %d failed; %d not as expected\n", passed, refused, failed,
           unexpected);
    free(expects);
    return failed || unexpected ? 1 : 0;
}
