/* test_cxx.cpp - the three headers' implementations compiled as C++ in one translation
   unit, as a C++ program that drops them in would (stb's and sokol's compile tests do the
   same): g++ -std=c++11 -Wall -Wextra -ffp-contract=off, run by tests/package/test_compile.sh,
   which fails on any warning. Then what it built must map right:
   - the slide's worked example (models/slide-7x7x3.fcn on tests/data/slide-x.npy, zero
     border, stride 2): the slide's known answer on both paths;
   - a random image through the same model: dense == sliding, bit for bit;
   - an imported ONNX model (fcn_import.h) and its native twin: the same map bits;
   - where there is an OpenCL platform (fcn_opencl.h): the OpenCL map == the dense map.
   Without FCN_TEST_OPENCL (no OpenCL headers) the OpenCL part is left out and says SKIP.
   Run from the repository root; prints PASS/FAIL/SKIP lines (tests/run.sh). */
#define FCN_IMPLEMENTATION
#define FCN_IMPORT_IMPLEMENTATION
#include "fcn_import.h"
#ifdef FCN_TEST_OPENCL
#define FCN_OPENCL_IMPLEMENTATION
#include "fcn_opencl.h"
#endif

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

static int failures = 0;

static void verdict(bool ok, const char *name, const char *why)
{
    if (ok) {
        std::printf("PASS: c++ %s\n", name);
    } else {
        std::printf("FAIL: c++ %s: %s\n", name, why);
        failures++;
    }
}

/* The map of net on img (h x w x c) with opt, or an empty vector (err says why). */
static std::vector<float> map(const fcn_net *net, const std::vector<float> &img, int h, int w,
                              const fcn_options &opt, fcn_error *err)
{
    int oh, ow;
    std::vector<float> out;
    if (fcn_map_size(net, h, w, &opt, &oh, &ow, err) != FCN_OK) return out;
    out.resize((size_t)oh * (size_t)ow * (size_t)fcn_net_outputs(net));
    if (fcn_map(net, img.data(), h, w, &opt, out.data(), err) != FCN_OK) out.clear();
    return out;
}

static bool same_bits(const std::vector<float> &a, const std::vector<float> &b)
{
    return !a.empty() && a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

/* A float32 .npy of n values (version 1.0 header), or an empty vector. */
static std::vector<float> read_npy(const char *path, size_t n)
{
    std::vector<float> v;
    unsigned char head[10];
    FILE *f = std::fopen(path, "rb");
    if (!f) return v;
    if (std::fread(head, 1, 10, f) == 10 && std::memcmp(head, "\x93NUMPY\x01\x00", 8) == 0 &&
        std::fseek(f, 10L + (long)(head[8] | head[9] << 8), SEEK_SET) == 0) {
        v.resize(n);
        if (std::fread(v.data(), sizeof(float), n, f) != n) v.clear();
    }
    std::fclose(f);
    return v;
}

int main()
{
    fcn_error err;
    fcn_net *slide = NULL, *onnx = NULL, *native = NULL;
    fcn_options opt;
    char why[512];
    std::memset(&opt, 0, sizeof opt);

    if (fcn_net_load("models/slide-7x7x3.fcn", &slide, &err) != FCN_OK) {
        verdict(false, "load models/slide-7x7x3.fcn", err.message);
        return 1;
    }
    /* the slide's example: 3x3x2 map, class 0 then class 1 at each pixel */
    {
        static const float want[18] = {4, -1, -5, 2, 0, 3, 1, -6, -4, -2, 0, -1, -4, -5, -5, 0, 1, 0};
        std::vector<float> x = read_npy("tests/data/slide-x.npy", 5 * 5 * 3), d, s;
        fcn_options o = opt;
        o.border = FCN_BORDER_ZERO;
        o.stride = 2;
        d = map(slide, x, 5, 5, o, &err);
        o.path = FCN_PATH_SLIDING;
        s = map(slide, x, 5, 5, o, &err);
        bool known = d.size() == 18;
        for (size_t i = 0; known && i < 18; i++) known = d[i] == want[i]; /* values: 0 may be -0 */
        verdict(x.size() == 75 && known && same_bits(d, s),
                "slide example: the known answer on both paths", x.empty() ? "cannot read tests/data/slide-x.npy" : err.message);
    }
    /* a random image, mirror border, stride 1 */
    std::vector<float> img((size_t)37 * 29 * 3), dense;
    {
        unsigned x = 12345;
        for (size_t i = 0; i < img.size(); i++) {
            x = x * 1103515245u + 12345u;
            img[i] = (float)((x >> 16) & 0xff);
        }
        fcn_options o = opt;
        dense = map(slide, img, 37, 29, o, &err);
        o.path = FCN_PATH_SLIDING;
        verdict(same_bits(dense, map(slide, img, 37, 29, o, &err)), "37x29 image: dense == sliding, bit for bit", err.message);
    }
    /* fcn_import.h: the ONNX model and the same net in fcn's format */
    if (fcn_net_load_onnx("tests/data/import/onnx_dense.onnx", &onnx, &err) != FCN_OK ||
        fcn_net_load("tests/data/import/onnx_dense.fcn", &native, &err) != FCN_OK) {
        verdict(false, "import onnx_dense", err.message);
    } else {
        std::vector<float> g(img.size() / 3);
        for (size_t i = 0; i < g.size(); i++) g[i] = img[3 * i] / 255.0f;
        std::vector<float> a = map(onnx, g, 37, 29, opt, &err), b = map(native, g, 37, 29, opt, &err);
        verdict(same_bits(a, b), "import onnx_dense.onnx: the map of its native twin, bit for bit", err.message);
    }
#ifdef FCN_TEST_OPENCL
    /* fcn_opencl.h */
    {
        fcn_cl *cl = NULL;
        int n = 0;
        if (fcn_cl_devices(NULL, 0, &n, &err) != FCN_OK && std::strstr(err.message, "no OpenCL platform")) {
            const char *ci = std::getenv("CI");
            if (ci && ci[0]) verdict(false, "opencl", "no OpenCL platform (CI is set)");
            else std::printf("SKIP: c++ opencl: no OpenCL platform\n");
        } else if (fcn_cl_create(NULL, &cl, &err) != FCN_OK) {
            verdict(false, "opencl: create", err.message);
        } else {
            std::vector<float> c(dense.size());
            bool ok = fcn_cl_map(cl, slide, img.data(), 37, 29, &opt, c.data(), &err) == FCN_OK;
            std::snprintf(why, sizeof why, "%s", ok ? "the maps differ" : err.message);
            verdict(ok && same_bits(c, dense), "opencl map == dense map, bit for bit", why);
            fcn_cl_free(cl);
        }
    }
#else
    (void)why;
    std::printf("SKIP: c++ opencl: built without the OpenCL headers (FCN_TEST_OPENCL)\n");
#endif
    fcn_net_free(slide);
    fcn_net_free(onnx);
    fcn_net_free(native);
    return failures ? 1 : 0;
}
