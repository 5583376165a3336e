/* slide - the talk's worked convolution example, computed by fcn.h's two paths.

   One convolutional layer: a 5x5x3 input, zero-padded by 1 to 7x7x3, two 3x3x3 filters
   with a bias each, stride 2, a 3x3x2 output. For fcn.h that is a 3x3x3 patch
   classifier (one conv layer, 2 maps, no activation) mapped with the zero border at
   output stride 2. This program prints the input, the filters and the output as the
   slide shows them, computes the output with the dense and the sliding path, and checks
   that they agree bit for bit and with the slide's own output (typed in below from
   the slide: the independent known answer). Exit status 0 if all agree, 1 if not.

   The slide's text gives W0's channel-2 bottom row as "-1 1 1"; that does not reproduce
   the slide's output, "-1 -1 1" does (see shared data slide-7x7x3.md), so that is used.

   usage: slide [--model PATH]        use PATH (e.g. models/slide-7x7x3.fcn) instead of
                                      building the network in code
          slide --write-model PATH    write the network (models/slide-7x7x3.fcn)
          slide --write-input PATH    write the 5x5x3 input as float32 .npy (tests/data/slide-x.npy) */
#define FCN_IMPLEMENTATION
#include "fcn.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* x[channel][row][col], the 5x5 inside of the slide's padded 7x7 input */
static const float slide_x[3][5][5] = {
    {{1, 1, 2, 0, 0}, {1, 1, 2, 0, 0}, {1, 2, 0, 0, 1}, {2, 1, 0, 1, 2}, {0, 0, 2, 0, 0}},
    {{2, 0, 1, 2, 0}, {2, 0, 0, 0, 2}, {1, 1, 1, 2, 2}, {2, 1, 1, 0, 1}, {0, 1, 1, 2, 1}},
    {{0, 2, 1, 2, 2}, {1, 2, 2, 1, 2}, {2, 2, 0, 1, 0}, {1, 1, 0, 1, 2}, {0, 1, 1, 2, 2}}};

/* w[map][channel][row][col]: fcn.h's conv weight order */
static const float slide_w[2][3][3][3] = {
    {{{0, -1, -1}, {0, -1, 1}, {-1, 1, -1}},
     {{0, 0, 1}, {-1, 1, -1}, {0, 1, 0}},
     {{1, 0, -1}, {0, 1, -1}, {-1, -1, 1}}}, /* bottom row corrected: the slide's text has -1 1 1 */
    {{{-1, -1, 0}, {0, 1, -1}, {1, -1, 1}},
     {{0, -1, 0}, {0, 1, -1}, {0, 0, -1}},
     {{-1, 0, 0}, {1, 1, 0}, {1, -1, -1}}}};

static const float slide_b[2] = {1, 0};

/* the slide's output o[map][row][col] */
static const float slide_o[2][3][3] = {{{4, -5, 0}, {1, -4, 0}, {-4, -5, 1}},
                                       {{-1, 2, 3}, {-6, -2, -1}, {-5, 0, 0}}};

static fcn_net *build_net(fcn_error *err)
{
    fcn_layer conv;
    fcn_net *net = NULL;
    float *w, *b;
    size_t nw, nb;
    memset(&conv, 0, sizeof conv);
    conv.type = FCN_LAYER_CONV;
    conv.maps = 2;
    conv.kh = conv.kw = 3;
    conv.stride = 1; /* inside the 3x3 patch; the slide's stride 2 is the output stride */
    if (fcn_net_create(3, 3, 3, &conv, 1, &net, err) != FCN_OK) return NULL;
    w = fcn_net_weights(net, 0, &nw);
    b = fcn_net_bias(net, 0, &nb);
    if (nw != sizeof slide_w / sizeof(float) || nb != 2) {
        fcn_net_free(net);
        snprintf(err->message, sizeof err->message, "unexpected weight count %lu", (unsigned long)nw);
        return NULL;
    }
    memcpy(w, slide_w, sizeof slide_w);
    memcpy(b, slide_b, sizeof slide_b);
    return net;
}

/* The input as a float32 (5, 5, 3) .npy, numpy format 1.0. */
static int write_input(const char *path)
{
    char dict[128];
    unsigned char pre[10];
    size_t len, pad, i;
    int y, x, c, ok;
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 1;
    }
    len = (size_t)snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (5, 5, 3), }");
    pad = (64 - (10 + len + 1) % 64) % 64;
    memcpy(pre, "\x93NUMPY\x01\x00", 8);
    pre[8] = (unsigned char)(len + pad + 1);
    pre[9] = 0;
    ok = fwrite(pre, 1, 10, f) == 10 && fwrite(dict, 1, len, f) == len;
    for (i = 0; i < pad; i++) ok = ok && fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    for (y = 0; y < 5; y++)
        for (x = 0; x < 5; x++)
            for (c = 0; c < 3; c++) {
                uint32_t u;
                unsigned char le[4];
                memcpy(&u, &slide_x[c][y][x], 4);
                le[0] = (unsigned char)(u & 0xFF);
                le[1] = (unsigned char)((u >> 8) & 0xFF);
                le[2] = (unsigned char)((u >> 16) & 0xFF);
                le[3] = (unsigned char)(u >> 24);
                ok = ok && fwrite(le, 1, 4, f) == 4;
            }
    ok = (fclose(f) == 0) && ok;
    if (!ok) {
        fprintf(stderr, "%s: write failed\n", path);
        return 1;
    }
    return 0;
}

static void print_padded_input(void)
{
    int c, y, x;
    printf("Input volume, 5x5x3 zero-padded to 7x7x3 (x[:,:,c]):\n");
    printf("  channel 0          channel 1          channel 2\n");
    for (y = -1; y <= 5; y++) {
        for (c = 0; c < 3; c++) {
            printf("  ");
            for (x = -1; x <= 5; x++)
                printf("%2.0f", (y < 0 || y > 4 || x < 0 || x > 4) ? 0.0 : (double)slide_x[c][y][x]);
            if (c < 2) printf("   ");
        }
        printf("\n");
    }
}

static void print_filters(void)
{
    int o, c, y, x;
    for (o = 0; o < 2; o++) {
        printf("\nFilter W%d (3x3x3), channel 0 / 1 / 2:\n", o);
        for (y = 0; y < 3; y++) {
            for (c = 0; c < 3; c++) {
                printf("  ");
                for (x = 0; x < 3; x++) printf("%3.0f", (double)slide_w[o][c][y][x]);
                if (c < 2) printf("  ");
            }
            printf("%s\n", o == 0 && y == 2 ? "    <- channel 2 corrected (the slide's text: -1  1  1)" : "");
        }
        printf("Bias b%d = %.0f\n", o, (double)slide_b[o]);
    }
}

int main(int argc, char **argv)
{
    fcn_error err;
    fcn_net *net = NULL;
    fcn_options opt;
    float img[5 * 5 * 3], out[2][3 * 3 * 2];
    const char *model = NULL;
    int c, y, x, p, oh, ow, same = 1, slide_ok = 1;

    if (argc == 3 && strcmp(argv[1], "--write-input") == 0) return write_input(argv[2]);
    if (argc == 3 && strcmp(argv[1], "--write-model") == 0) {
        if (!(net = build_net(&err)) || fcn_net_save(net, argv[2], &err) != FCN_OK) {
            fprintf(stderr, "slide: %s\n", err.message);
            fcn_net_free(net);
            return 1;
        }
        fcn_net_free(net);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "--model") == 0) model = argv[2];
    else if (argc != 1) {
        fprintf(stderr, "usage: slide [--model PATH | --write-model PATH | --write-input PATH]\n");
        return 2;
    }
    if (model ? fcn_net_load(model, &net, &err) != FCN_OK : !(net = build_net(&err))) {
        fprintf(stderr, "slide: %s\n", err.message);
        return 1;
    }

    printf("The slide's worked example: one conv layer, 5x5x3 input padded by 1, two 3x3x3\n"
           "filters, stride 2 -> 3x3x2. For fcn.h: a 3x3x3 patch classifier (%s), mapped\n"
           "with border zero and output stride 2.\n\n",
           model ? model : "built in code");
    print_padded_input();
    print_filters();

    for (y = 0; y < 5; y++)
        for (x = 0; x < 5; x++)
            for (c = 0; c < 3; c++) img[(y * 5 + x) * 3 + c] = slide_x[c][y][x];
    for (p = 0; p < 2; p++) {
        memset(&opt, 0, sizeof opt);
        opt.path = p == 0 ? FCN_PATH_DENSE : FCN_PATH_SLIDING;
        opt.border = FCN_BORDER_ZERO;
        opt.stride = 2;
        opt.threads = 1;
        if (fcn_map_size(net, 5, 5, &opt, &oh, &ow, &err) != FCN_OK || oh != 3 || ow != 3 ||
            fcn_net_outputs(net) != 2 || fcn_map(net, img, 5, 5, &opt, out[p], &err) != FCN_OK) {
            fprintf(stderr, "slide: %s path: %s\n", p == 0 ? "dense" : "sliding",
                    err.message[0] ? err.message : "not a 3x3x3 -> 2 network");
            fcn_net_free(net);
            return 1;
        }
    }
    fcn_net_free(net);

    printf("\nOutput volume (3x3x2), map o[:,:,k]: dense path | sliding path | the slide\n");
    for (c = 0; c < 2; c++) {
        printf("map %d:\n", c);
        for (y = 0; y < 3; y++) {
            for (p = 0; p < 3; p++) {
                printf("  ");
                for (x = 0; x < 3; x++)
                    printf("%4.0f", p < 2 ? (double)out[p][(y * 3 + x) * 2 + c] : (double)slide_o[c][y][x]);
                if (p < 2) printf("   ");
            }
            printf("\n");
        }
    }
    same = memcmp(out[0], out[1], sizeof out[0]) == 0;
    for (c = 0; c < 2; c++)
        for (y = 0; y < 3; y++)
            for (x = 0; x < 3; x++)
                if (out[0][(y * 3 + x) * 2 + c] != slide_o[c][y][x]) slide_ok = 0;
    printf("\n%s\n", same ? "the dense and sliding paths agree bit for bit"
                          : "MISMATCH: the dense and sliding paths disagree");
    printf("%s\n", slide_ok ? "and they match the slide's output (with W0's corrected bottom row -1 -1 1)"
                            : "MISMATCH: the output is not the slide's");
    return same && slide_ok ? 0 : 1;
}
