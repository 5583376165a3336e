/* quickstart: map IMAGE with the patch classifier MODEL, write class 0 as a grey PNG.
   usage: quickstart MODEL IMAGE OUT.png */
#define FCN_IMPLEMENTATION
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include "fcn.h"
#include "stb_image.h"
#include "stb_image_write.h"
#include <stdio.h>
#include <stdlib.h>

static void png_bytes(void *out, void *data, int n) /* stb_image_write's output */
{
    fcn_file_write((fcn_file *)out, data, (size_t)n, NULL); /* an error is kept for the commit */
}

int main(int argc, char **argv)
{
    fcn_error err;
    fcn_net *net = NULL;
    fcn_file *out = NULL;
    fcn_options opt = {0}; /* dense path, mirror border, stride 1, every core */
    unsigned char *pix = NULL, *png = NULL;
    float *img = NULL, *map = NULL;
    int h, w, c, oh, ow, ok = 0;
    size_t i, k, n_in, n_out; /* sizes in size_t: no int overflow, no sign mix */

    if (argc != 4) {
        fprintf(stderr, "usage: quickstart MODEL IMAGE OUT.png\n");
        return 2;
    }
    if (fcn_net_load(argv[1], &net, &err) != FCN_OK) goto done; /* err.message says why */
    c = fcn_net_input(net).c; /* stb_image converts the image to the model's channels */
    if (!(pix = stbi_load(argv[2], &w, &h, NULL, c))) {
        snprintf(err.message, sizeof err.message, "%s: %s", argv[2], stbi_failure_reason());
        goto done;
    }
    if (fcn_map_size(net, h, w, &opt, &oh, &ow, &err) != FCN_OK) goto done;
    k = (size_t)fcn_net_outputs(net);
    n_in = (size_t)w * (size_t)h * (size_t)c;  /* image floats */
    n_out = (size_t)oh * (size_t)ow;            /* map pixels */
    img = malloc(sizeof(float) * n_in); /* the caller owns the image and the map */
    map = malloc(sizeof(float) * n_out * k);
    png = malloc(n_out);
    snprintf(err.message, sizeof err.message, "out of memory");
    if (!img || !map || !png) goto done;
    for (i = 0; i < n_in; i++) img[i] = pix[i]; /* 0..255: the model scales */
    if (fcn_map(net, img, h, w, &opt, map, &err) != FCN_OK) goto done;
    for (i = 0; i < n_out; i++) { /* class 0 as a probability: 0..1 -> 0..255 */
        float v = map[i * k];
        png[i] = (unsigned char)(v > 0 ? (v < 1 ? v * 255 + 0.5f : 255) : 0);
    }
    if (fcn_file_create(argv[3], &out, &err) != FCN_OK) goto done; /* a temporary beside OUT.png */
    snprintf(err.message, sizeof err.message, "%s: out of memory", argv[3]);
    if (!stbi_write_png_to_func(png_bytes, out, ow, oh, 1, png, ow)) fcn_file_abort(out);
    else ok = fcn_file_commit(out, &err) == FCN_OK; /* renamed over OUT.png only when whole */
done:
    if (!ok) fprintf(stderr, "quickstart: %s\n", err.message);
    stbi_image_free(pix);
    free(img);
    free(map);
    free(png);
    fcn_net_free(net);
    return !ok;
}
