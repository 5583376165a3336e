/* torch_ref.c - checks fcn against PyTorch's own answers for the ISBI N4 network.

       torch_ref MODEL REFFILE DATADIR [TOL]

   REFFILE (tests/data/isbi-n4-torch-ref.txt, written by tools/export_fcn.py) has lines
   "IMAGE ROW COL P0 P1": the probabilities that the PyTorch patch classifier (plain
   nn.Sequential, float32) gives at pixel (ROW, COL) of DATADIR/IMAGE with mirror border.
   For each line this maps that one pixel with fcn (options.rect = COL,ROW,1,1, mirror
   border, pixels 0..255 as floats: the model file's "mean"/"scale" do the rest), on the
   dense path and on the sliding path, and prints one verdict:

       PASS: torch-ref IMAGE ROW,COL: max |fcn - torch| = D (tol TOL)
       FAIL: torch-ref IMAGE ROW,COL: ...

   Tolerance (default 2e-5, absolute on probabilities): PyTorch sums each convolution in
   its own order (MKL-DNN, blocked, vectorised), fcn with fmaf in one fixed order, so the
   two differ by float32 rounding only. The dense and the sliding path must also agree bit
   for bit (fcn's contract). Exits 1 if any line fails.

   Built by make (make build/torch_ref) with -march=native: without it or -mfma, fmaf is a
   slow libm call (same results, 7x the time). */
#define FCN_IMPLEMENTATION
#include "fcn.h"
#define STB_IMAGE_IMPLEMENTATION
#include "stb_image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int map_pixel(const fcn_net *net, const float *img, int h, int w, int row, int col, fcn_path path,
                     float *out, char *why, size_t whylen)
{
    fcn_error err;
    fcn_options opt;
    memset(&opt, 0, sizeof opt);
    opt.path = path;
    opt.border = FCN_BORDER_MIRROR;
    opt.threads = 0; /* every CPU; the result does not depend on it */
    opt.rect_x = col;
    opt.rect_y = row;
    opt.rect_w = 1;
    opt.rect_h = 1;
    if (fcn_map(net, img, h, w, &opt, out, &err) != FCN_OK) {
        snprintf(why, whylen, "fcn_map (%s path): %s", path == FCN_PATH_DENSE ? "dense" : "sliding",
                 err.message);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    fcn_error err;
    fcn_net *net = NULL;
    FILE *f;
    char line[1024], name[512], path[2048], why[1024];
    double tol = argc > 4 ? atof(argv[4]) : 2e-5, worst = 0;
    int fails = 0, cases = 0, lineno = 0;

    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL REFFILE DATADIR [TOL]\n", argv[0]);
        return 2;
    }
    if (fcn_net_load(argv[1], &net, &err) != FCN_OK) {
        printf("FAIL: torch-ref-load: %s\n", err.message);
        return 1;
    }
    if (fcn_net_outputs(net) != 2) {
        printf("FAIL: torch-ref-load: %s has %d outputs, expected 2\n", argv[1], fcn_net_outputs(net));
        return 1;
    }
    f = fopen(argv[2], "r");
    if (!f) {
        printf("FAIL: torch-ref-file: cannot open %s\n", argv[2]);
        fcn_net_free(net);
        return 1;
    }
    while (fgets(line, sizeof line, f)) {
        int row, col, h, w, n, i;
        double p[2];
        float dense[2], slide[2], *img;
        unsigned char *px;
        double d = 0;
        lineno++;
        if (line[0] == '#' || line[0] == '\n') continue;
        if (sscanf(line, "%511s %d %d %lf %lf", name, &row, &col, &p[0], &p[1]) != 5) {
            printf("FAIL: torch-ref-file: %s line %d: expected 'IMAGE ROW COL P0 P1'\n", argv[2], lineno);
            fails++;
            continue;
        }
        cases++;
        snprintf(path, sizeof path, "%s/%s", argv[3], name);
        px = stbi_load(path, &w, &h, &n, 1);
        if (!px) {
            printf("FAIL: torch-ref %s %d,%d: cannot read %s: %s\n", name, row, col, path, stbi_failure_reason());
            fails++;
            continue;
        }
        img = (float *)malloc((size_t)w * (size_t)h * sizeof *img);
        if (!img) {
            printf("FAIL: torch-ref %s %d,%d: out of memory\n", name, row, col);
            stbi_image_free(px);
            fails++;
            continue;
        }
        for (i = 0; i < w * h; i++) img[i] = (float)px[i];
        stbi_image_free(px);
        if (!map_pixel(net, img, h, w, row, col, FCN_PATH_DENSE, dense, why, sizeof why) ||
            !map_pixel(net, img, h, w, row, col, FCN_PATH_SLIDING, slide, why, sizeof why)) {
            printf("FAIL: torch-ref %s %d,%d: %s\n", name, row, col, why);
            fails++;
            free(img);
            continue;
        }
        free(img);
        for (i = 0; i < 2; i++) {
            double e = fabs((double)dense[i] - p[i]);
            if (!(e <= d)) d = e; /* a NaN sticks */
        }
        if (!(d <= worst)) worst = d;
        if (memcmp(dense, slide, sizeof dense) != 0) {
            printf("FAIL: torch-ref %s %d,%d: dense path (%.9g %.9g) != sliding path (%.9g %.9g)\n", name, row, col,
                   dense[0], dense[1], slide[0], slide[1]);
            fails++;
        } else if (!(d <= tol)) {
            printf("FAIL: torch-ref %s %d,%d: fcn %.9g %.9g, torch %.9g %.9g: max difference %.3g > tol %.3g\n", name,
                   row, col, dense[0], dense[1], p[0], p[1], d, tol);
            fails++;
        } else {
            printf("PASS: torch-ref %s %d,%d: max |fcn - torch| = %.3g (tol %.3g; fcn %.9g %.9g)\n", name, row, col, d,
                   tol, dense[0], dense[1]);
        }
    }
    fclose(f);
    fcn_net_free(net);
    if (cases == 0) {
        printf("FAIL: torch-ref-file: %s has no references\n", argv[2]);
        return 1;
    }
    fprintf(stderr, "torch-ref: %d references, max |fcn - torch| = %.3g (tol %.3g)\n", cases, worst, tol);
    return fails ? 1 : 0;
}
