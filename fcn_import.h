/* fcn_import.h - v0.1.0 - Caffe and ONNX patch classifiers into fcn.h networks - MIT license

   Reads a patch classifier trained elsewhere into an ordinary fcn_net (see fcn.h), with
   no protobuf library: everything fcn.h does (both paths, the same bits) then applies
   to it unchanged.

   Do this in *one* C or C++ file, with fcn.h's implementation in the same file (the
   importers build the network with fcn.h's own checks):

       #define FCN_IMPLEMENTATION
       #define FCN_IMPORT_IMPLEMENTATION
       #include "fcn_import.h"          // includes fcn.h

   Other files include "fcn_import.h" for the declarations. Build flags as for fcn.h.

   QUICK START

       fcn_error err;
       fcn_net *net = NULL;
       const char *paths[2] = {"net.prototxt", "weights.caffemodel"};  // or {"model.onnx"}
       if (fcn_net_load_any(paths, 2, &net, &err) != FCN_OK) { puts(err.message); ... }
       ... fcn_map(net, ...) as in fcn.h ...
       fcn_net_free(net);

   WHAT LOADS

   A chain of layers, each reading the output of the one before (no branches, no skip
   connections), from one input patch (batch 1) to the class scores. In detail:

   Caffe: NET.prototxt (text format; 'layer' or legacy V1 'layers', a type as "ReLU" or
   RELU in either; layers only in the TRAIN phase are skipped) and WEIGHTS.caffemodel
   (binary; a layer's blobs found by its name, float or double, every value finite).
     input         'input' with input_dim or input_shape (4 dims); or one Input
                   (input_param shape), MemoryData (channels, height, width), Data or
                   ImageData layer (size from transform_param crop_size, channels from
                   the first weights); transform_param scale and mean_value (one, or
                   one per channel), not mean_file
     Convolution   num_output, bias_term, kernel_size/stride/pad or their _h/_w forms,
                   the same stride and pad in both directions; group 1, dilation 1,
                   axis 1
     Pooling       MAX or AVE, kernel_size/stride/pad (single values or _h/_w, stride and
                   pad the same both ways), global_pooling, round_mode CEIL (Caffe's
                   default) or FLOOR
     InnerProduct  num_output, bias_term, transpose; axis 1
     BatchNorm     use_global_stats true (its default at test time), eps; the statistics
                   are blobs 0 and 1 divided by blob 2 (0 if that is 0): BATCHNORM below
     Scale         one factor per channel (axis 1, num_axes 1) from its blob, bias_term;
                   one bottom: BATCHNORM below
     ReLU (negative_slope), TanH, Sigmoid, Dropout, Softmax (axis 1), Flatten (axis 1
     to the end), in place (top = bottom) or not.

   ONNX: IR 3 and later, opsets 7 to 21 of the default domain; tensors of float, double,
   int32, int64 or bool stored in the file (not external data); one graph input (float,
   N x C x H x W, N 1 or dynamic, C, H, W fixed) and one output, the end of the chain.
     Conv          2-D, group 1, dilations 1, equal strides, the same pad on every side
                   (pads, or auto_pad VALID / SAME_UPPER / SAME_LOWER when that gives
                   it, plus those of a Pad right before it), optional bias
     MaxPool, AveragePool  the same geometry, ceil_mode; AveragePool with
                   count_include_pad 1 or without padding of its own; MaxPool's indices
                   unused. End pads larger than the begin pads (PyTorch's ceil_mode
                   before opset 10) are ceil rounding when they give its output size
                   (a MaxPool, or an AveragePool with count_include_pad 0)
     GlobalMaxPool, GlobalAveragePool
     Pad           mode constant with value 0 (pads and value attributes before opset
                   11, then inputs; axes from opset 18), only on H and W, none negative,
                   right before a Conv or AveragePool (or another such Pad, whose pads
                   add): its pads become theirs (an AveragePool counts them:
                   count_include_pad); all pads 0: dropped
     BatchNormalization  inference form (training_mode 0, no running statistics among
                   its outputs; spatial 1 before opset 9): BATCHNORM below
     Gemm          on a (1, K) value, transA 0, transB 0 or 1, finite alpha and beta,
                   bias C of 1 or N values
     MatMul        on a (1, K) value
     Add           of a bias right after Conv, Gemm without C or MatMul (Identity,
                   Flatten, Reshape between them allowed): a scalar or one value per
                   output, broadcast along axis 1
     Relu, LeakyRelu (alpha), Tanh, Sigmoid, Identity
     Dropout       ratio as an attribute or input; training_mode (input 2) false
     Softmax       over the classes: axis 1 of a (1, K) or (1, K, 1, 1) value (before
                   opset 13, axis 1 flattens (1, K, 1, 1) to the same K)
     Flatten, Reshape, Squeeze, Unsqueeze  of the network's value: its shape changes,
                   not its memory; the batch stays the first axis, alone: Flatten at
                   axis 1 (or after axes of size 1), a Reshape target of 1 first (0 and
                   -1 as ONNX reads them), Squeeze and Unsqueeze not on axis 0 (axes an
                   attribute before opset 13, then an input)
     the input transform: before the first layer, x - c (or x + c) with c a scalar or
                   one value per channel, then x * s (or x / s) with one scale s, each at
                   most once
     on constants, folded while loading (the shape computations an exporter writes for
                   a dynamic batch, or for a Pad's pads): Constant (value,
                   value_float(s), value_int(s)), Identity, Dropout, Reshape, Shape (also
                   of the network's value; start and end from opset 15), Gather (axis 0
                   of a 1-D int64 constant), Unsqueeze and Squeeze (of a one-element
                   constant), Concat (1-D int64 constants, axis 0), Cast (to float,
                   int32 or int64), ConstantOfShape, Slice, Transpose

   BATCHNORM. A BatchNormalization (or Caffe's BatchNorm, and Scale) is a per-channel
   affine map y = a x + b: a = scale / sqrt(var + epsilon), b = B - mean a. It is folded
   into the weights and bias of the conv or fc layer right before it (only dropout
   between): each output's weights times a, its bias times a plus b; else into the conv
   or fc layer right after it: the weights of input channel k times a[k], the bias plus
   the sum of the weights times b[k] (in the layer's own order), where a conv after it
   must be unpadded (its zero padding would miss b) unless b is 0; else it is refused.
   A BatchNorm and the Scale after it compose first. The fold is computed in float64 and
   each weight and bias rounded to float32 once, so the imported net agrees with
   PyTorch or Caffe within float32 rounding, not bit for bit; it is an ordinary fcn_net,
   so its dense and sliding maps are bit-identical, as for every net.

   Anything else is refused with FCN_ERR_UNSUPPORTED or FCN_ERR_FORMAT and a message
   naming the file, the layer or node and the cause. Everything read from a file is
   untrusted: every length is checked against the bytes that remain before it is used,
   every count against the data actually present before anything is allocated for it.
   The library never prints and never exits.

   CONTENTS (each section opens with its anchor, a comment that starts ">>name": search
   for ">>wire" and so on)

     >>base          limits; the import context (the file name and fcn_error every
                     message goes through: fcn__ifail); byte strings of the file
     >>wire          the protobuf wire format: one field at a time, every length checked
                     against the message it is in
     >>text          the protobuf text format (the .prototxt) parsed into a tree of
                     fields, and its typed scalars
     >>net           the network being imported: layers appended one at a time, each
                     checked against the shape before it, then built into an fcn_net
     >>onnx          ONNX's messages (tensors, attributes, nodes) and the graph's values:
                     constants, or the network's data flowing down the chain
     >>onnx-ops      one handler per ONNX op or family of ops, and the table of them
     >>onnx-graph    a ModelProto step by step: header, initializers, the input, the
                     nodes in dependency order through the table, the output
     >>caffe         the caffemodel's blobs and the prototxt's layer fields
     >>caffe-layers  one handler per Caffe layer type, and the table of them
     >>caffe-net     a NetParameter step by step: the input, each layer through the
                     table, the mean
     >>any           fcn_net_load_any: which loader, by extension or content

   Where to start. To follow a model being read: fcn_net_load_onnx_memory (>>onnx-graph)
   or fcn_net_load_caffe_memory (>>caffe-net). To add an ONNX op: write one handler in
   >>onnx-ops and add its row to fcn__onnx_ops; a Caffe layer type: the same in
   >>caffe-layers (fcn__caffe_layers). Handlers see the whole import: the layers added so
   far (to fold into the last one, as ONNX's bias Add does), the graph or the prototxt
   around their node. To see what a hostile file can make the code do: >>wire and >>text
   read every byte.

   LICENSE: MIT, see the end of this file.
*/
#ifndef FCN_IMPORT_H
#define FCN_IMPORT_H

#include "fcn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The _memory variants read buffers; name prefixes the messages (NULL: a generic name). */
FCNDEF fcn_status fcn_net_load_caffe(const char *prototxt, const char *caffemodel, fcn_net **out,
                                     fcn_error *err);
FCNDEF fcn_status fcn_net_load_caffe_memory(const void *prototxt, size_t prototxt_size,
                                            const void *caffemodel, size_t caffemodel_size,
                                            const char *name, fcn_net **out, fcn_error *err);
FCNDEF fcn_status fcn_net_load_onnx(const char *path, fcn_net **out, fcn_error *err);
FCNDEF fcn_status fcn_net_load_onnx_memory(const void *data, size_t size, const char *name,
                                           fcn_net **out, fcn_error *err);
/* One path: MODEL.onnx (by extension, or an ONNX file by content) or the native format;
   two paths: NET.prototxt and WEIGHTS.caffemodel (either order). */
FCNDEF fcn_status fcn_net_load_any(const char *const *paths, int n, fcn_net **out, fcn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* FCN_IMPORT_H */

/* ======================================================================== */
#ifdef FCN_IMPORT_IMPLEMENTATION
#ifndef FCN_IMPORT__IMPLEMENTED
#define FCN_IMPORT__IMPLEMENTED

#ifndef FCN__IMPLEMENTED
#error "fcn_import.h's implementation needs fcn.h's in the same file: #define FCN_IMPLEMENTATION too, before including fcn_import.h"
#endif

/* >>base
   Limits on what a file may ask for, the context every message goes through, and byte
   strings that point into the file. */

#define FCN__IMP_MAX_NODES 65536   /* ONNX nodes, values, Caffe layers */
#define FCN__IMP_MAX_DIMS 8
#define FCN__IMP_MAX_ELEMS ((size_t)1 << 30) /* elements of one tensor or blob */
#define FCN__IMP_MAX_DEPTH 64      /* nesting of text-format messages */
#define FCN__IMP_MAX_FOLD 65536    /* elements of a constant made while loading from less (ConstantOfShape) */

typedef struct fcn__ictx {
    const char *name; /* file name(s) for messages */
    fcn_error *err;
} fcn__ictx;

/* Every refusal of the importers: the message starts with the file's name. */
static fcn_status fcn__ifail(fcn__ictx *c, fcn_status s, const char *fmt, ...)
{
    char msg[448];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fcn__fail(c->err, s, "%s: %s", c->name, msg);
}

static fcn_status fcn__inomem(fcn__ictx *c) { return fcn__ifail(c, FCN_ERR_NOMEM, "out of memory"); }

/* A byte string inside the file (not NUL-terminated). */
typedef struct fcn__str {
    const unsigned char *p;
    size_t n;
} fcn__str;

static fcn__str fcn__str_of(const unsigned char *p, size_t n)
{
    fcn__str s;
    s.p = p;
    s.n = n;
    return s;
}

static int fcn__str_eq(fcn__str a, const char *b)
{
    size_t n = strlen(b);
    return a.n == n && (n == 0 || memcmp(a.p, b, n) == 0);
}

static int fcn__str_same(fcn__str a, fcn__str b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* A printable copy of s for messages: at most 60 bytes, other than printable ASCII as '?'. */
static const char *fcn__str_show(fcn__str s, char *buf, size_t n)
{
    size_t i, m = s.n < n - 4 ? s.n : n - 4;
    if (m > 60) m = 60;
    for (i = 0; i < m; i++) buf[i] = (s.p[i] >= 32 && s.p[i] < 127) ? (char)s.p[i] : '?';
    if (m < s.n) buf[m++] = '.', buf[m++] = '.', buf[m++] = '.';
    buf[m] = '\0';
    return buf;
}

static int fcn__finite(float x) { return x == x && x != FCN__INF && x != -FCN__INF; }

/* The product of dims (each 0..), or 0 with *ok = 0 if absurd. */
static size_t fcn__dims_count(int nd, const int64_t *dims, int *ok)
{
    size_t n = 1;
    int k;
    *ok = 1;
    for (k = 0; k < nd; k++) {
        if (dims[k] < 0 || (uint64_t)dims[k] > FCN__IMP_MAX_ELEMS || (dims[k] && n > FCN__IMP_MAX_ELEMS / (size_t)dims[k])) {
            *ok = 0;
            return 0;
        }
        n *= (size_t)dims[k];
    }
    return n;
}

/* dims as "2x3x4" ("scalar" for none) for messages. */
static void fcn__dims_text(char *buf, size_t n, int nd, const int64_t *dims)
{
    size_t l = 0;
    int k;
    buf[0] = '\0';
    if (nd == 0) snprintf(buf, n, "scalar");
    for (k = 0; k < nd && l + 24 < n; k++) l += (size_t)snprintf(buf + l, n - l, k ? "x%lld" : "%lld", (long long)dims[k]);
}

/* >>wire
   The protobuf wire format, enough for ONNX's and Caffe's messages: a message is a run of
   fields, each a key (field number, wire type) and a value. A reader walks one message;
   a nested message is walked by a reader of its own bytes. */

typedef struct fcn__pb {
    const unsigned char *p, *end;
} fcn__pb;

typedef struct fcn__pbf {
    uint32_t num;               /* field number */
    int wt;                     /* wire type: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32 */
    uint64_t v;                 /* wire types 0, 1, 5 */
    const unsigned char *data;  /* wire types 1, 2, 5: the bytes */
    size_t len;
} fcn__pbf;

static fcn__pb fcn__pb_of(const unsigned char *p, size_t n)
{
    fcn__pb r;
    r.p = p;
    r.end = n ? p + n : p; /* an absent field is (NULL, 0), and NULL + 0 is undefined in C */
    return r;
}

/* NULL, or why the varint at *pp is malformed. */
static const char *fcn__pb_varint(const unsigned char **pp, const unsigned char *end, uint64_t *v)
{
    const unsigned char *p = *pp;
    uint64_t x = 0;
    int s;
    for (s = 0; s < 64; s += 7) {
        unsigned b;
        if (p >= end) return "truncated varint";
        b = *p++;
        if (s == 63 && b > 1) return "varint overflows 64 bits";
        x |= (uint64_t)(b & 0x7fu) << s;
        if (!(b & 0x80u)) {
            *pp = p;
            *v = x;
            return NULL;
        }
    }
    return "varint overflows 64 bits";
}

static uint64_t fcn__le64(const unsigned char *p)
{
    return (uint64_t)fcn__le32(p) | (uint64_t)fcn__le32(p + 4) << 32;
}

/* Reads the next field into f: 1, 0 at the end of the message, -1 malformed (*why set). */
static int fcn__pb_next(fcn__pb *r, fcn__pbf *f, const char **why)
{
    uint64_t key, len;
    if (r->p >= r->end) return 0;
    if ((*why = fcn__pb_varint(&r->p, r->end, &key)) != NULL) return -1;
    f->wt = (int)(key & 7u);
    key >>= 3;
    if (key == 0 || key > 0x1FFFFFFFu) {
        *why = "field number 0 or out of range (not a protobuf message)";
        return -1;
    }
    f->num = (uint32_t)key;
    f->data = NULL;
    f->len = 0;
    f->v = 0;
    switch (f->wt) {
    case 0:
        if ((*why = fcn__pb_varint(&r->p, r->end, &f->v)) != NULL) return -1;
        return 1;
    case 1:
    case 5:
        f->len = f->wt == 1 ? 8 : 4;
        if ((size_t)(r->end - r->p) < f->len)
            return *why = f->wt == 1 ? "truncated 64-bit field" : "truncated 32-bit field", -1;
        f->data = r->p;
        f->v = f->wt == 1 ? fcn__le64(r->p) : fcn__le32(r->p);
        r->p += f->len;
        return 1;
    case 2:
        if ((*why = fcn__pb_varint(&r->p, r->end, &len)) != NULL) return -1;
        if (len > (uint64_t)(r->end - r->p)) return *why = "length runs past the end of its message", -1;
        f->data = r->p;
        f->len = (size_t)len;
        r->p += len;
        return 1;
    default: *why = "unknown wire type (groups are not supported)"; return -1;
    }
}

/* Walks the whole message: NULL, or why it is malformed. */
static const char *fcn__pb_check(const unsigned char *p, size_t n)
{
    fcn__pb r = fcn__pb_of(p, n);
    fcn__pbf f;
    const char *why = NULL;
    int rc;
    while ((rc = fcn__pb_next(&r, &f, &why)) > 0) {
    }
    return rc < 0 ? why : NULL;
}

static float fcn__pb_f32(uint64_t v)
{
    uint32_t u = (uint32_t)v;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

static double fcn__pb_f64(uint64_t v)
{
    double x;
    memcpy(&x, &v, 8);
    return x;
}

/* Repeated scalar fields, packed (wire type 2) or not. kind: 'f' float (fixed32), 'd'
   double (fixed64), 'i' int64/int32 varint. Counts the elements of field f into *count
   and, if out/iout is given, stores them from index *count on (a first call without
   them counts, so that the caller can size out from what the file holds). NULL or why
   malformed. */
static const char *fcn__pb_rep(const fcn__pbf *f, int kind, size_t *count, float *out, int64_t *iout)
{
    int want = kind == 'f' ? 5 : kind == 'd' ? 1 : 0;
    if (f->wt == want) {
        if (out) out[*count] = kind == 'f' ? fcn__pb_f32(f->v) : (float)fcn__pb_f64(f->v);
        if (iout) iout[*count] = (int64_t)f->v;
        (*count)++;
        return NULL;
    }
    if (f->wt != 2) return "wrong wire type for a repeated number";
    if (kind == 'f' || kind == 'd') {
        size_t sz = kind == 'f' ? 4 : 8, i, n;
        if (f->len % sz) return "packed floats: length not a multiple of the element size";
        n = f->len / sz;
        if (out)
            for (i = 0; i < n; i++)
                out[*count + i] = kind == 'f' ? fcn__pb_f32(fcn__le32(f->data + i * 4))
                                              : (float)fcn__pb_f64(fcn__le64(f->data + i * 8));
        *count += n;
    } else {
        const unsigned char *p = f->data, *end = f->data + f->len;
        while (p < end) {
            uint64_t v;
            const char *why = fcn__pb_varint(&p, end, &v);
            if (why) return why;
            if (iout) iout[*count] = (int64_t)v;
            (*count)++;
        }
    }
    return NULL;
}

/* Checks f's wire type; names the field in the message. */
static fcn_status fcn__pb_want(fcn__ictx *c, const fcn__pbf *f, int wt, const char *where)
{
    if (f->wt == wt) return FCN_OK;
    return fcn__ifail(c, FCN_ERR_FORMAT, "%s: field %u has wire type %d, expected %d", where, (unsigned)f->num,
                      f->wt, wt);
}

static fcn_status fcn__pb_bad(fcn__ictx *c, const char *where, const char *why)
{
    return fcn__ifail(c, FCN_ERR_FORMAT, "%s: %s", where, why);
}

/* Counts the elements of repeated field f (fcn__pb_rep's first pass), into *count. */
static fcn_status fcn__pb_count(fcn__ictx *c, const fcn__pbf *f, int kind, size_t *count, const char *where)
{
    const char *why = fcn__pb_rep(f, kind, count, NULL, NULL);
    return why ? fcn__pb_bad(c, where, why) : FCN_OK;
}

/* Appends the dimensions of a repeated int64 field (a TensorProto's dims, a BlobShape's
   dim) to dims[*nd...], at most FCN__IMP_MAX_DIMS in all. */
static fcn_status fcn__pb_dims(fcn__ictx *c, const fcn__pbf *f, int64_t *dims, int *nd, const char *where)
{
    size_t k = 0;
    fcn_status s = fcn__pb_count(c, f, 'i', &k, where);
    if (s != FCN_OK) return s;
    if (k > (size_t)(FCN__IMP_MAX_DIMS - *nd))
        return fcn__ifail(c, FCN_ERR_UNSUPPORTED, "%s: more than %d dimensions", where, FCN__IMP_MAX_DIMS);
    k = 0;
    fcn__pb_rep(f, 'i', &k, NULL, dims + *nd);
    *nd += (int)k;
    return FCN_OK;
}

/* >>text
   The protobuf text format of a .prototxt, parsed into a tree of fields (no schema: the
   Caffe section asks for fields by name). Node 0 is the root message; a message's fields
   are its children in file order. */

typedef struct fcn__tx {
    fcn__str key, val; /* val: a scalar's text (inside the quotes for a string) */
    int is_msg, is_str, line;
    int child, next;   /* first child, next sibling: indices, -1 none */
} fcn__tx;

typedef struct fcn__txt {
    fcn__tx *n;
    int count, cap;
} fcn__txt;

/* The parser's position and the messages open at it. */
typedef struct fcn__txp {
    fcn__ictx *c;
    fcn__txt *t;
    const unsigned char *p, *end;
    int line, depth;
    int stack[FCN__IMP_MAX_DEPTH]; /* the open messages, the root at 0 */
    int last[FCN__IMP_MAX_DEPTH];  /* the last field of each, -1 none yet */
} fcn__txp;

static int fcn__tx_isident(int ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-' || ch == '+'; }

/* Skips white space and the bytes of also ('#' in it: comments to the end of the line). */
static void fcn__tx_skip(fcn__txp *s, const char *also)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' || *s->p == '\n' ||
                             (*s->p && strchr(also, *s->p)))) {
        if (*s->p == '#')
            while (s->p < s->end && *s->p != '\n') s->p++;
        else {
            if (*s->p == '\n') s->line++;
            s->p++;
        }
    }
}

/* Appends a field named key to the innermost open message: its index, or -1 (*st set). */
static int fcn__tx_add(fcn__txp *s, fcn__str key, fcn_status *st)
{
    fcn__txt *t = s->t;
    fcn__tx *x;
    int node;
    if (t->count == t->cap) {
        fcn__tx *nn;
        if (t->cap >= FCN__IMP_MAX_NODES * 16) {
            *st = fcn__ifail(s->c, FCN_ERR_UNSUPPORTED, "line %d: too many fields", s->line);
            return -1;
        }
        if (!(nn = FCN__CAST(fcn__tx *, fcn__alloc((size_t)t->cap * 2, sizeof(fcn__tx))))) {
            *st = fcn__inomem(s->c);
            return -1;
        }
        memcpy(nn, t->n, (size_t)t->count * sizeof *nn);
        FCN_FREE(t->n);
        t->n = nn;
        t->cap *= 2;
    }
    node = t->count++;
    x = &t->n[node];
    memset(x, 0, sizeof *x);
    x->key = key;
    x->line = s->line;
    x->child = x->next = -1;
    if (s->last[s->depth] >= 0) t->n[s->last[s->depth]].next = node;
    else t->n[s->stack[s->depth]].child = node;
    s->last[s->depth] = node;
    return node;
}

/* One value of field key at s->p: '{' (or '<') opens a message whose fields follow; a
   quoted string or a bare word (a number, an enum name, true) becomes the field's val. */
static fcn_status fcn__tx_value(fcn__txp *s, fcn__str key, int list)
{
    fcn__tx *x;
    fcn_status st = FCN_OK;
    int node = fcn__tx_add(s, key, &st);
    if (node < 0) return st;
    x = &s->t->n[node];
    if (*s->p == '{' || *s->p == '<') {
        s->p++;
        x->is_msg = 1;
        if (s->depth + 1 >= FCN__IMP_MAX_DEPTH) return fcn__ifail(s->c, FCN_ERR_UNSUPPORTED, "line %d: messages nested too deep", s->line);
        s->depth++;
        s->stack[s->depth] = node;
        s->last[s->depth] = -1;
        if (list) return fcn__ifail(s->c, FCN_ERR_UNSUPPORTED, "line %d: lists of messages are not supported", s->line);
    } else if (*s->p == '"' || *s->p == '\'') {
        unsigned char q = *s->p++;
        x->is_str = 1;
        x->val.p = s->p;
        while (s->p < s->end && *s->p != q && *s->p != '\n') s->p += (*s->p == '\\' && s->p + 1 < s->end) ? 2 : 1;
        if (s->p >= s->end || *s->p != q) return fcn__ifail(s->c, FCN_ERR_FORMAT, "line %d: unterminated string", s->line);
        x->val.n = (size_t)(s->p - x->val.p);
        s->p++;
    } else if (fcn__tx_isident(*s->p)) {
        x->val.p = s->p;
        while (s->p < s->end && fcn__tx_isident(*s->p)) s->p++;
        x->val.n = (size_t)(s->p - x->val.p);
    } else
        return fcn__ifail(s->c, FCN_ERR_FORMAT, "line %d: field '%.*s': expected a value", s->line,
                          (int)(key.n > 40 ? 40 : key.n), (const char *)key.p);
    return FCN_OK;
}

/* One field at s->p: its name, an optional ':', then one value or a [list] of them. */
static fcn_status fcn__tx_field(fcn__txp *s)
{
    fcn__str key;
    int list = 0;
    fcn_status st;
    if (!fcn__tx_isident(*s->p))
        return fcn__ifail(s->c, FCN_ERR_FORMAT, "line %d: expected a field name, found '%c'", s->line,
                          *s->p >= 32 && *s->p < 127 ? *s->p : '?');
    key.p = s->p;
    while (s->p < s->end && fcn__tx_isident(*s->p)) s->p++;
    key.n = (size_t)(s->p - key.p);
    fcn__tx_skip(s, "");
    if (s->p < s->end && *s->p == ':') {
        s->p++;
        fcn__tx_skip(s, "");
    }
    if (s->p < s->end && *s->p == '[') {
        list = 1;
        s->p++;
    }
    do {
        fcn__tx_skip(s, ",");
        if (list && s->p < s->end && *s->p == ']') {
            s->p++;
            break;
        }
        if (s->p >= s->end)
            return fcn__ifail(s->c, FCN_ERR_FORMAT, "line %d: unexpected end of the text after '%.*s'", s->line,
                              (int)(key.n > 40 ? 40 : key.n), (const char *)key.p);
        if ((st = fcn__tx_value(s, key, list)) != FCN_OK) return st;
    } while (list);
    return FCN_OK;
}

/* Parses text into t (the caller frees t->n, also after an error). */
static fcn_status fcn__tx_parse(fcn__ictx *c, const unsigned char *p, size_t size, fcn__txt *t)
{
    fcn__txp s;
    fcn_status st;
    memset(t, 0, sizeof *t);
    t->cap = 64;
    t->n = FCN__CAST(fcn__tx *, fcn__alloc((size_t)t->cap, sizeof(fcn__tx)));
    if (!t->n) return fcn__inomem(c);
    memset(&t->n[0], 0, sizeof t->n[0]);
    t->n[0].is_msg = 1;
    t->n[0].child = t->n[0].next = -1;
    t->count = 1;
    s.c = c;
    s.t = t;
    s.p = p;
    s.end = p + size;
    s.line = 1;
    s.depth = 0;
    s.stack[0] = 0;
    s.last[0] = -1;
    for (;;) {
        fcn__tx_skip(&s, "#;,");
        if (s.p >= s.end) break;
        if (*s.p == '}' || *s.p == '>') {
            if (s.depth == 0) return fcn__ifail(c, FCN_ERR_FORMAT, "line %d: unbalanced '%c'", s.line, *s.p);
            s.depth--;
            s.p++;
            continue;
        }
        if ((st = fcn__tx_field(&s)) != FCN_OK) return st;
    }
    if (s.depth != 0)
        return fcn__ifail(c, FCN_ERR_FORMAT, "unexpected end of the text: %d message%s not closed", s.depth,
                          s.depth == 1 ? "" : "s");
    return FCN_OK;
}

/* The k-th child of message node m named key (k from 0), or -1. */
static int fcn__tx_get(const fcn__txt *t, int m, const char *key, int k)
{
    int i;
    if (m < 0) return -1;
    for (i = t->n[m].child; i >= 0; i = t->n[i].next)
        if (fcn__str_eq(t->n[i].key, key) && k-- == 0) return i;
    return -1;
}

static int fcn__tx_count(const fcn__txt *t, int m, const char *key)
{
    int k = 0;
    while (fcn__tx_get(t, m, key, k) >= 0) k++;
    return k;
}

/* Is node i's value the enum name, or its number (Caffe's files use either)? */
static int fcn__tx_enum(const fcn__txt *t, int i, const char *name, const char *number)
{
    return fcn__str_eq(t->n[i].val, name) || fcn__str_eq(t->n[i].val, number);
}

/* Scalars; each returns FCN_OK (value set), or an error naming the line and field. */
static fcn_status fcn__tx_long(fcn__ictx *c, const fcn__txt *t, int i, long long lo, long long hi, long long *v)
{
    const fcn__tx *x = &t->n[i];
    size_t k = 0;
    long long r = 0;
    int neg = 0;
    char b[72];
    if (x->is_msg || x->is_str) goto bad;
    if (k < x->val.n && (x->val.p[k] == '-' || x->val.p[k] == '+')) neg = x->val.p[k++] == '-';
    if (k == x->val.n) goto bad;
    for (; k < x->val.n; k++) {
        if (x->val.p[k] < '0' || x->val.p[k] > '9' || r > 1000000000000LL) goto bad;
        r = r * 10 + (x->val.p[k] - '0');
    }
    if (neg) r = -r;
    if (r < lo || r > hi) {
        return fcn__ifail(c, FCN_ERR_FORMAT, "line %d: %s: %lld out of range %lld..%lld", x->line,
                          fcn__str_show(x->key, b, sizeof b), r, lo, hi);
    }
    *v = r;
    return FCN_OK;
bad:
    return fcn__ifail(c, FCN_ERR_FORMAT, "line %d: %s: expected an integer", x->line, fcn__str_show(x->key, b, sizeof b));
}

/* The k-th field key of message m as an int in lo..hi; dflt if absent. */
static fcn_status fcn__tx_int(fcn__ictx *c, const fcn__txt *t, int m, const char *key, int k, int lo, int hi, int dflt, int *v)
{
    long long x;
    fcn_status s;
    int i = fcn__tx_get(t, m, key, k);
    *v = dflt;
    if (i < 0) return FCN_OK;
    if ((s = fcn__tx_long(c, t, i, lo, hi, &x)) != FCN_OK) return s;
    *v = (int)x;
    return FCN_OK;
}

/* The k-th field key of message m as a finite float; dflt if absent. */
static fcn_status fcn__tx_float(fcn__ictx *c, const fcn__txt *t, int m, const char *key, int k, float dflt, float *v)
{
    int i = fcn__tx_get(t, m, key, k);
    char buf[64], b[72];
    const fcn__tx *x;
    size_t n;
    *v = dflt;
    if (i < 0) return FCN_OK;
    x = &t->n[i];
    n = x->val.n;
    if (x->is_msg || x->is_str || n == 0 || n >= sizeof buf) goto bad;
    memcpy(buf, x->val.p, n);
    buf[n] = '\0';
    if (n > 1 && (buf[n - 1] == 'f' || buf[n - 1] == 'F')) buf[n - 1] = '\0'; /* 1.0f */
    if (buf[0] == '+') memmove(buf, buf + 1, n);
    if (buf[0] == '.' || (buf[0] == '-' && buf[1] == '.')) {
        /* ".5": fcn.h's number parser wants a digit first */
        if (n + 2 >= sizeof buf) goto bad;
        memmove(buf + (buf[0] == '-') + 1, buf + (buf[0] == '-'), strlen(buf) + 1 - (buf[0] == '-'));
        buf[buf[0] == '-' ? 1 : 0] = '0';
    }
    if (!fcn__parse_float(buf, v)) goto bad;
    return FCN_OK;
bad:
    return fcn__ifail(c, FCN_ERR_FORMAT, "line %d: %s: expected a finite number", x->line, fcn__str_show(x->key, b, sizeof b));
}

/* A boolean field: true/false/1/0. */
static fcn_status fcn__tx_bool(fcn__ictx *c, const fcn__txt *t, int m, const char *key, int dflt, int *v)
{
    int i = fcn__tx_get(t, m, key, 0);
    char b[72];
    *v = dflt;
    if (i < 0) return FCN_OK;
    if (fcn__tx_enum(t, i, "true", "1") || fcn__str_eq(t->n[i].val, "True")) *v = 1;
    else if (fcn__tx_enum(t, i, "false", "0") || fcn__str_eq(t->n[i].val, "False")) *v = 0;
    else return fcn__ifail(c, FCN_ERR_FORMAT, "line %d: %s: expected true or false", t->n[i].line, fcn__str_show(t->n[i].key, b, sizeof b));
    return FCN_OK;
}

/* >>net
   The network being imported, one layer at a time: each is checked against the shape
   the layers before it leave (with fcn.h's own rules, so that a refusal names the layer
   of the file), its weights kept until fcn__imp_finish builds the fcn_net. Both loaders
   fill it; fcn.h's layer types and shapes are the common ground. */

/* A per-channel affine map y = a[k] * x + b[k] over the channels of the network's
   value (ONNX BatchNormalization; Caffe's BatchNorm and Scale), pending until it is
   folded into the weights and bias of a conv or fc layer: of the layer it follows (with
   at most dropout between them), else of the next layer, which must then be a conv or
   fc. The folded net computes the same real numbers, not the same float operations
   (the map is still bit-identical between fcn's paths: the folded net is an ordinary
   one). The fold is done in float64 and each weight and bias rounded to float32 once;
   consecutive affines compose in float64 first (Caffe's BatchNorm then Scale). A fold
   into the next conv needs that conv unpadded, or b = 0: its zero padding would miss
   the shift b. */
typedef struct fcn__affine {
    int n;            /* channels; 0: none pending */
    size_t per;       /* values per channel in the value's C,H,W memory order */
    int back;         /* the conv or fc layer with n outputs it follows, or -1 */
    double *a, *b;
    char where[200];  /* the node or layer that made it */
} fcn__affine;

typedef struct fcn__imp {
    fcn__ictx *c;
    int in_h, in_w, in_c;
    float scale, *mean; /* mean: in_c values once known (Caffe: nmean until the end) */
    int have_scale;
    int nmean;          /* mean values given: 0 none, 1 for every channel, or in_c */
    int n, cap;
    fcn_layer *layers;
    float **w, **b;     /* per layer, owned; NULL for layers without */
    size_t *nw;         /* per layer, its weights (conv, fc) */
    fcn_shape cur;      /* the shape after the last layer */
    int flat;           /* the value has been flattened (only fc and pointwise layers may follow) */
    fcn__affine aff;
} fcn__imp;

static void fcn__imp_affine_clear(fcn__affine *f)
{
    FCN_FREE(f->a);
    FCN_FREE(f->b);
    f->a = f->b = NULL;
    f->n = 0;
}

static void fcn__imp_free(fcn__imp *m)
{
    int i;
    for (i = 0; i < m->n; i++) {
        FCN_FREE(m->w[i]);
        FCN_FREE(m->b[i]);
    }
    FCN_FREE(m->layers);
    FCN_FREE(m->w);
    FCN_FREE(m->b);
    FCN_FREE(m->nw);
    FCN_FREE(m->mean);
    fcn__imp_affine_clear(&m->aff);
}

/* A new array of cap elements of size bytes with the first n of old (old is freed by the caller). */
static void *fcn__imp_regrow(const void *old, int n, int cap, size_t size)
{
    void *p = fcn__alloc((size_t)cap, size);
    if (p && n) memcpy(p, old, (size_t)n * size);
    return p;
}

/* The per-layer arrays twice as long (16 at first). */
static int fcn__imp_grow(fcn__imp *m)
{
    int cap = m->cap ? m->cap * 2 : 16;
    fcn_layer *nl = FCN__CAST(fcn_layer *, fcn__imp_regrow(m->layers, m->n, cap, sizeof *nl));
    float **nw = FCN__CAST(float **, fcn__imp_regrow(m->w, m->n, cap, sizeof *nw));
    float **nb = FCN__CAST(float **, fcn__imp_regrow(m->b, m->n, cap, sizeof *nb));
    size_t *nc = FCN__CAST(size_t *, fcn__imp_regrow(m->nw, m->n, cap, sizeof *nc));
    if (!nl || !nw || !nb || !nc) {
        FCN_FREE(nl);
        FCN_FREE(nw);
        FCN_FREE(nb);
        FCN_FREE(nc);
        return 0;
    }
    FCN_FREE(m->layers);
    FCN_FREE(m->w);
    FCN_FREE(m->b);
    FCN_FREE(m->nw);
    m->layers = nl;
    m->w = nw;
    m->b = nb;
    m->nw = nc;
    m->cap = cap;
    return 1;
}

/* The values of the current shape (what an fc layer reads). */
static size_t fcn__imp_count(const fcn__imp *m)
{
    return (size_t)m->cur.c * (size_t)m->cur.h * (size_t)m->cur.w;
}

/* The expected weight count of a conv (maps x cur.c x kh x kw) or fc (maps x cur). */
static size_t fcn__imp_wcount(const fcn__imp *m, const fcn_layer *d)
{
    if (d->type == FCN_LAYER_CONV) return (size_t)d->maps * (size_t)m->cur.c * (size_t)d->kh * (size_t)d->kw;
    return (size_t)d->maps * fcn__imp_count(m);
}

/* Pends y = a[k] * x + b[k] over the n channels of the current value (the value's
   C,H,W order in n equal runs), composed with one already pending. */
static fcn_status fcn__imp_affine(fcn__imp *m, int n, const double *a, const double *b, const char *where)
{
    fcn__affine *f = &m->aff;
    size_t count = fcn__imp_count(m);
    int k, i;
    if (n < 1 || count % (size_t)n)
        return fcn__ifail(m->c, FCN_ERR_FORMAT, "%s: %d channels do not divide the %lu values of its input", where, n,
                          (unsigned long)count);
    if (f->n) {
        if (f->n != n || f->per != count / (size_t)n)
            return fcn__ifail(m->c, FCN_ERR_UNSUPPORTED, "%s: follows %s over other channels, with nothing to fold either into",
                              where, f->where);
        for (k = 0; k < n; k++) {
            f->b[k] = a[k] * f->b[k] + b[k];
            f->a[k] *= a[k];
        }
        return FCN_OK;
    }
    f->a = FCN__CAST(double *, fcn__alloc((size_t)n, sizeof(double)));
    f->b = FCN__CAST(double *, fcn__alloc((size_t)n, sizeof(double)));
    if (!f->a || !f->b) {
        fcn__imp_affine_clear(f);
        return fcn__inomem(m->c);
    }
    memcpy(f->a, a, (size_t)n * sizeof(double));
    memcpy(f->b, b, (size_t)n * sizeof(double));
    f->n = n;
    f->per = count / (size_t)n;
    for (i = m->n - 1; i >= 0 && m->layers[i].type == FCN_LAYER_DROPOUT; i--) {
    }
    f->back = i >= 0 && fcn__is_weighted(m->layers[i].type) && m->layers[i].maps == n ? i : -1;
    snprintf(f->where, sizeof f->where, "%s", where);
    return FCN_OK;
}

/* Layer `back`, conv or fc, gets the pending affine after it: each output o scaled by
   a[o] and shifted by b[o]. */
static fcn_status fcn__imp_fold_back(fcn__imp *m)
{
    const fcn__affine *f = &m->aff;
    int L = f->back, o, maps = m->layers[L].maps;
    size_t per = m->nw[L] / (size_t)maps, j;
    float *w = m->w[L];
    if (!m->b[L]) {
        if (!(m->b[L] = FCN__CAST(float *, fcn__alloc((size_t)maps, sizeof(float))))) return fcn__inomem(m->c);
        memset(m->b[L], 0, (size_t)maps * sizeof(float));
    }
    for (o = 0; o < maps; o++) {
        if (w)
            for (j = 0; j < per; j++) w[(size_t)o * per + j] = (float)((double)w[(size_t)o * per + j] * f->a[o]);
        m->b[L][o] = (float)((double)m->b[L][o] * f->a[o] + f->b[o]);
    }
    return FCN_OK;
}

/* Conv or fc layer d (weights w, bias *b, both of the current input) gets the pending
   affine before it: the weights of input channel k scaled by a[k], the bias plus the
   sum of the weights times b[k], in the layer's own order (channel, row, column). */
static fcn_status fcn__imp_fold_next(fcn__imp *m, const fcn_layer *d, float *w, float **b)
{
    const fcn__affine *f = &m->aff;
    size_t row = fcn__imp_wcount(m, d) / (size_t)d->maps, run = d->type == FCN_LAYER_CONV ? (size_t)d->kh * (size_t)d->kw : f->per, j;
    int o;
    if (!*b) {
        if (!(*b = FCN__CAST(float *, fcn__alloc((size_t)d->maps, sizeof(float))))) return fcn__inomem(m->c);
        memset(*b, 0, (size_t)d->maps * sizeof(float));
    }
    for (o = 0; o < d->maps; o++) {
        double s = (*b)[o];
        for (j = 0; w && j < row; j++) {
            double x = w[(size_t)o * row + j];
            s += x * f->b[j / run];
            w[(size_t)o * row + j] = (float)(x * f->a[j / run]);
        }
        (*b)[o] = (float)s;
    }
    return FCN_OK;
}

/* Folds the pending affine before layer d is added (d NULL: the network ends): into the
   layer before it if it has one, else into d; else refuses, naming both. */
static fcn_status fcn__imp_fold(fcn__imp *m, const fcn_layer *d, float *w, float **b, const char *where)
{
    fcn__affine *f = &m->aff;
    fcn_status st;
    int k, shift = 0;
    for (k = 0; k < f->n; k++) shift |= f->b[k] != 0.0;
    if (f->back >= 0) st = fcn__imp_fold_back(m);
    else if (d && d->type == FCN_LAYER_FC) st = fcn__imp_fold_next(m, d, w, b);
    else if (d && d->type == FCN_LAYER_CONV && f->n == m->cur.c && (d->pad == 0 || !shift)) st = fcn__imp_fold_next(m, d, w, b);
    else if (d && d->type == FCN_LAYER_CONV && f->n == m->cur.c)
        st = fcn__ifail(m->c, FCN_ERR_UNSUPPORTED, "%s: cannot fold into %s: its padding would miss the shift (fold it into "
                        "the conv or fc layer before it, or pad a conv after it with a Pad of its own)", f->where, where);
    else
        st = fcn__ifail(m->c, FCN_ERR_UNSUPPORTED, "%s: nothing to fold it into: it folds into the conv or fc layer right "
                        "before it or right after it; %s", f->where, d ? where : "it ends the network");
    fcn__imp_affine_clear(f);
    return st;
}

/* Appends layer d (checked against the current shape; where names it in messages) with
   weights w and biases b (either may be NULL: zeros), which it owns from now on, also
   when it refuses the layer. */
static fcn_status fcn__imp_add(fcn__imp *m, const fcn_layer *d, float *w, float *b, const char *where)
{
    fcn__layer L;
    fcn_status st = FCN_OK;
    char msg[300];
    if (m->n >= FCN__MAX_LAYERS)
        st = fcn__ifail(m->c, FCN_ERR_FORMAT, "%s: more than %d layers", where, FCN__MAX_LAYERS);
    else if (m->flat && d->type != FCN_LAYER_FC && !(d->type >= FCN_LAYER_RELU && d->type <= FCN_LAYER_SOFTMAX) &&
             (m->cur.h != 1 || m->cur.w != 1))
        st = fcn__ifail(m->c, FCN_ERR_UNSUPPORTED, "%s: a %s after the value was flattened", where,
                        fcn_layer_name(d->type));
    else if (m->n == m->cap && !fcn__imp_grow(m))
        st = fcn__inomem(m->c);
    if (st == FCN_OK) {
        memset(&L, 0, sizeof L);
        L.d = *d;
        snprintf(msg, sizeof msg, "%s: %s", m->c->name, where);
        st = fcn__layer_shape(&L, m->cur, msg, m->c->err);
    }
    /* a pending affine folds here unless d is a dropout (the identity: it may still fold
       into the layer after it) */
    if (st == FCN_OK && m->aff.n && d->type != FCN_LAYER_DROPOUT) st = fcn__imp_fold(m, &L.d, w, &b, where);
    if (st != FCN_OK) {
        FCN_FREE(w);
        FCN_FREE(b);
        return st;
    }
    m->layers[m->n] = L.d;
    m->w[m->n] = w;
    m->b[m->n] = b;
    m->nw[m->n] = fcn__is_weighted(d->type) ? fcn__imp_wcount(m, &L.d) : 0;
    m->n++;
    m->cur = L.out;
    if (d->type == FCN_LAYER_FC) m->flat = 0;
    return FCN_OK;
}

/* The input shape is the current shape before the first layer. */
static void fcn__imp_input(fcn__imp *m, int c, int h, int w)
{
    m->in_c = m->cur.c = c;
    m->in_h = m->cur.h = h;
    m->in_w = m->cur.w = w;
}

/* Builds the fcn_net. */
static fcn_status fcn__imp_finish(fcn__imp *m, fcn_net **out)
{
    fcn_net *net;
    fcn_status st;
    int i;
    if (m->n == 0) return fcn__ifail(m->c, FCN_ERR_FORMAT, "the network has no layers");
    if (m->aff.n && (st = fcn__imp_fold(m, NULL, NULL, NULL, "")) != FCN_OK) return st;
    st = fcn__build(m->in_h, m->in_w, m->in_c, m->layers, m->n, m->c->name, NULL, NULL, &net, m->c->err);
    if (st != FCN_OK) return st;
    for (i = 0; i < m->n; i++) { /* NULL (zeros) where the file gave none */
        size_t nw, nb;
        float *w = fcn_net_weights(net, i, &nw), *b = fcn_net_bias(net, i, &nb);
        if (w && m->w[i]) memcpy(w, m->w[i], nw * sizeof(float));
        if (b && m->b[i]) memcpy(b, m->b[i], nb * sizeof(float));
    }
    st = fcn_net_set_transform(net, m->scale, m->mean, m->c->err);
    if (st != FCN_OK) {
        fcn_net_free(net);
        return fcn__ifail(m->c, FCN_ERR_FORMAT, "the input transform: scale %g is not finite", (double)m->scale);
    }
    *out = net;
    return FCN_OK;
}

/* >>onnx
   ONNX's messages (TensorProto, AttributeProto, NodeProto) and the graph's values. Every
   value a node reads or writes has an fcn__val: a constant (an initializer, a Constant
   node, or folded from constants), or the network's data, of which there is one at a
   time (the head): each layer node reads the head and makes its output the new head. */

#define FCN__ONNX_MIN_OPSET 7
#define FCN__ONNX_MAX_OPSET 21

/* A tensor: an initializer, a Constant's value or a folded shape computation. */
typedef struct fcn__tensor {
    int nd;
    int64_t dims[FCN__IMP_MAX_DIMS];
    size_t count;
    int is_int;  /* data in i (int64), else f (float) */
    float *f;
    int64_t *i;
} fcn__tensor;

static void fcn__tensor_free(fcn__tensor *t)
{
    if (!t) return;
    FCN_FREE(t->f);
    FCN_FREE(t->i);
    FCN_FREE(t);
}

static fcn__tensor *fcn__tensor_new(int nd, const int64_t *dims, size_t count, int is_int)
{
    fcn__tensor *t = FCN__CAST(fcn__tensor *, FCN_MALLOC(sizeof *t));
    if (!t) return NULL;
    memset(t, 0, sizeof *t);
    t->nd = nd;
    if (nd) memcpy(t->dims, dims, (size_t)nd * sizeof *dims);
    t->count = count;
    t->is_int = is_int;
    if (is_int) t->i = FCN__CAST(int64_t *, fcn__alloc(count ? count : 1, sizeof(int64_t)));
    else t->f = FCN__CAST(float *, fcn__alloc(count ? count : 1, sizeof(float)));
    if (!t->i && !t->f) {
        FCN_FREE(t);
        return NULL;
    }
    return t;
}

/* A TensorProto's fields before its data is read. */
typedef struct fcn__tensor_fields {
    int nd, dtype;
    int64_t dims[FCN__IMP_MAX_DIMS];
    const unsigned char *raw; /* raw_data if present (then even when empty) */
    size_t rawn;
    int typed;                /* a typed data field (float_data, int32_data, ...) is present */
} fcn__tensor_fields;

/* The data types read (float 1, int32 6, int64 7, bool 9, double 11): the typed field
   that holds their values, and how fcn__pb_rep reads it. */
static int fcn__tensor_field(int dtype) { return dtype == 1 ? 4 : dtype == 6 || dtype == 9 ? 5 : dtype == 7 ? 7 : 10; }
static int fcn__tensor_kind(int dtype) { return dtype == 1 ? 'f' : dtype == 11 ? 'd' : 'i'; }

static fcn_status fcn__onnx_tensor_fields(fcn__ictx *c, const unsigned char *p, size_t n, const char *where,
                                          fcn__tensor_fields *h, fcn__str *name)
{
    fcn__pb r = fcn__pb_of(p, n);
    fcn__pbf f;
    const char *why = NULL;
    fcn_status s;
    int rc;
    memset(h, 0, sizeof *h);
    while ((rc = fcn__pb_next(&r, &f, &why)) > 0) {
        switch (f.num) {
        case 1:
            if ((s = fcn__pb_dims(c, &f, h->dims, &h->nd, where)) != FCN_OK) return s;
            break;
        case 2:
            if ((s = fcn__pb_want(c, &f, 0, where)) != FCN_OK) return s;
            h->dtype = (int)f.v;
            break;
        case 3: return fcn__ifail(c, FCN_ERR_UNSUPPORTED, "%s: segmented tensors are not supported", where);
        case 8:
            if ((s = fcn__pb_want(c, &f, 2, where)) != FCN_OK) return s;
            if (name) *name = fcn__str_of(f.data, f.len);
            break;
        case 9:
            if ((s = fcn__pb_want(c, &f, 2, where)) != FCN_OK) return s;
            h->raw = f.data;
            h->rawn = f.len;
            break;
        case 13:
        case 14: /* external_data; data_location 1 = EXTERNAL */
            if (f.num == 13 || f.v == 1)
                return fcn__ifail(c, FCN_ERR_UNSUPPORTED,
                                  "%s: external data (weights in a separate file) is not supported", where);
            break;
        case 4: case 5: case 7: case 10: case 11: h->typed = 1; break;
        default: break;
        }
    }
    if (rc < 0) return fcn__pb_bad(c, where, why);
    return FCN_OK;
}

/* Checks that the data present is what the dimensions announce, before it is allocated. */
static fcn_status fcn__onnx_tensor_check(fcn__ictx *c, const unsigned char *p, size_t n, const fcn__tensor_fields *h,
                                         size_t count, const char *where)
{
    fcn__pb r;
    fcn__pbf f;
    const char *why = NULL;
    size_t have = 0;
    int field = fcn__tensor_field(h->dtype), kind = fcn__tensor_kind(h->dtype);
    fcn_status s;
    if (h->raw || !h->typed) {
        size_t esz = (h->dtype == 7 || h->dtype == 11) ? 8 : h->dtype == 9 ? 1 : 4;
        if (h->rawn != count * esz)
            return fcn__ifail(c, FCN_ERR_FORMAT, "%s: %lu elements need %lu raw bytes, the tensor has %lu", where,
                              (unsigned long)count, (unsigned long)(count * esz), (unsigned long)h->rawn);
        return FCN_OK;
    }
    r = fcn__pb_of(p, n);
    while (fcn__pb_next(&r, &f, &why) > 0)
        if ((int)f.num == field && (s = fcn__pb_count(c, &f, kind, &have, where)) != FCN_OK) return s;
    if (have != count)
        return fcn__ifail(c, FCN_ERR_FORMAT, "%s: its dimensions give %lu elements, its data has %lu", where,
                          (unsigned long)count, (unsigned long)have);
    return FCN_OK;
}

/* Reads the (checked) data into t: raw little-endian bytes, or the typed field. */
static void fcn__onnx_tensor_read(const unsigned char *p, size_t n, const fcn__tensor_fields *h, fcn__tensor *t)
{
    size_t k;
    if (h->raw) {
        const unsigned char *raw = h->raw;
        for (k = 0; k < t->count; k++) {
            if (h->dtype == 1) t->f[k] = fcn__pb_f32(fcn__le32(raw + 4 * k));
            else if (h->dtype == 11) t->f[k] = (float)fcn__pb_f64(fcn__le64(raw + 8 * k));
            else if (h->dtype == 6) t->i[k] = (int32_t)fcn__le32(raw + 4 * k);
            else if (h->dtype == 9) t->i[k] = raw[k] != 0;
            else t->i[k] = (int64_t)fcn__le64(raw + 8 * k);
        }
    } else if (t->count) {
        fcn__pb r = fcn__pb_of(p, n);
        fcn__pbf f;
        const char *why;
        int field = fcn__tensor_field(h->dtype), kind = fcn__tensor_kind(h->dtype);
        k = 0;
        while (fcn__pb_next(&r, &f, &why) > 0)
            if ((int)f.num == field) fcn__pb_rep(&f, kind, &k, t->f, t->i);
        if (h->dtype == 6) /* int32_data holds int32 values as 64-bit varints */
            for (k = 0; k < t->count; k++) t->i[k] = (int32_t)t->i[k];
    }
}

/* Parses a TensorProto (where names it); *name its name if name is not NULL. */
static fcn_status fcn__onnx_tensor(fcn__ictx *c, const unsigned char *p, size_t n, const char *where,
                                   fcn__tensor **out, fcn__str *name)
{
    fcn__tensor_fields h;
    fcn_status s;
    size_t count;
    int ok, dtype;
    *out = NULL;
    if (name) *name = fcn__str_of(NULL, 0);
    if ((s = fcn__onnx_tensor_fields(c, p, n, where, &h, name)) != FCN_OK) return s;
    count = fcn__dims_count(h.nd, h.dims, &ok);
    if (!ok) return fcn__ifail(c, FCN_ERR_FORMAT, "%s: absurd dimensions", where);
    dtype = h.dtype;
    if (dtype != 1 && dtype != 6 && dtype != 7 && dtype != 9 && dtype != 11)
        return fcn__ifail(c, FCN_ERR_UNSUPPORTED,
                          "%s: data type %d is not supported (float, double, int32, int64 and bool are)", where, dtype);
    if ((s = fcn__onnx_tensor_check(c, p, n, &h, count, where)) != FCN_OK) return s;
    *out = fcn__tensor_new(h.nd, h.dims, count, dtype != 1 && dtype != 11);
    if (!*out) return fcn__ifail(c, FCN_ERR_NOMEM, "%s: out of memory", where);
    fcn__onnx_tensor_read(p, n, &h, *out);
    return FCN_OK;
}

/* A node's attribute (an AttributeProto), as far as the ops read them. */
typedef struct fcn__attr {
    int found;
    float f;
    int64_t i;
    fcn__str s;
    const unsigned char *t; /* a tensor's message */
    size_t tn;
    size_t nints, nfloats;
    const unsigned char *p; /* the attribute's message */
    size_t n;
} fcn__attr;

typedef struct fcn__node {
    fcn__str name, op, domain;
    int nin, nout;
    fcn__str in[16], out[8];
    int vin[16], vout[8]; /* value indices; -1 for an omitted optional one */
    const unsigned char *p;
    size_t n;
} fcn__node;

/* Reads the value fields of attribute message p (named key) into a. */
static fcn_status fcn__onnx_attr_value(fcn__ictx *c, const unsigned char *p, size_t n, const char *key, fcn__attr *a,
                                       const char *where)
{
    static const int wire[6] = {-1, -1, 5, 0, 2, 2}; /* of f (2), i (3), s (4), t (5) */
    fcn__pb q = fcn__pb_of(p, n);
    fcn__pbf g;
    const char *why = NULL;
    fcn_status s = FCN_OK;
    a->found = 1;
    a->p = p;
    a->n = n;
    while (fcn__pb_next(&q, &g, &why) > 0) {
        if (g.num >= 2 && g.num <= 5 && g.wt != wire[g.num])
            return fcn__ifail(c, FCN_ERR_FORMAT, "%s: attribute %s: wrong wire type", where, key);
        switch (g.num) {
        case 2: a->f = fcn__pb_f32(g.v); break;
        case 3: a->i = (int64_t)g.v; break;
        case 4: a->s = fcn__str_of(g.data, g.len); break;
        case 5:
            a->t = g.data;
            a->tn = g.len;
            break;
        case 7: s = fcn__pb_count(c, &g, 'f', &a->nfloats, where); break;
        case 8: s = fcn__pb_count(c, &g, 'i', &a->nints, where); break;
        default: break;
        }
        if (s != FCN_OK) return s;
    }
    return FCN_OK;
}

/* Finds attribute key of node; *a filled (a->found = 0 if absent: the caller's default). */
static fcn_status fcn__onnx_attr(fcn__ictx *c, const fcn__node *node, const char *key, fcn__attr *a, const char *where)
{
    fcn__pb r = fcn__pb_of(node->p, node->n), q;
    fcn__pbf f, g;
    const char *why = NULL;
    int rc;
    memset(a, 0, sizeof *a);
    while ((rc = fcn__pb_next(&r, &f, &why)) > 0) {
        fcn__str nm = fcn__str_of(NULL, 0);
        if (f.num != 5 || f.wt != 2) continue;
        q = fcn__pb_of(f.data, f.len);
        while ((rc = fcn__pb_next(&q, &g, &why)) > 0)
            if (g.num == 1 && g.wt == 2) nm = fcn__str_of(g.data, g.len);
        if (rc < 0) return fcn__pb_bad(c, where, why);
        if (fcn__str_eq(nm, key)) return fcn__onnx_attr_value(c, f.data, f.len, key, a, where);
    }
    if (rc < 0) return fcn__pb_bad(c, where, why);
    return FCN_OK;
}

/* The ints of attribute key of node into v (more than max is an error); *n their
   number, -1 if the node has no such attribute (v keeps the caller's defaults). */
static fcn_status fcn__onnx_ints(fcn__ictx *c, const fcn__node *node, const char *key, int64_t *v, size_t max, int *n,
                                 const char *where)
{
    fcn__attr a;
    fcn__pb q;
    fcn__pbf g;
    const char *why;
    size_t k = 0;
    fcn_status s = fcn__onnx_attr(c, node, key, &a, where);
    *n = -1;
    if (s != FCN_OK || !a.found) return s;
    if (a.nints > max) return fcn__ifail(c, FCN_ERR_UNSUPPORTED, "%s: attribute %s has %lu values, expected at most %lu",
                                         where, key, (unsigned long)a.nints, (unsigned long)max);
    q = fcn__pb_of(a.p, a.n);
    while (fcn__pb_next(&q, &g, &why) > 0)
        if (g.num == 8) fcn__pb_rep(&g, 'i', &k, NULL, v);
    *n = (int)k;
    return FCN_OK;
}

enum { FCN__VAL_NONE = 0, FCN__VAL_CONST = 1, FCN__VAL_DATA = 2 };

typedef struct fcn__val {
    fcn__str name;
    int producer;     /* node index, -1 an initializer or graph input */
    int kind;         /* FCN__VAL_NONE (no node computed it: an unused output), _CONST, _DATA */
    fcn__tensor *t;   /* constant (owned unless alias) */
    int alias;
    int nd;           /* data: its ONNX shape (batch 1) */
    int64_t dims[FCN__IMP_MAX_DIMS];
    int layer;        /* data: the number of fcn layers before it */
} fcn__val;

/* The state of an ONNX import: the network so far, the nodes, the values by name. */
typedef struct fcn__onnx {
    fcn__ictx *c;
    fcn__imp m;
    int opset;
    fcn__node *nodes;
    int nn;
    fcn__val *vals;
    int nv, vcap;
    int *hash;         /* open addressing over vals by name, -1 empty */
    size_t hcap;
    int head;          /* the value that holds the network's data now */
    int bias_open;     /* the head is the output of a conv/fc whose bias may still be set by an Add */
    int pad_open;      /* the head is a Pad's output: zeros around the last layer's value ... */
    int64_t pad[4];    /* ... this many: top, left, bottom, right (for the next Conv or AveragePool) */
    char pad_where[200];
} fcn__onnx;

static void fcn__onnx_free(fcn__onnx *o)
{
    int i;
    for (i = 0; i < o->nv; i++)
        if (!o->vals[i].alias) fcn__tensor_free(o->vals[i].t);
    FCN_FREE(o->vals);
    FCN_FREE(o->hash);
    FCN_FREE(o->nodes);
    fcn__imp_free(&o->m);
}

static size_t fcn__hash_str(fcn__str s)
{
    size_t h = 2166136261u, i;
    for (i = 0; i < s.n; i++) h = (h ^ s.p[i]) * 16777619u;
    return h;
}

static int fcn__onnx_find(const fcn__onnx *o, fcn__str name)
{
    size_t h = fcn__hash_str(name) & (o->hcap - 1);
    while (o->hash[h] >= 0) {
        if (fcn__str_same(o->vals[o->hash[h]].name, name)) return o->hash[h];
        h = (h + 1) & (o->hcap - 1);
    }
    return -1;
}

/* Adds a value named name; -1 if it exists already (SSA: a value has one producer). */
static int fcn__onnx_addval(fcn__onnx *o, fcn__str name, int producer)
{
    size_t h;
    if (fcn__onnx_find(o, name) >= 0) return -1;
    if (o->nv >= o->vcap) return -2;
    h = fcn__hash_str(name) & (o->hcap - 1);
    while (o->hash[h] >= 0) h = (h + 1) & (o->hcap - 1);
    o->hash[h] = o->nv;
    memset(&o->vals[o->nv], 0, sizeof o->vals[0]);
    o->vals[o->nv].name = name;
    o->vals[o->nv].producer = producer;
    return o->nv++;
}

/* "node 'name' (Op)", or "node N (Op)" for an unnamed one: how messages name a node. */
static void fcn__node_where(const fcn__node *node, int idx, char *buf, size_t n)
{
    char a[72], b[72];
    if (node->name.n) snprintf(buf, n, "node '%s' (%s)", fcn__str_show(node->name, a, sizeof a), fcn__str_show(node->op, b, sizeof b));
    else snprintf(buf, n, "node %d (%s)", idx + 1, fcn__str_show(node->op, b, sizeof b));
}

/* Input 0 of node (every op but Constant reads one); NULL with *st set if absent. */
static fcn__val *fcn__onnx_in0(fcn__onnx *o, const fcn__node *node, const char *where, fcn_status *st)
{
    if (node->nin < 1 || node->vin[0] < 0) {
        *st = fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: missing input", where);
        return NULL;
    }
    return &o->vals[node->vin[0]];
}

/* Input k of node as a constant; NULL with *st set if it is absent or not a constant
   (what names its role in the message). */
static fcn__tensor *fcn__onnx_const_in(fcn__onnx *o, const fcn__node *node, int k, const char *where, const char *what,
                                       fcn_status *st)
{
    fcn__val *v;
    char b[72];
    if (k >= node->nin || node->vin[k] < 0) {
        *st = fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: missing input %d (%s)", where, k + 1, what);
        return NULL;
    }
    v = &o->vals[node->vin[k]];
    if (v->kind != FCN__VAL_CONST) {
        *st = fcn__ifail(o->c, FCN_ERR_UNSUPPORTED,
                         "%s: its %s '%s' must be a constant (an initializer or a Constant node)", where, what,
                         fcn__str_show(v->name, b, sizeof b));
        return NULL;
    }
    return v->t;
}

/* Input k of node must be the network's data, and the head: layers form a chain. Only
   Conv and AveragePool read a Pad's output (fcn__onnx_padded_in). */
static fcn_status fcn__onnx_data_in(fcn__onnx *o, const fcn__node *node, int k, const char *where)
{
    char b[72], h[72];
    fcn__val *v;
    if (k >= node->nin || node->vin[k] < 0) return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: missing its data input", where);
    v = &o->vals[node->vin[k]];
    if (v->kind != FCN__VAL_DATA)
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: input '%s' is not computed from the network's input", where,
                          fcn__str_show(v->name, b, sizeof b));
    if (node->vin[k] != o->head)
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED,
                          "%s: reads '%s' but the network's value is now '%s': only a chain of layers is supported "
                          "(no branches or skip connections)",
                          where, fcn__str_show(v->name, b, sizeof b), fcn__str_show(o->vals[o->head].name, h, sizeof h));
    if (o->pad_open)
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: reads the output of %s; a Pad of zeros is supported only right "
                          "before a Conv or AveragePool (it becomes their padding)", where, o->pad_where);
    return FCN_OK;
}

/* Input 0 of a Conv or AveragePool: the head, perhaps a Pad's output, whose pads (top,
   left, bottom, right; zeros if none) go to pre and become the layer's own. */
static fcn_status fcn__onnx_padded_in(fcn__onnx *o, const fcn__node *node, const char *where, int64_t *pre)
{
    int open = o->pad_open;
    fcn_status s;
    memcpy(pre, o->pad, sizeof o->pad);
    if (!open) memset(pre, 0, sizeof o->pad);
    o->pad_open = 0;
    s = fcn__onnx_data_in(o, node, 0, where);
    o->pad_open = open;
    return s;
}

/* Output 0 of node becomes the network's data (the new head) with ONNX shape dims. */
static fcn_status fcn__onnx_data_out(fcn__onnx *o, const fcn__node *node, int ndims, const int64_t *dims, const char *where)
{
    fcn__val *v;
    if (node->nout < 1 || node->vout[0] < 0) return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: no output", where);
    v = &o->vals[node->vout[0]];
    v->kind = FCN__VAL_DATA;
    v->nd = ndims;
    memcpy(v->dims, dims, (size_t)ndims * sizeof *dims);
    v->layer = o->m.n;
    o->head = node->vout[0];
    o->bias_open = 0;
    o->pad_open = 0;
    return FCN_OK;
}

/* The same, for the output of a spatial layer: (1, C, H, W) of the current shape. */
static fcn_status fcn__onnx_spatial_out(fcn__onnx *o, const fcn__node *node, const char *where)
{
    int64_t dims[4];
    dims[0] = 1;
    dims[1] = o->m.cur.c;
    dims[2] = o->m.cur.h;
    dims[3] = o->m.cur.w;
    return fcn__onnx_data_out(o, node, 4, dims, where);
}

/* Output k of node becomes the constant t, owned by the value from now on unless alias
   (t then belongs to another value); freed here if there is no such output. */
static fcn_status fcn__onnx_const_out(fcn__onnx *o, const fcn__node *node, int k, fcn__tensor *t, int alias, const char *where)
{
    fcn__val *v;
    if (k >= node->nout || node->vout[k] < 0) {
        if (!alias) fcn__tensor_free(t);
        return k == 0 ? fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: no output", where) : FCN_OK;
    }
    v = &o->vals[node->vout[k]];
    v->kind = FCN__VAL_CONST;
    v->t = t;
    v->alias = alias;
    return FCN_OK;
}

/* The head as a vector for Gemm/MatMul: K values with ONNX shape (1, K). */
static fcn_status fcn__onnx_vec_in(fcn__onnx *o, const fcn__node *node, const char *where, size_t *K)
{
    fcn__val *v = &o->vals[o->head];
    fcn_status s = fcn__onnx_data_in(o, node, 0, where);
    if (s != FCN_OK) return s;
    if (v->nd != 2 || v->dims[0] != 1)
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED,
                          "%s: its input must be a (1, K) matrix (flatten the %dx%dx%d value first)", where, o->m.cur.c,
                          o->m.cur.h, o->m.cur.w);
    *K = (size_t)v->dims[1];
    return FCN_OK;
}

/* A constant operand t that broadcasts to the head along axis 1 only (one value per
   channel or output; (1, M, 1, 1), (M, 1, 1), (1, M), a scalar ...): fills b with its M
   values; 0 if its shape does not broadcast so. */
static int fcn__onnx_per_channel(const fcn__onnx *o, const fcn__tensor *t, int M, float *b)
{
    const fcn__val *v = &o->vals[o->head];
    int k, axis = -1;
    int64_t nonone = 1;
    if (t->is_int) return 0;
    if (t->nd > v->nd) return 0;
    for (k = 0; k < t->nd; k++) {
        int64_t dim = t->dims[k];
        int vax = v->nd - t->nd + k; /* numpy broadcasting aligns the last axes */
        if (dim == 1) continue;
        if (axis >= 0 || vax != 1 || dim != M) return 0;
        axis = vax;
        nonone = dim;
    }
    for (k = 0; k < M; k++) b[k] = nonone == 1 ? t->f[0] : t->f[k];
    return 1;
}

static int fcn__all_eq(const int64_t *v, size_t n, int64_t want)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (v[i] != want) return 0;
    return 1;
}

/* The kernel of a Conv or pool node into ks[0..1]: kernel_shape, or the weights' kdims. */
static fcn_status fcn__onnx_kernel(fcn__onnx *o, const fcn__node *node, const char *where, const int64_t *kdims, int64_t *ks)
{
    int n;
    fcn_status s = fcn__onnx_ints(o->c, node, "kernel_shape", ks, 4, &n, where);
    if (s != FCN_OK) return s;
    if (n >= 0) {
        if (n != 2) return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: kernel_shape has %lu values, expected 2 (2-D)", where, (unsigned long)n);
        if (kdims && (ks[0] != kdims[0] || ks[1] != kdims[1]))
            return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: kernel_shape %lldx%lld differs from its weights' %lldx%lld", where,
                              (long long)ks[0], (long long)ks[1], (long long)kdims[0], (long long)kdims[1]);
    } else if (kdims) {
        ks[0] = kdims[0];
        ks[1] = kdims[1];
    } else
        return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: no kernel_shape", where);
    if (ks[0] < 1 || ks[1] < 1 || ks[0] > FCN__MAX_PATCH || ks[1] > FCN__MAX_PATCH)
        return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: kernel %lldx%lld out of range", where, (long long)ks[0], (long long)ks[1]);
    return FCN_OK;
}

/* The strides into st[0..1] (default 1): fcn's layers have one stride for both axes. */
static fcn_status fcn__onnx_strides(fcn__onnx *o, const fcn__node *node, const char *where, int64_t *st)
{
    int n;
    fcn_status s = fcn__onnx_ints(o->c, node, "strides", st, 4, &n, where);
    if (s != FCN_OK) return s;
    if (n >= 0 && n != 2) return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: strides has %lu values, expected 2", where, (unsigned long)n);
    if (st[0] != st[1])
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: strides %lldx%lld; fcn supports only equal strides", where,
                          (long long)st[0], (long long)st[1]);
    if (st[0] < 1 || st[0] > FCN__MAX_STRIDE) return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: stride %lld out of range", where, (long long)st[0]);
    return FCN_OK;
}

/* The pads (begin h, begin w, end h, end w) into pd: pads, or what auto_pad gives for the
   current input padded by pre, kernel ks and strides st. *same: they come from auto_pad
   SAME_*. */
static fcn_status fcn__onnx_pads(fcn__onnx *o, const fcn__node *node, const char *where, const int64_t *ks,
                                 const int64_t *st, const int64_t *pre, int64_t *pd, int *same)
{
    fcn__attr a;
    int k, n;
    char b[72];
    fcn_status s = fcn__onnx_ints(o->c, node, "pads", pd, 8, &n, where);
    *same = 0;
    if (s != FCN_OK) return s;
    if (n >= 0 && n != 4) return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: pads has %lu values, expected 4", where, (unsigned long)n);
    if ((s = fcn__onnx_attr(o->c, node, "auto_pad", &a, where)) != FCN_OK) return s;
    if (!a.found || fcn__str_eq(a.s, "NOTSET")) return FCN_OK;
    if (fcn__str_eq(a.s, "VALID")) {
        memset(pd, 0, 4 * sizeof *pd);
        return FCN_OK;
    }
    if (!fcn__str_eq(a.s, "SAME_UPPER") && !fcn__str_eq(a.s, "SAME_LOWER"))
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: auto_pad '%s' is not supported", where, fcn__str_show(a.s, b, sizeof b));
    *same = 1;
    for (k = 0; k < 2; k++) { /* ONNX: the output is ceil(in / stride); the odd pad at the end (UPPER) or begin */
        int64_t in = (k ? o->m.cur.w : o->m.cur.h) + pre[k] + pre[k + 2];
        int64_t outn = (in + st[k] - 1) / st[k];
        int64_t total = (outn - 1) * st[k] + ks[k] - in;
        if (total < 0) total = 0;
        pd[k] = fcn__str_eq(a.s, "SAME_UPPER") ? total / 2 : total - total / 2;
        pd[k + 2] = total - pd[k];
    }
    return FCN_OK;
}

/* The geometry of a Conv or pool node into d: kernel (kernel_shape or the weight dims
   kdims), stride, pad: its own (the largest into *own) plus pre, the pads of a Pad before
   it (top, left, bottom, right); what fcn's layers cannot express (unequal strides or
   pads, dilations) is refused. A pool (ext not NULL) may have larger end pads than begin
   pads (after a symmetric Pad): the extra rows and columns go to ext[0..1], for the pool
   to check as ceil rounding (PyTorch's export of ceil_mode before opset 10). */
static fcn_status fcn__onnx_spatial(fcn__onnx *o, const fcn__node *node, const char *where, const int64_t *kdims,
                                    const int64_t *pre, fcn_layer *d, int64_t *own, int64_t *ext)
{
    int64_t ks[4] = {0, 0, 0, 0}, st[4] = {1, 1, 1, 1}, pd[8] = {0, 0, 0, 0, 0, 0, 0, 0}, dl[4] = {1, 1, 1, 1};
    int same, n, k, padded = pre[0] || pre[1] || pre[2] || pre[3];
    fcn_status s;
    if ((s = fcn__onnx_kernel(o, node, where, kdims, ks)) != FCN_OK) return s;
    d->kh = (int)ks[0];
    d->kw = (int)ks[1];
    if ((s = fcn__onnx_strides(o, node, where, st)) != FCN_OK) return s;
    d->stride = (int)st[0];
    if ((s = fcn__onnx_ints(o->c, node, "dilations", dl, 4, &n, where)) != FCN_OK) return s;
    if (!fcn__all_eq(dl, 4, 1)) return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: dilations other than 1 are not supported", where);
    if ((s = fcn__onnx_pads(o, node, where, ks, st, pre, pd, &same)) != FCN_OK) return s;
    for (k = 0; k < 4; k++)
        if (pd[k] < 0 || pd[k] > FCN__MAX_PATCH)
            return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: pad %lld out of range", where, (long long)pd[k]);
    for (k = 0; ext && k < 2; k++) {
        ext[k] = 0;
        if (pd[k + 2] > pd[k] && pre[k] == pre[k + 2]) {
            ext[k] = pd[k + 2] - pd[k];
            pd[k + 2] = pd[k];
        }
    }
    for (*own = 0, k = 0; k < 4; k++) {
        if (pd[k] > *own) *own = pd[k];
        pd[k] += pre[k];
    }
    if (!(pd[0] == pd[1] && pd[0] == pd[2] && pd[0] == pd[3]))
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED,
                          "%s: pads %lld,%lld,%lld,%lld%s%s; fcn supports only the same padding on every side", where,
                          (long long)pd[0], (long long)pd[1], (long long)pd[2], (long long)pd[3],
                          same ? " (from auto_pad SAME)" : "", padded ? " (with those of the Pad before it)" : "");
    if (pd[0] < 0 || pd[0] > FCN__MAX_PATCH) return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: pad %lld out of range", where, (long long)pd[0]);
    d->pad = (int)pd[0];
    return FCN_OK;
}

/* Reshape's target shape: 0 copies the input's dimension (unless allowzero), -1 is inferred. */
static fcn_status fcn__onnx_reshape_dims(fcn__onnx *o, const fcn__node *node, int in_nd, const int64_t *in_dims,
                                         size_t count, int64_t *dims, int *out_nd, const char *where)
{
    fcn__tensor *sh;
    fcn__attr a;
    fcn_status s = FCN_OK;
    size_t k, known = 1;
    int infer = -1, allowzero;
    if (!(sh = fcn__onnx_const_in(o, node, 1, where, "shape", &s))) return s;
    if ((s = fcn__onnx_attr(o->c, node, "allowzero", &a, where)) != FCN_OK) return s;
    allowzero = a.found && a.i;
    if (!sh->is_int || sh->nd != 1 || sh->count > FCN__IMP_MAX_DIMS)
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: the shape must be a 1-D int64 constant of at most %d values", where,
                          FCN__IMP_MAX_DIMS);
    for (k = 0; k < sh->count; k++) {
        int64_t v = sh->i[k];
        if (v == 0 && !allowzero) {
            if ((int)k >= in_nd) return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: shape value 0 at %lu has no input dimension", where, (unsigned long)k);
            v = in_dims[k];
        }
        if (v == -1) {
            if (infer >= 0) return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: more than one -1 in the shape", where);
            infer = (int)k;
            dims[k] = -1;
            continue;
        }
        if (v < 1 || (uint64_t)v > FCN__IMP_MAX_ELEMS || known > FCN__IMP_MAX_ELEMS / (size_t)v)
            return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: shape value %lld out of range", where, (long long)sh->i[k]);
        known *= (size_t)v;
        dims[k] = v;
    }
    if (infer >= 0) {
        if (count % known) return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: %lu values do not reshape to that shape", where, (unsigned long)count);
        dims[infer] = (int64_t)(count / known);
        known = count;
    }
    if (known != count)
        return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: %lu values do not reshape to %lu", where, (unsigned long)count,
                          (unsigned long)known);
    *out_nd = (int)sh->count;
    return FCN_OK;
}

/* Sets the head to the reshaped data value (memory order, C,H,W, never changes): flat
   unless it is the (1, C, H, W) of the current shape. */
static fcn_status fcn__onnx_set_shape(fcn__onnx *o, const fcn__node *node, int n, const int64_t *dims, const char *where)
{
    int spatial = n == 4 && dims[0] == 1 && dims[1] == o->m.cur.c && dims[2] == o->m.cur.h && dims[3] == o->m.cur.w;
    int bias = o->bias_open;
    fcn_status s = fcn__onnx_data_out(o, node, n, dims, where);
    o->m.flat = !spatial;
    o->bias_open = bias;
    return s;
}

/* >>onnx-ops
   One handler per ONNX op (or family of ops), found by name in fcn__onnx_ops below. A
   handler gets the import state o, its node and where (how messages name the node); it
   reads the node's inputs (fcn__onnx_data_in / fcn__onnx_const_in / fcn__onnx_in0),
   appends layers to o->m (fcn__imp_add), and sets its outputs (fcn__onnx_data_out for the
   network's data, fcn__onnx_const_out for a constant). It may look around: o->m.layers,
   w and b hold the layers added so far (the bias Add folds into the last one), and
   o->vals[node->vin[k]].producer leads to the node that made an input.

   To add an op: write fcn__op_NAME and add a row {"Name", on_data, on_consts}. */

typedef fcn_status (*fcn__onnx_op)(fcn__onnx *o, const fcn__node *node, const char *where);

/* ---- constants, and ops that pass their input on ---- */

/* value_float(s) / value_int(s) of a Constant node as a tensor. */
static fcn_status fcn__onnx_const_numbers(fcn__onnx *o, const fcn__node *node, const char *where, fcn__tensor **out)
{
    static const char *const keys[] = {"value_float", "value_floats", "value_int", "value_ints"};
    fcn__attr a;
    fcn_status s;
    int j;
    for (j = 0; j < 4; j++) {
        fcn__tensor *t;
        int64_t dim[1];
        size_t n;
        if ((s = fcn__onnx_attr(o->c, node, keys[j], &a, where)) != FCN_OK) return s;
        if (!a.found) continue;
        n = j == 1 ? a.nfloats : j == 3 ? a.nints : 1;
        dim[0] = (int64_t)n;
        if (!(t = fcn__tensor_new(j == 0 || j == 2 ? 0 : 1, dim, n, j >= 2))) return fcn__inomem(o->c);
        if (j == 0) t->f[0] = a.f;
        else if (j == 2) t->i[0] = a.i;
        else { /* the repeated field, counted above */
            fcn__pb q = fcn__pb_of(a.p, a.n);
            fcn__pbf g;
            const char *why;
            size_t m = 0;
            while (fcn__pb_next(&q, &g, &why) > 0)
                if ((int)g.num == (j == 1 ? 7 : 8)) fcn__pb_rep(&g, j == 1 ? 'f' : 'i', &m, t->f, t->i);
        }
        *out = t;
        return FCN_OK;
    }
    return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: no value (sparse or string constants are not supported)", where);
}

static fcn_status fcn__op_constant(fcn__onnx *o, const fcn__node *node, const char *where)
{
    fcn__attr a;
    fcn__tensor *t = NULL;
    fcn_status s;
    if ((s = fcn__onnx_attr(o->c, node, "value", &a, where)) != FCN_OK) return s;
    if (a.found && a.t) s = fcn__onnx_tensor(o->c, a.t, a.tn, where, &t, NULL);
    else s = fcn__onnx_const_numbers(o, node, where, &t);
    if (s != FCN_OK) return s;
    return fcn__onnx_const_out(o, node, 0, t, 0, where);
}

/* Identity and Dropout: a constant stays the same constant, the network's value the same
   value (Dropout also as an fcn dropout layer, which ends an open bias). */
static fcn_status fcn__onnx_pass(fcn__onnx *o, const fcn__node *node, int dropout, const char *where)
{
    fcn__val *v;
    fcn_status s = FCN_OK;
    int bias, flat;
    if (!(v = fcn__onnx_in0(o, node, where, &s))) return s;
    if (v->kind == FCN__VAL_CONST) return fcn__onnx_const_out(o, node, 0, v->t, 1, where);
    if ((s = fcn__onnx_data_in(o, node, 0, where)) != FCN_OK) return s;
    if (dropout && node->nin > 2 && node->vin[2] >= 0) { /* opset 12: training_mode, an input */
        fcn__tensor *t = fcn__onnx_const_in(o, node, 2, where, "training_mode", &s);
        if (!t) return s;
        if (t->count != 1 || (t->is_int ? t->i[0] != 0 : t->f[0] != 0.0f))
            return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: training mode (random); export the model in eval mode", where);
    }
    if (dropout) {
        fcn_layer d;
        memset(&d, 0, sizeof d);
        d.type = FCN_LAYER_DROPOUT;
        if ((s = fcn__imp_add(&o->m, &d, NULL, NULL, where)) != FCN_OK) return s;
    }
    bias = o->bias_open;
    flat = o->m.flat;
    s = fcn__onnx_data_out(o, node, v->nd, v->dims, where);
    o->bias_open = bias && !dropout;
    o->m.flat = flat;
    return s;
}

static fcn_status fcn__op_identity(fcn__onnx *o, const fcn__node *node, const char *where) { return fcn__onnx_pass(o, node, 0, where); }
static fcn_status fcn__op_dropout(fcn__onnx *o, const fcn__node *node, const char *where) { return fcn__onnx_pass(o, node, 1, where); }

/* ---- shape computations on constants (an exporter's dynamic batch:
   Shape -> Gather -> Unsqueeze -> Concat -> Reshape), folded while loading ---- */

/* Shape: the input's dimensions (the network's value too: its ONNX shape, batch 1);
   from opset 15 those from start to end (negative: from the end; clamped to the rank). */
static fcn_status fcn__op_shape(fcn__onnx *o, const fcn__node *node, const char *where)
{
    static const char *const keys[2] = {"start", "end"};
    fcn__val *v;
    fcn__attr a;
    fcn__tensor *t;
    const int64_t *dims;
    int64_t d[1], range[2];
    int k, nd;
    fcn_status s = FCN_OK;
    if (!(v = fcn__onnx_in0(o, node, where, &s))) return s;
    nd = v->kind == FCN__VAL_DATA ? v->nd : v->t->nd;
    dims = v->kind == FCN__VAL_DATA ? v->dims : v->t->dims;
    range[0] = 0;
    range[1] = nd;
    for (k = 0; k < 2; k++) {
        if ((s = fcn__onnx_attr(o->c, node, keys[k], &a, where)) != FCN_OK) return s;
        if (!a.found) continue;
        if (o->opset < 15)
            return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: attribute %s is Shape's from opset 15; the model is opset %d",
                              where, keys[k], o->opset);
        range[k] = a.i < 0 ? a.i + nd : a.i;
        range[k] = range[k] < 0 ? 0 : range[k] > nd ? nd : range[k];
    }
    d[0] = range[1] > range[0] ? range[1] - range[0] : 0;
    if (!(t = fcn__tensor_new(1, d, (size_t)d[0], 1))) return fcn__inomem(o->c);
    for (k = 0; k < (int)d[0]; k++) t->i[k] = dims[range[0] + k];
    return fcn__onnx_const_out(o, node, 0, t, 0, where);
}

static fcn_status fcn__op_gather(fcn__onnx *o, const fcn__node *node, const char *where)
{
    fcn__val *v;
    fcn__tensor *x, *idx, *t;
    fcn__attr a;
    fcn_status s = FCN_OK;
    size_t k;
    if (!(v = fcn__onnx_in0(o, node, where, &s))) return s;
    x = v->t;
    if (!(idx = fcn__onnx_const_in(o, node, 1, where, "indices", &s))) return s;
    if ((s = fcn__onnx_attr(o->c, node, "axis", &a, where)) != FCN_OK) return s;
    if ((a.found && a.i != 0) || x->nd != 1 || !x->is_int || !idx->is_int || idx->nd > 1)
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: only a Gather of int64 values of a 1-D constant is supported", where);
    if (!(t = fcn__tensor_new(idx->nd, idx->dims, idx->count, 1))) return fcn__inomem(o->c);
    for (k = 0; k < idx->count; k++) {
        int64_t j = idx->i[k] < 0 ? idx->i[k] + (int64_t)x->count : idx->i[k];
        if (j < 0 || j >= (int64_t)x->count) {
            fcn__tensor_free(t);
            return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: index %lld out of range", where, (long long)idx->i[k]);
        }
        t->i[k] = x->i[j];
    }
    return fcn__onnx_const_out(o, node, 0, t, 0, where);
}

/* Unsqueeze (nd 1) and Squeeze (nd 0) of a one-element constant: a scalar <-> a
   one-element vector, enough for shape computations (the axes are not read). */
static fcn_status fcn__onnx_squeeze(fcn__onnx *o, const fcn__node *node, int nd, const char *where)
{
    fcn__val *v;
    fcn__tensor *x, *t;
    int64_t one = 1;
    fcn_status s = FCN_OK;
    if (!(v = fcn__onnx_in0(o, node, where, &s))) return s;
    x = v->t;
    if (x->count != 1 || x->nd > 1)
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: only Unsqueeze/Squeeze of a one-element constant is supported", where);
    if (!(t = fcn__tensor_new(nd, &one, 1, x->is_int))) return fcn__inomem(o->c);
    if (x->is_int) t->i[0] = x->i[0];
    else t->f[0] = x->f[0];
    return fcn__onnx_const_out(o, node, 0, t, 0, where);
}

static fcn_status fcn__op_unsqueeze(fcn__onnx *o, const fcn__node *node, const char *where) { return fcn__onnx_squeeze(o, node, 1, where); }
static fcn_status fcn__op_squeeze(fcn__onnx *o, const fcn__node *node, const char *where) { return fcn__onnx_squeeze(o, node, 0, where); }

static fcn_status fcn__op_concat(fcn__onnx *o, const fcn__node *node, const char *where)
{
    fcn__val *v;
    fcn__attr a;
    fcn__tensor *t;
    size_t total = 0, at = 0;
    int64_t d[1];
    int j;
    fcn_status s = FCN_OK;
    if (!(v = fcn__onnx_in0(o, node, where, &s))) return s;
    if ((s = fcn__onnx_attr(o->c, node, "axis", &a, where)) != FCN_OK) return s;
    for (j = 0; j < node->nin; j++) {
        const fcn__tensor *y = node->vin[j] >= 0 ? o->vals[node->vin[j]].t : NULL;
        if (!y || y->nd != 1 || !y->is_int || (a.i != 0 && a.i != -1))
            return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: only a Concat of 1-D int64 constants is supported", where);
        total += y->count;
    }
    d[0] = (int64_t)total;
    if (total > FCN__IMP_MAX_DIMS * 4) return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: Concat too long", where);
    if (!(t = fcn__tensor_new(1, d, total, 1))) return fcn__inomem(o->c);
    for (j = 0; j < node->nin; j++) {
        const fcn__tensor *y = o->vals[node->vin[j]].t;
        memcpy(t->i + at, y->i, y->count * sizeof(int64_t));
        at += y->count;
    }
    return fcn__onnx_const_out(o, node, 0, t, 0, where);
}

static fcn_status fcn__op_cast(fcn__onnx *o, const fcn__node *node, const char *where)
{
    fcn__val *v;
    fcn__attr a;
    fcn__tensor *x, *t;
    int64_t to;
    size_t k;
    fcn_status s = FCN_OK;
    if (!(v = fcn__onnx_in0(o, node, where, &s))) return s;
    x = v->t;
    if ((s = fcn__onnx_attr(o->c, node, "to", &a, where)) != FCN_OK) return s;
    to = a.i;
    if (to != 1 && to != 7 && to != 6)
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: Cast to type %lld is not supported", where, (long long)to);
    if (!(t = fcn__tensor_new(x->nd, x->dims, x->count, to != 1))) return fcn__inomem(o->c);
    for (k = 0; k < x->count; k++) {
        if (to == 1) t->f[k] = x->is_int ? (float)x->i[k] : x->f[k];
        else {
            float fv = x->is_int ? 0.0f : x->f[k];
            if (!x->is_int && !(fv > -9.2e18f && fv < 9.2e18f)) { /* else the conversion is undefined */
                fcn__tensor_free(t);
                return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: Cast of a value out of range", where);
            }
            t->i[k] = x->is_int ? x->i[k] : (int64_t)fv;
        }
    }
    return fcn__onnx_const_out(o, node, 0, t, 0, where);
}

/* ConstantOfShape: a tensor of the shape given by a 1-D int64 constant (at most
   FCN__IMP_MAX_FOLD values: it comes from nothing in the file), every value the value
   attribute's one element (default float 0). */
static fcn_status fcn__op_constant_of_shape(fcn__onnx *o, const fcn__node *node, const char *where)
{
    fcn__val *v;
    fcn__tensor *x, *fill = NULL, *t;
    fcn__attr a;
    size_t count, k;
    int ok;
    fcn_status s = FCN_OK;
    if (!(v = fcn__onnx_in0(o, node, where, &s))) return s;
    x = v->t;
    if (!x->is_int || x->nd != 1 || x->count > FCN__IMP_MAX_DIMS)
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: the shape must be a 1-D int64 constant of at most %d values", where,
                          FCN__IMP_MAX_DIMS);
    count = fcn__dims_count((int)x->count, x->i, &ok);
    if (!ok || count > FCN__IMP_MAX_FOLD)
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: a shape of more than %d values, or a negative one", where, FCN__IMP_MAX_FOLD);
    if ((s = fcn__onnx_attr(o->c, node, "value", &a, where)) != FCN_OK) return s;
    if (a.found && a.t && (s = fcn__onnx_tensor(o->c, a.t, a.tn, where, &fill, NULL)) != FCN_OK) return s;
    if (fill && fill->count != 1) {
        fcn__tensor_free(fill);
        return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: its value must be one element", where);
    }
    t = fcn__tensor_new((int)x->count, x->i, count, fill && fill->is_int);
    for (k = 0; t && k < count; k++) {
        if (t->is_int) t->i[k] = fill->i[0];
        else t->f[k] = fill ? fill->f[0] : 0.0f;
    }
    fcn__tensor_free(fill);
    if (!t) return fcn__inomem(o->c);
    return fcn__onnx_const_out(o, node, 0, t, 0, where);
}

/* Element k of t into element j of u (of the same kind). */
static void fcn__tensor_put(const fcn__tensor *t, size_t k, fcn__tensor *u, size_t j)
{
    if (t->is_int) u->i[j] = t->i[k];
    else u->f[j] = t->f[k];
}

/* The element of a tensor with dims (nd of them) at index idx, with from[] the start
   and step[] the step of each axis: the flat offset in row-major order. */
static size_t fcn__tensor_offset(int nd, const int64_t *dims, const int64_t *idx, const int64_t *from, const int64_t *step)
{
    size_t off = 0;
    int k;
    for (k = 0; k < nd; k++) off = off * (size_t)dims[k] + (size_t)(from[k] + idx[k] * step[k]);
    return off;
}

/* The next index of a row-major walk over dims (the last axis fastest). */
static void fcn__index_next(int nd, const int64_t *dims, int64_t *idx)
{
    int k;
    for (k = nd - 1; k >= 0; k--) {
        if (++idx[k] < dims[k]) return;
        idx[k] = 0;
    }
}

/* Transpose of a constant: output axis k is input axis perm[k] (default: reversed). */
static fcn_status fcn__op_transpose(fcn__onnx *o, const fcn__node *node, const char *where)
{
    fcn__val *v;
    fcn__tensor *x, *t;
    int64_t perm[FCN__IMP_MAX_DIMS], dims[FCN__IMP_MAX_DIMS], idx[FCN__IMP_MAX_DIMS], pidx[FCN__IMP_MAX_DIMS];
    int64_t zero[FCN__IMP_MAX_DIMS], one[FCN__IMP_MAX_DIMS];
    int n, k, nd, seen = 0;
    size_t j;
    fcn_status s = FCN_OK;
    if (!(v = fcn__onnx_in0(o, node, where, &s))) return s;
    x = v->t;
    nd = x->nd;
    if ((s = fcn__onnx_ints(o->c, node, "perm", perm, FCN__IMP_MAX_DIMS, &n, where)) != FCN_OK) return s;
    for (k = 0; n < 0 && k < nd; k++) perm[k] = nd - 1 - k;
    if (n >= 0 && n != nd) return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: perm has %d values for %d axes", where, n, nd);
    for (k = 0; k < nd; k++) {
        if (perm[k] < 0 || perm[k] >= nd || (seen >> perm[k] & 1))
            return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: perm is not a permutation of the axes", where);
        seen |= 1 << perm[k];
        dims[k] = x->dims[perm[k]];
        idx[k] = zero[k] = 0;
        one[k] = 1;
    }
    if (!(t = fcn__tensor_new(nd, dims, x->count, x->is_int))) return fcn__inomem(o->c);
    for (j = 0; j < x->count; j++, fcn__index_next(nd, dims, idx)) {
        for (k = 0; k < nd; k++) pidx[perm[k]] = idx[k];
        fcn__tensor_put(x, fcn__tensor_offset(nd, x->dims, pidx, zero, one), t, j);
    }
    return fcn__onnx_const_out(o, node, 0, t, 0, where);
}

/* Slice's starts, ends, axes and steps (inputs 1-4 from opset 10, else attributes) into
   the start and step of each of the nd axes and the output dims. */
static fcn_status fcn__onnx_slice_args(fcn__onnx *o, const fcn__node *node, int nd, const int64_t *in, int64_t *from,
                                       int64_t *step, int64_t *dims, const char *where)
{
    static const char *const keys[4] = {"starts", "ends", "axes", "steps"};
    int64_t arg[4][FCN__IMP_MAX_DIMS];
    int n[4], k, i;
    fcn_status s = FCN_OK;
    for (i = 0; i < 4; i++) {
        fcn__tensor *t;
        n[i] = -1;
        if (node->nin > 1 && i + 1 < node->nin && node->vin[i + 1] >= 0) {
            if (!(t = fcn__onnx_const_in(o, node, i + 1, where, keys[i], &s))) return s;
            if (!t->is_int || t->nd != 1 || t->count > (size_t)nd)
                return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: %s must be at most %d integers", where, keys[i], nd);
            memcpy(arg[i], t->i, t->count * sizeof(int64_t));
            n[i] = (int)t->count;
        } else if (node->nin <= 1 && i < 3 && (s = fcn__onnx_ints(o->c, node, keys[i], arg[i], (size_t)nd, &n[i], where)) != FCN_OK)
            return s;
    }
    for (k = 0; k < nd; k++) {
        from[k] = 0;
        step[k] = 1;
        dims[k] = in[k];
    }
    if (n[0] < 0 || n[1] != n[0] || (n[2] >= 0 && n[2] != n[0]) || (n[3] >= 0 && n[3] != n[0]))
        return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: starts, ends, axes and steps of different lengths", where);
    for (i = 0; i < n[0]; i++) {
        int64_t a = n[2] >= 0 ? arg[2][i] : i, st = n[3] >= 0 ? arg[3][i] : 1, d, b, e;
        if (a < 0) a += nd;
        if (a < 0 || a >= nd || step[a] != 1 || from[a] != 0 || dims[a] != in[a] || st == 0 || st < -FCN__IMP_MAX_FOLD ||
            st > FCN__IMP_MAX_FOLD)
            return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: axis or step out of range, or an axis twice", where);
        d = in[a];
        b = arg[0][i] < 0 ? (arg[0][i] < -d ? 0 : arg[0][i] + d) : arg[0][i];
        e = arg[1][i] < 0 ? (arg[1][i] < -d ? -1 : arg[1][i] + d) : arg[1][i];
        if (st > 0) { /* ONNX clamps start and end to [0, d], or [0, d - 1] and [-1, d - 1] going back */
            b = b > d ? d : b;
            e = e < 0 ? 0 : e > d ? d : e;
            dims[a] = e > b ? (e - b + st - 1) / st : 0;
        } else {
            b = b > d - 1 ? d - 1 : b;
            e = e > d - 1 ? d - 1 : e;
            dims[a] = b > e ? (b - e - st - 1) / -st : 0;
        }
        from[a] = b;
        step[a] = st;
    }
    return FCN_OK;
}

/* Slice of a constant. */
static fcn_status fcn__op_slice(fcn__onnx *o, const fcn__node *node, const char *where)
{
    fcn__val *v;
    fcn__tensor *x, *t;
    int64_t from[FCN__IMP_MAX_DIMS], step[FCN__IMP_MAX_DIMS], dims[FCN__IMP_MAX_DIMS], idx[FCN__IMP_MAX_DIMS];
    size_t count, j;
    int k, ok;
    fcn_status s = FCN_OK;
    if (!(v = fcn__onnx_in0(o, node, where, &s))) return s;
    x = v->t;
    if ((s = fcn__onnx_slice_args(o, node, x->nd, x->dims, from, step, dims, where)) != FCN_OK) return s;
    count = fcn__dims_count(x->nd, dims, &ok);
    if (!(t = fcn__tensor_new(x->nd, dims, count, x->is_int))) return fcn__inomem(o->c);
    for (k = 0; k < x->nd; k++) idx[k] = 0;
    for (j = 0; j < count; j++, fcn__index_next(x->nd, dims, idx)) fcn__tensor_put(x, fcn__tensor_offset(x->nd, x->dims, idx, from, step), t, j);
    return fcn__onnx_const_out(o, node, 0, t, 0, where);
}

/* A Reshape of a constant: new dims, the same data. */
static fcn_status fcn__op_reshape_const(fcn__onnx *o, const fcn__node *node, const char *where)
{
    fcn__val *v;
    fcn__tensor *x, *t;
    int64_t dims[FCN__IMP_MAX_DIMS];
    int n = 0;
    fcn_status s = FCN_OK;
    if (!(v = fcn__onnx_in0(o, node, where, &s))) return s;
    x = v->t;
    if ((s = fcn__onnx_reshape_dims(o, node, x->nd, x->dims, x->count, dims, &n, where)) != FCN_OK) return s;
    if (!(t = fcn__tensor_new(n, dims, x->count, x->is_int))) return fcn__inomem(o->c);
    if (x->count) {
        if (x->is_int) memcpy(t->i, x->i, x->count * sizeof(int64_t));
        else memcpy(t->f, x->f, x->count * sizeof(float));
    }
    return fcn__onnx_const_out(o, node, 0, t, 0, where);
}

static fcn_status fcn__op_flatten_const(fcn__onnx *o, const fcn__node *node, const char *where)
{
    fcn_status s = FCN_OK;
    if (!fcn__onnx_in0(o, node, where, &s)) return s;
    return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: Flatten of a constant", where);
}

/* ---- layers on the network's value ---- */

/* New arrays for nw weights and nb biases, the biases zero. */
static fcn_status fcn__onnx_params(fcn__onnx *o, size_t nw, size_t nb, float **w, float **b)
{
    *w = FCN__CAST(float *, fcn__alloc(nw, sizeof(float)));
    *b = FCN__CAST(float *, fcn__alloc(nb, sizeof(float)));
    if (!*w || !*b) {
        FCN_FREE(*w);
        FCN_FREE(*b);
        return fcn__inomem(o->c);
    }
    memset(*b, 0, nb * sizeof(float));
    return FCN_OK;
}

/* The input of a Conv or pool (what): the N x C x H x W value the layers left. */
static fcn_status fcn__onnx_image_in(fcn__onnx *o, const char *what, const char *where)
{
    int nd = o->vals[o->head].nd;
    if (nd != 4)
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: its input has %d axes; only 2-D %s, of an N x C x H x W value, is "
                          "supported", where, nd, what);
    if (o->m.flat) return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: %s of a flattened value", where, what);
    return FCN_OK;
}

static fcn_status fcn__op_conv(fcn__onnx *o, const fcn__node *node, const char *where)
{
    fcn__tensor *W, *B = NULL;
    fcn__attr a;
    fcn_layer d;
    float *w, *b;
    int64_t pre[4], own;
    fcn_status s;
    memset(&d, 0, sizeof d);
    if ((s = fcn__onnx_padded_in(o, node, where, pre)) != FCN_OK) return s;
    if ((s = fcn__onnx_image_in(o, "convolution", where)) != FCN_OK) return s;
    if (!(W = fcn__onnx_const_in(o, node, 1, where, "weights", &s))) return s;
    if (W->is_int || W->nd != 4)
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: the weights must be a 4-D float tensor (2-D convolution)", where);
    if ((s = fcn__onnx_attr(o->c, node, "group", &a, where)) != FCN_OK) return s;
    if (a.found && a.i != 1) return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: group %lld; only group 1 is supported", where, (long long)a.i);
    if (W->dims[1] != o->m.cur.c)
        return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: weights for %lld input channels, its input has %d", where,
                          (long long)W->dims[1], o->m.cur.c);
    if (W->dims[0] < 1 || W->dims[0] > FCN__MAX_MAPS)
        return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: %lld output maps out of range", where, (long long)W->dims[0]);
    d.type = FCN_LAYER_CONV;
    d.maps = (int)W->dims[0];
    if ((s = fcn__onnx_spatial(o, node, where, W->dims + 2, pre, &d, &own, NULL)) != FCN_OK) return s;
    if (node->nin > 2 && node->vin[2] >= 0) {
        if (!(B = fcn__onnx_const_in(o, node, 2, where, "bias", &s))) return s;
        if (B->is_int || B->count != (size_t)d.maps)
            return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: bias of %lu values for %d maps", where, (unsigned long)B->count, d.maps);
    }
    if ((s = fcn__onnx_params(o, W->count, (size_t)d.maps, &w, &b)) != FCN_OK) return s;
    memcpy(w, W->f, W->count * sizeof(float));
    if (B) memcpy(b, B->f, (size_t)d.maps * sizeof(float));
    if ((s = fcn__imp_add(&o->m, &d, w, b, where)) != FCN_OK) return s;
    if ((s = fcn__onnx_spatial_out(o, node, where)) != FCN_OK) return s;
    o->bias_open = B == NULL;
    return FCN_OK;
}

/* A pool whose end pads exceed its begin pads by ext[0] rows and ext[1] columns (d: fcn's
   pool with the begin pads and ceil rounding; in_h, in_w its input): ONNX's output size
   with those pads must be fcn's, so that the extra pads only complete the last window,
   which fcn clips. They are -infinity to a MaxPool and not counted by an AveragePool
   with count_include_pad 0, as a clipped window's missing values. */
static fcn_status fcn__onnx_pool_ext(fcn__onnx *o, const fcn_layer *d, const int64_t *ext, int in_h, int in_w, const char *where)
{
    int64_t oh = (in_h + 2 * d->pad + ext[0] - d->kh) / d->stride + 1, ow = (in_w + 2 * d->pad + ext[1] - d->kw) / d->stride + 1;
    if (oh == o->m.cur.h && ow == o->m.cur.w) return FCN_OK;
    return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: end pads %lld and %lld beyond the begin ones give %lldx%lld outputs, "
                      "ceil rounding %dx%d: they are not a clipped last window", where, (long long)ext[0], (long long)ext[1],
                      (long long)oh, (long long)ow, o->m.cur.h, o->m.cur.w);
}

/* MaxPool and AveragePool (type); an AveragePool also after a Pad of zeros, whose pads
   become its own (counted in the average: count_include_pad). */
static fcn_status fcn__onnx_pool(fcn__onnx *o, const fcn__node *node, fcn_layer_type type, const char *where)
{
    fcn__attr a;
    fcn_layer d;
    int64_t pre[4] = {0, 0, 0, 0}, own, ext[2];
    int in_h = o->m.cur.h, in_w = o->m.cur.w, cip = 0;
    fcn_status s;
    memset(&d, 0, sizeof d);
    if (type == FCN_LAYER_MAXPOOL && o->pad_open)
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: follows %s: its zeros would enter the maximum (a MaxPool's "
                          "own pads do not)", where, o->pad_where);
    s = type == FCN_LAYER_AVGPOOL ? fcn__onnx_padded_in(o, node, where, pre) : fcn__onnx_data_in(o, node, 0, where);
    if (s != FCN_OK) return s;
    if ((s = fcn__onnx_image_in(o, "pooling", where)) != FCN_OK) return s;
    d.type = type;
    if ((s = fcn__onnx_spatial(o, node, where, NULL, pre, &d, &own, ext)) != FCN_OK) return s;
    if ((s = fcn__onnx_attr(o->c, node, "ceil_mode", &a, where)) != FCN_OK) return s;
    d.ceil_mode = a.found && a.i;
    if (type == FCN_LAYER_AVGPOOL) {
        if ((s = fcn__onnx_attr(o->c, node, "count_include_pad", &a, where)) != FCN_OK) return s;
        cip = a.found && a.i;
        if (!cip && own > 0)
            return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED,
                              "%s: count_include_pad 0 with pads %lld divides by the window inside the image; fcn "
                              "(as Caffe) divides by the window inside the padded image: export with "
                              "count_include_pad=1 or without padding",
                              where, (long long)own);
    }
    if (ext[0] || ext[1]) {
        if (d.ceil_mode || cip)
            return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: end pads beyond the begin ones with %s", where,
                              d.ceil_mode ? "ceil_mode 1" : "count_include_pad 1 (they would count in the average)");
        d.ceil_mode = 1;
    }
    /* MaxPool's output 1 (the indices) keeps no value: a node that reads it is refused */
    if ((s = fcn__imp_add(&o->m, &d, NULL, NULL, where)) != FCN_OK) return s;
    if ((ext[0] || ext[1]) && (s = fcn__onnx_pool_ext(o, &d, ext, in_h, in_w, where)) != FCN_OK) return s;
    return fcn__onnx_spatial_out(o, node, where);
}

static fcn_status fcn__op_maxpool(fcn__onnx *o, const fcn__node *node, const char *where) { return fcn__onnx_pool(o, node, FCN_LAYER_MAXPOOL, where); }
static fcn_status fcn__op_avgpool(fcn__onnx *o, const fcn__node *node, const char *where) { return fcn__onnx_pool(o, node, FCN_LAYER_AVGPOOL, where); }

/* GlobalMaxPool and GlobalAveragePool: a pool as large as the value. */
static fcn_status fcn__onnx_global_pool(fcn__onnx *o, const fcn__node *node, fcn_layer_type type, const char *where)
{
    fcn_layer d;
    fcn_status s;
    memset(&d, 0, sizeof d);
    if ((s = fcn__onnx_data_in(o, node, 0, where)) != FCN_OK) return s;
    if ((s = fcn__onnx_image_in(o, "pooling", where)) != FCN_OK) return s;
    d.type = type;
    d.kh = o->m.cur.h;
    d.kw = o->m.cur.w;
    d.stride = 1;
    if ((s = fcn__imp_add(&o->m, &d, NULL, NULL, where)) != FCN_OK) return s;
    return fcn__onnx_spatial_out(o, node, where);
}

static fcn_status fcn__op_global_maxpool(fcn__onnx *o, const fcn__node *node, const char *where) { return fcn__onnx_global_pool(o, node, FCN_LAYER_MAXPOOL, where); }
static fcn_status fcn__op_global_avgpool(fcn__onnx *o, const fcn__node *node, const char *where) { return fcn__onnx_global_pool(o, node, FCN_LAYER_AVGPOOL, where); }

/* Gemm's attributes; MatMul is a Gemm with the defaults and no C. */
typedef struct fcn__gemm {
    int trans_b;
    float alpha, beta;
    int has_c; /* input 2 (C) is read */
} fcn__gemm;

/* Gemm's bias C: 1 or N values (a scalar, (N), (1, N), (1, 1)); *C NULL if none. */
static fcn_status fcn__onnx_gemm_c(fcn__onnx *o, const fcn__node *node, size_t N, const char *where, fcn__tensor **C)
{
    fcn_status s;
    *C = NULL;
    if (node->nin <= 2 || node->vin[2] < 0) return FCN_OK;
    if (!(*C = fcn__onnx_const_in(o, node, 2, where, "bias (input C)", &s))) return s;
    if ((*C)->is_int || !((*C)->count == 1 || (*C)->count == N) || (*C)->nd > 2 || ((*C)->nd == 2 && (*C)->dims[0] != 1))
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: bias C of %lu values for %lu outputs", where,
                          (unsigned long)(*C)->count, (unsigned long)N);
    return FCN_OK;
}

/* An fc layer from a Gemm or MatMul: y = alpha * x B (+ beta * C), the weights B a
   constant (K, N) ((N, K) with transB), alpha and beta folded into them. */
static fcn_status fcn__onnx_fc(fcn__onnx *o, const fcn__node *node, const fcn__gemm *g, const char *where)
{
    fcn__tensor *B, *C = NULL;
    size_t K = 0, N, i, j;
    float *w, *b;
    int64_t dims[2];
    fcn_layer d;
    fcn_status s;
    int tb = g->trans_b;
    memset(&d, 0, sizeof d);
    if ((s = fcn__onnx_vec_in(o, node, where, &K)) != FCN_OK) return s;
    if (!(B = fcn__onnx_const_in(o, node, 1, where, "weights (input B)", &s))) return s;
    if (B->is_int || B->nd != 2)
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: the weights must be a 2-D float constant", where);
    if ((size_t)B->dims[tb ? 1 : 0] != K) {
        char t1[64];
        fcn__dims_text(t1, sizeof t1, B->nd, B->dims);
        return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: weights %s (transB %d) do not fit its %lu inputs", where, t1, tb,
                          (unsigned long)K);
    }
    if (K != fcn__imp_count(&o->m))
        return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: %lu inputs, the network's value has %d", where, (unsigned long)K,
                          o->m.cur.c * o->m.cur.h * o->m.cur.w);
    N = (size_t)B->dims[tb ? 0 : 1];
    if (N < 1 || N > FCN__MAX_MAPS) return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: %lu outputs out of range", where, (unsigned long)N);
    if (g->has_c && (s = fcn__onnx_gemm_c(o, node, N, where, &C)) != FCN_OK) return s;
    if ((s = fcn__onnx_params(o, B->count, N, &w, &b)) != FCN_OK) return s;
    for (i = 0; i < N; i++)
        for (j = 0; j < K; j++) w[i * K + j] = (tb ? B->f[i * K + j] : B->f[j * N + i]) * g->alpha;
    if (C)
        for (i = 0; i < N; i++) b[i] = (C->count == 1 ? C->f[0] : C->f[i]) * g->beta;
    d.type = FCN_LAYER_FC;
    d.maps = (int)N;
    if ((s = fcn__imp_add(&o->m, &d, w, b, where)) != FCN_OK) return s;
    dims[0] = 1;
    dims[1] = (int64_t)N;
    if ((s = fcn__onnx_data_out(o, node, 2, dims, where)) != FCN_OK) return s;
    o->m.flat = 1;
    o->bias_open = C == NULL;
    return FCN_OK;
}

static fcn_status fcn__op_gemm(fcn__onnx *o, const fcn__node *node, const char *where)
{
    fcn__gemm g;
    fcn__attr a;
    fcn_status s;
    if ((s = fcn__onnx_attr(o->c, node, "transA", &a, where)) != FCN_OK) return s;
    if (a.found && a.i)
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: transA 1 (the input must be the (1, K) row of the batch)", where);
    if ((s = fcn__onnx_attr(o->c, node, "transB", &a, where)) != FCN_OK) return s;
    g.trans_b = a.found && a.i;
    if ((s = fcn__onnx_attr(o->c, node, "alpha", &a, where)) != FCN_OK) return s;
    g.alpha = a.found ? a.f : 1.0f;
    if ((s = fcn__onnx_attr(o->c, node, "beta", &a, where)) != FCN_OK) return s;
    g.beta = a.found ? a.f : 1.0f;
    if (!fcn__finite(g.alpha) || !fcn__finite(g.beta))
        return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: alpha and beta must be finite", where);
    g.has_c = 1;
    return fcn__onnx_fc(o, node, &g, where);
}

static fcn_status fcn__op_matmul(fcn__onnx *o, const fcn__node *node, const char *where)
{
    fcn__gemm g;
    g.trans_b = 0;
    g.alpha = g.beta = 1.0f;
    g.has_c = 0;
    return fcn__onnx_fc(o, node, &g, where);
}

/* An Add of constant t right after a conv or fc layer without bias: t becomes its bias. */
static fcn_status fcn__onnx_bias_add(fcn__onnx *o, const fcn__node *node, const fcn__tensor *t, const char *where)
{
    const fcn__val *v = &o->vals[o->head];
    int M = o->m.cur.c, flat = o->m.flat, k;
    float *b = o->m.b[o->m.n - 1], *add = FCN__CAST(float *, fcn__alloc((size_t)M, sizeof(float)));
    fcn_status s;
    if (!add) return fcn__inomem(o->c);
    if (!fcn__onnx_per_channel(o, t, M, add)) {
        char t1[64];
        FCN_FREE(add);
        fcn__dims_text(t1, sizeof t1, t->nd, t->dims);
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: an Add of a %s constant is not a bias of the %d outputs before it",
                          where, t1, M);
    }
    /* the layer's bias is 0, or the shift of a BatchNormalization before it, folded in */
    for (k = 0; k < M; k++) b[k] += add[k];
    FCN_FREE(add);
    s = fcn__onnx_data_out(o, node, v->nd, v->dims, where);
    o->m.flat = flat;
    return s;
}

/* Sub/Add/Mul/Div by constant t before the first layer: fcn's input transform
   x' = (x - mean[c]) * scale, so a Sub (or Add) of the mean, then a Mul or Div by one scale. */
static fcn_status fcn__onnx_transform(fcn__onnx *o, const fcn__node *node, const fcn__tensor *t, const char *where)
{
    const fcn__val *v = &o->vals[o->head];
    int C = o->m.in_c, i, shift = fcn__str_eq(node->op, "Add") || fcn__str_eq(node->op, "Sub");
    int div = fcn__str_eq(node->op, "Div");
    float *x = FCN__CAST(float *, fcn__alloc((size_t)C, sizeof(float)));
    fcn_status s = FCN_OK;
    const char *order = "%s: the input transform must be one Sub (or Add) of the mean, then one Mul or Div by the scale";
    if (!x) return fcn__inomem(o->c);
    if (!fcn__onnx_per_channel(o, t, C, x))
        s = fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: an input transform must use a scalar or per-channel constant", where);
    else if (shift && (o->m.have_scale || o->m.nmean))
        s = fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, order, where);
    else if (shift) {
        for (i = 0; i < C; i++) o->m.mean[i] = fcn__str_eq(node->op, "Add") ? -x[i] : x[i];
        o->m.nmean = C;
    } else {
        for (i = 1; i < C && x[i] == x[0]; i++) {
        }
        if (i < C)
            s = fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: a per-channel scale is not supported (one scale for all channels)", where);
        else if (o->m.have_scale || (div && x[0] == 0.0f))
            s = fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, order, where);
        else {
            o->m.scale = div ? 1.0f / x[0] : x[0];
            o->m.have_scale = 1;
        }
    }
    FCN_FREE(x);
    if (s != FCN_OK) return s;
    if (!fcn__finite(o->m.scale)) return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: the input scale must be finite", where);
    for (i = 0; i < C; i++)
        if (!fcn__finite(o->m.mean[i])) return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: the input mean must be finite", where);
    return fcn__onnx_data_out(o, node, v->nd, v->dims, where);
}

/* Add, Sub, Mul, Div of the network's value and a constant: a bias or the input transform. */
static fcn_status fcn__op_arith(fcn__onnx *o, const fcn__node *node, const char *where)
{
    int di = node->nin > 1 && node->vin[1] >= 0 && o->vals[node->vin[1]].kind == FCN__VAL_DATA ? 1 : 0;
    int add = fcn__str_eq(node->op, "Add");
    fcn__tensor *t;
    fcn_status s;
    if (node->nin != 2) return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: expected 2 inputs", where);
    if ((s = fcn__onnx_data_in(o, node, di, where)) != FCN_OK) return s;
    if (!(t = fcn__onnx_const_in(o, node, 1 - di, where, "other operand", &s))) return s;
    if (add && o->bias_open && o->m.n > 0 && o->vals[o->head].layer == o->m.n) return fcn__onnx_bias_add(o, node, t, where);
    /* the transform comes first: not after a BatchNormalization waiting to fold */
    if (o->m.n == 0 && !o->m.aff.n && (di == 0 || add || fcn__str_eq(node->op, "Mul")))
        return fcn__onnx_transform(o, node, t, where);
    return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED,
                      "%s: only a bias Add right after Conv/MatMul, or Sub/Add/Mul/Div by a constant at the input "
                      "(the input transform), is supported",
                      where);
}

/* Appends a pointwise layer: the value keeps its ONNX shape. */
static fcn_status fcn__onnx_pointwise(fcn__onnx *o, const fcn__node *node, fcn_layer_type type, float slope, const char *where)
{
    const fcn__val *v = &o->vals[o->head];
    int flat = o->m.flat;
    fcn_layer d;
    fcn_status s;
    memset(&d, 0, sizeof d);
    d.type = type;
    d.slope = slope;
    if ((s = fcn__imp_add(&o->m, &d, NULL, NULL, where)) != FCN_OK) return s;
    s = fcn__onnx_data_out(o, node, v->nd, v->dims, where);
    o->m.flat = flat;
    return s;
}

/* An activation without attributes on the network's value. */
static fcn_status fcn__onnx_activation(fcn__onnx *o, const fcn__node *node, fcn_layer_type type, const char *where)
{
    fcn_status s = fcn__onnx_data_in(o, node, 0, where);
    return s != FCN_OK ? s : fcn__onnx_pointwise(o, node, type, 0.0f, where);
}

static fcn_status fcn__op_relu(fcn__onnx *o, const fcn__node *node, const char *where) { return fcn__onnx_activation(o, node, FCN_LAYER_RELU, where); }
static fcn_status fcn__op_tanh(fcn__onnx *o, const fcn__node *node, const char *where) { return fcn__onnx_activation(o, node, FCN_LAYER_TANH, where); }
static fcn_status fcn__op_sigmoid(fcn__onnx *o, const fcn__node *node, const char *where) { return fcn__onnx_activation(o, node, FCN_LAYER_SIGMOID, where); }

static fcn_status fcn__op_leaky_relu(fcn__onnx *o, const fcn__node *node, const char *where)
{
    fcn__attr a;
    fcn_status s;
    if ((s = fcn__onnx_data_in(o, node, 0, where)) != FCN_OK) return s;
    if ((s = fcn__onnx_attr(o->c, node, "alpha", &a, where)) != FCN_OK) return s;
    return fcn__onnx_pointwise(o, node, FCN_LAYER_RELU, a.found ? a.f : 0.01f, where);
}

static fcn_status fcn__op_softmax(fcn__onnx *o, const fcn__node *node, const char *where)
{
    const fcn__val *v = &o->vals[o->head];
    fcn__attr a;
    int64_t axis;
    fcn_status s;
    if ((s = fcn__onnx_data_in(o, node, 0, where)) != FCN_OK) return s;
    if ((s = fcn__onnx_attr(o->c, node, "axis", &a, where)) != FCN_OK) return s;
    axis = a.found ? a.i : (o->opset >= 13 ? -1 : 1);
    if (axis < 0) axis += v->nd;
    /* the class axis: 1 of (1, K) or of (1, K, 1, 1); before opset 13 axis 1 of
       (1, K, 1, 1) flattens to the same K values */
    if (!(axis == 1 && (v->nd == 2 || (v->nd == 4 && v->dims[2] == 1 && v->dims[3] == 1))))
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: softmax must be over the classes (axis 1 of a (1, K) value)", where);
    return fcn__onnx_pointwise(o, node, FCN_LAYER_SOFTMAX, 0.0f, where);
}

/* Flatten, Reshape, Squeeze and Unsqueeze of the network's value change its ONNX shape,
   not its memory; the batch (of 1) stays the first axis, on its own. */
static fcn_status fcn__op_flatten(fcn__onnx *o, const fcn__node *node, const char *where)
{
    const fcn__val *v = &o->vals[o->head];
    int64_t dims[2], axis, lead = 1, k;
    fcn__attr a;
    fcn_status s;
    if ((s = fcn__onnx_data_in(o, node, 0, where)) != FCN_OK) return s;
    if ((s = fcn__onnx_attr(o->c, node, "axis", &a, where)) != FCN_OK) return s;
    axis = a.found ? a.i : 1;
    if (axis < 0) axis += v->nd;
    if (axis < 0 || axis > v->nd) return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: axis %lld out of range", where, (long long)a.i);
    for (k = 0; k < axis; k++) lead *= v->dims[k];
    if (axis == 0 || lead != 1)
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: Flatten at axis %lld would put %s in the first axis; only a "
                          "Flatten that keeps the batch first (axis 1) is supported", where, (long long)a.i,
                          axis ? "other axes with the batch" : "everything");
    dims[0] = 1;
    dims[1] = (int64_t)fcn__imp_count(&o->m);
    return fcn__onnx_set_shape(o, node, 2, dims, where);
}

static fcn_status fcn__op_reshape(fcn__onnx *o, const fcn__node *node, const char *where)
{
    const fcn__val *v = &o->vals[o->head];
    int64_t dims[FCN__IMP_MAX_DIMS] = {0};
    int n = 2;
    char t1[64];
    fcn_status s;
    if ((s = fcn__onnx_data_in(o, node, 0, where)) != FCN_OK) return s;
    if ((s = fcn__onnx_reshape_dims(o, node, v->nd, v->dims, fcn__imp_count(&o->m), dims, &n, where)) != FCN_OK) return s;
    if (n < 1 || dims[0] != 1) {
        fcn__dims_text(t1, sizeof t1, n, dims);
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: Reshape to %s; the batch (of 1) must stay the first axis", where, t1);
    }
    return fcn__onnx_set_shape(o, node, n, dims, where);
}

/* The axes of a Squeeze or Unsqueeze (an attribute before opset 13, then input 1) into
   axes, *n of them (-1: none given). */
static fcn_status fcn__onnx_axes(fcn__onnx *o, const fcn__node *node, int64_t *axes, int *n, const char *where)
{
    fcn__tensor *t;
    fcn_status s = FCN_OK;
    if (node->nin < 2 || node->vin[1] < 0) return fcn__onnx_ints(o->c, node, "axes", axes, FCN__IMP_MAX_DIMS, n, where);
    if (!(t = fcn__onnx_const_in(o, node, 1, where, "axes", &s))) return s;
    if (!t->is_int || t->nd > 1 || t->count > FCN__IMP_MAX_DIMS)
        return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: the axes must be at most %d integers", where, FCN__IMP_MAX_DIMS);
    memcpy(axes, t->i, t->count * sizeof *axes);
    *n = (int)t->count;
    return FCN_OK;
}

/* Squeeze (unsqueeze 0) or Unsqueeze (1) of the network's value, never of axis 0. */
static fcn_status fcn__onnx_squeeze_data(fcn__onnx *o, const fcn__node *node, int unsqueeze, const char *where)
{
    const fcn__val *v = &o->vals[o->head];
    int64_t axes[FCN__IMP_MAX_DIMS], dims[FCN__IMP_MAX_DIMS];
    int na, k, j, r;
    char mark[FCN__IMP_MAX_DIMS];
    fcn_status s;
    if ((s = fcn__onnx_data_in(o, node, 0, where)) != FCN_OK) return s;
    if ((s = fcn__onnx_axes(o, node, axes, &na, where)) != FCN_OK) return s;
    if (na <= 0)
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: no axes: %s", where,
                          unsqueeze ? "nothing to insert" : "every axis of size 1 would go, the batch too");
    r = unsqueeze ? v->nd + na : v->nd; /* the rank the axes index */
    if (r > FCN__IMP_MAX_DIMS) return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: more than %d dimensions", where, FCN__IMP_MAX_DIMS);
    memset(mark, 0, sizeof mark);
    for (k = 0; k < na; k++) {
        int64_t x = axes[k] < 0 ? axes[k] + r : axes[k];
        if (x < 0 || x >= r || mark[x])
            return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: axis %lld out of range or repeated", where, (long long)axes[k]);
        if (x == 0) return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: axis 0, the batch's; the batch must stay the first axis", where);
        if (!unsqueeze && v->dims[x] != 1)
            return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: axis %lld has size %lld, not 1", where, (long long)axes[k], (long long)v->dims[x]);
        mark[x] = 1;
    }
    for (k = j = 0; k < (unsqueeze ? r : v->nd); k++) {
        if (unsqueeze) dims[k] = mark[k] ? 1 : v->dims[j++];
        else if (!mark[k]) dims[j++] = v->dims[k];
    }
    return fcn__onnx_set_shape(o, node, unsqueeze ? r : j, dims, where);
}

static fcn_status fcn__op_squeeze_data(fcn__onnx *o, const fcn__node *node, const char *where) { return fcn__onnx_squeeze_data(o, node, 0, where); }
static fcn_status fcn__op_unsqueeze_data(fcn__onnx *o, const fcn__node *node, const char *where) { return fcn__onnx_squeeze_data(o, node, 1, where); }

/* The pads of a Pad node over the value's nd axes into full (begin of each axis, then
   end of each): the pads attribute (before opset 11) or input 1, only on the axes of
   input 3 (opset 18) if given. */
static fcn_status fcn__onnx_pad_pads(fcn__onnx *o, const fcn__node *node, int nd, int64_t *full, const char *where)
{
    int64_t pads[2 * FCN__IMP_MAX_DIMS], axes[FCN__IMP_MAX_DIMS];
    int np, na = nd, k;
    fcn__tensor *t;
    fcn_status s = FCN_OK;
    if (node->nin > 1 && node->vin[1] >= 0) {
        if (!(t = fcn__onnx_const_in(o, node, 1, where, "pads", &s))) return s;
        if (!t->is_int || t->nd > 1 || t->count > 2 * FCN__IMP_MAX_DIMS)
            return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: the pads must be at most %d integers", where, 2 * FCN__IMP_MAX_DIMS);
        memcpy(pads, t->i, t->count * sizeof *pads);
        np = (int)t->count;
    } else if ((s = fcn__onnx_ints(o->c, node, "pads", pads, 2 * FCN__IMP_MAX_DIMS, &np, where)) != FCN_OK)
        return s;
    for (k = 0; k < nd; k++) axes[k] = k;
    if (node->nin > 3 && node->vin[3] >= 0) {
        if (!(t = fcn__onnx_const_in(o, node, 3, where, "axes", &s))) return s;
        if (!t->is_int || t->nd > 1 || t->count > (size_t)nd)
            return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: the axes must be at most %d integers", where, nd);
        na = (int)t->count;
        for (k = 0; k < na; k++) axes[k] = t->i[k] < 0 ? t->i[k] + nd : t->i[k];
    }
    if (np != 2 * na) return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: %d pads for %d axes", where, np < 0 ? 0 : np, na);
    memset(full, 0, 2 * (size_t)nd * sizeof *full);
    for (k = 0; k < na; k++) {
        if (axes[k] < 0 || axes[k] >= nd) return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: axis out of range", where);
        full[axes[k]] = pads[k];
        full[nd + axes[k]] = pads[na + k];
    }
    return FCN_OK;
}

/* Pad of the network's value, constant mode with value 0 (an attribute before opset 11,
   then input 2), on H and W only, none negative: zeros around the value. All pads 0: the
   value passes on. Else the pads wait for the next node, which must be a Conv or
   AveragePool (fcn__onnx_padded_in): they become its padding (fcn's padding is zeros,
   and an average pool's counts them, as count_include_pad). A Pad after a Pad adds to
   its pads (PyTorch: ZeroPad2d, then AvgPool2d's own Pad). */
static fcn_status fcn__op_pad(fcn__onnx *o, const fcn__node *node, const char *where)
{
    const fcn__val *v = &o->vals[o->head];
    int64_t full[2 * FCN__IMP_MAX_DIMS], dims[4], pre[4];
    float value = 0.0f;
    fcn__attr a;
    fcn__tensor *t;
    int k, any = 0, nd = v->nd, bias = o->bias_open, flat = o->m.flat;
    char b[72];
    fcn_status s = FCN_OK;
    if ((s = fcn__onnx_padded_in(o, node, where, pre)) != FCN_OK) return s;
    if ((s = fcn__onnx_attr(o->c, node, "mode", &a, where)) != FCN_OK) return s;
    if (a.found && !fcn__str_eq(a.s, "constant"))
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: mode '%s'; only constant padding (with zeros) is supported", where,
                          fcn__str_show(a.s, b, sizeof b));
    if (node->nin > 2 && node->vin[2] >= 0) {
        if (!(t = fcn__onnx_const_in(o, node, 2, where, "constant_value", &s))) return s;
        if (t->count != 1) return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: constant_value must be one value", where);
        value = t->is_int ? (float)t->i[0] : t->f[0];
    } else if ((s = fcn__onnx_attr(o->c, node, "value", &a, where)) != FCN_OK)
        return s;
    else if (a.found)
        value = a.f;
    if (value != 0.0f)
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: padding with %g; only zeros are supported", where, (double)value);
    if ((s = fcn__onnx_pad_pads(o, node, nd, full, where)) != FCN_OK) return s;
    for (k = 0; k < 2 * nd; k++) {
        if (full[k] < 0 || full[k] > FCN__MAX_PATCH)
            return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: pad %lld (only 0 to %d: a negative pad crops)", where,
                              (long long)full[k], FCN__MAX_PATCH);
        if (full[k] && (nd != 4 || k % nd < 2))
            return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: pads on %s; only on the height and width of an N x C x H x W value",
                              where, nd != 4 ? "a value that is not 4-D" : k % nd ? "the channels" : "the batch");
        any |= full[k] != 0;
    }
    if (any && o->m.flat) return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: Pad of a flattened value", where);
    memcpy(dims, v->dims, sizeof dims);
    if (any) {
        dims[2] += full[2] + full[6];
        dims[3] += full[3] + full[7];
    }
    if ((s = fcn__onnx_data_out(o, node, nd, any ? dims : v->dims, where)) != FCN_OK) return s;
    o->m.flat = flat;
    o->bias_open = bias && !any && !(pre[0] || pre[1] || pre[2] || pre[3]);
    if (any || pre[0] || pre[1] || pre[2] || pre[3]) {
        o->pad_open = 1;
        o->pad[0] = pre[0] + full[2];
        o->pad[1] = pre[1] + full[3];
        o->pad[2] = pre[2] + full[6];
        o->pad[3] = pre[3] + full[7];
        if (any) snprintf(o->pad_where, sizeof o->pad_where, "%s", where);
    }
    return FCN_OK;
}

/* BatchNormalization in inference form, y = scale (x - mean) / sqrt(var + epsilon) + B
   over axis 1: a per-channel affine folded into a conv or fc layer (fcn__imp_affine).
   Training mode (statistics of the batch itself) is refused: training_mode 1 (opset
   14), or its running statistics as outputs (before). */
static fcn_status fcn__op_batchnorm(fcn__onnx *o, const fcn__node *node, const char *where)
{
    static const char *const names[4] = {"scale", "B", "mean", "var"};
    const fcn__val *v = &o->vals[o->head];
    fcn__tensor *t[4];
    fcn__attr a;
    double eps = 1e-5f, *ab; /* epsilon is a float attribute: its default as a float */
    int k, C, flat = o->m.flat;
    fcn_status s = FCN_OK;
    if ((s = fcn__onnx_data_in(o, node, 0, where)) != FCN_OK) return s;
    if (v->nd < 2) return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: its input has no channel axis", where);
    C = (int)v->dims[1];
    for (k = 0; k < 4; k++) {
        if (!(t[k] = fcn__onnx_const_in(o, node, k + 1, where, names[k], &s))) return s;
        if (t[k]->is_int || t[k]->count != (size_t)C)
            return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: its %s has %lu values for %d channels", where, names[k],
                              (unsigned long)t[k]->count, C);
    }
    if ((s = fcn__onnx_attr(o->c, node, "training_mode", &a, where)) != FCN_OK) return s;
    for (k = 1; k < node->nout && !(a.found && a.i); k++)
        if (node->out[k].n) a.found = a.i = 1;
    if (a.found && a.i)
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: training mode (it would normalise with the statistics of the "
                          "batch): export the model in eval mode", where);
    if ((s = fcn__onnx_attr(o->c, node, "spatial", &a, where)) != FCN_OK) return s;
    if (a.found && a.i == 0)
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: spatial 0 (statistics per value, not per channel)", where);
    if ((s = fcn__onnx_attr(o->c, node, "epsilon", &a, where)) != FCN_OK) return s;
    if (a.found) eps = a.f;
    if (!(ab = FCN__CAST(double *, fcn__alloc(2 * (size_t)C, sizeof(double))))) return fcn__inomem(o->c);
    for (k = 0; k < C && s == FCN_OK; k++) {
        double var = (double)t[3]->f[k] + eps;
        if (!(var > 0.0) || !fcn__finite(t[0]->f[k]) || !fcn__finite(t[1]->f[k]) || !fcn__finite(t[2]->f[k]) ||
            !(var < 1e300))
            s = fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: channel %d: not finite, or var + epsilon not positive", where, k);
        ab[k] = t[0]->f[k] / sqrt(var);
        ab[C + k] = t[1]->f[k] - t[2]->f[k] * ab[k];
    }
    if (s == FCN_OK) s = fcn__imp_affine(&o->m, C, ab, ab + C, where);
    FCN_FREE(ab);
    if (s != FCN_OK) return s;
    s = fcn__onnx_data_out(o, node, v->nd, v->dims, where);
    o->m.flat = flat;
    return s;
}

/* ---- the table ---- */

/* An op by name: its handler when an input is the network's data, and when every input
   is a constant (the op is then folded while loading). NULL: refused. */
typedef struct fcn__onnx_op_row {
    const char *name;
    fcn__onnx_op on_data, on_consts;
} fcn__onnx_op_row;

static const fcn__onnx_op_row fcn__onnx_ops[] = {
    {"Conv", fcn__op_conv, NULL},
    {"MaxPool", fcn__op_maxpool, NULL},
    {"AveragePool", fcn__op_avgpool, NULL},
    {"GlobalMaxPool", fcn__op_global_maxpool, NULL},
    {"GlobalAveragePool", fcn__op_global_avgpool, NULL},
    {"Gemm", fcn__op_gemm, NULL},
    {"MatMul", fcn__op_matmul, NULL},
    {"Add", fcn__op_arith, NULL},
    {"Sub", fcn__op_arith, NULL},
    {"Mul", fcn__op_arith, NULL},
    {"Div", fcn__op_arith, NULL},
    {"Relu", fcn__op_relu, NULL},
    {"LeakyRelu", fcn__op_leaky_relu, NULL},
    {"Tanh", fcn__op_tanh, NULL},
    {"Sigmoid", fcn__op_sigmoid, NULL},
    {"Softmax", fcn__op_softmax, NULL},
    {"Pad", fcn__op_pad, NULL},
    {"BatchNormalization", fcn__op_batchnorm, NULL},
    {"Flatten", fcn__op_flatten, fcn__op_flatten_const},
    {"Reshape", fcn__op_reshape, fcn__op_reshape_const},
    {"Dropout", fcn__op_dropout, fcn__op_dropout},
    {"Identity", fcn__op_identity, fcn__op_identity},
    {"Constant", fcn__op_constant, fcn__op_constant},
    {"Shape", fcn__op_shape, fcn__op_shape},
    {"Gather", NULL, fcn__op_gather},
    {"Unsqueeze", fcn__op_unsqueeze_data, fcn__op_unsqueeze},
    {"Squeeze", fcn__op_squeeze_data, fcn__op_squeeze},
    {"Concat", NULL, fcn__op_concat},
    {"Cast", NULL, fcn__op_cast},
    {"ConstantOfShape", NULL, fcn__op_constant_of_shape},
    {"Slice", NULL, fcn__op_slice},
    {"Transpose", NULL, fcn__op_transpose},
};

/* Reads node idx through the table (nodes come in dependency order: its inputs are set). */
static fcn_status fcn__onnx_node(fcn__onnx *o, int idx)
{
    const fcn__node *node = &o->nodes[idx];
    fcn__onnx_op handler = NULL;
    char where[200], b[72];
    int k, has_data = 0;
    size_t i;
    fcn__node_where(node, idx, where, sizeof where);
    if (node->domain.n && !fcn__str_eq(node->domain, "ai.onnx"))
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: op of a custom domain is not supported", where);
    for (k = 0; k < node->nin; k++) {
        const fcn__val *v = node->vin[k] >= 0 ? &o->vals[node->vin[k]] : NULL;
        if (v && v->kind == FCN__VAL_NONE)
            return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: input '%s' has no value here (an unused output such as a mask or indices)",
                              where, fcn__str_show(v->name, b, sizeof b));
        if (v && v->kind == FCN__VAL_DATA) has_data = 1;
    }
    for (i = 0; i < sizeof fcn__onnx_ops / sizeof fcn__onnx_ops[0]; i++)
        if (fcn__str_eq(node->op, fcn__onnx_ops[i].name)) {
            handler = has_data ? fcn__onnx_ops[i].on_data : fcn__onnx_ops[i].on_consts;
            break;
        }
    if (handler) return handler(o, node, where);
    if (has_data) return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: op not supported", where);
    return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "%s: this op on constants is not supported", where);
}

/* >>onnx-graph
   A ModelProto step by step: the header (IR version, opset), then the graph: counts and
   allocation, initializers, the input, the nodes and their outputs, the dependency order
   (exporters need not write nodes in order), every node through the op table, and last
   the output, which must be the end of the chain. */

/* A TensorShapeProto: its dims (-1 for a dynamic one) into dims, their number into *nd. */
static fcn_status fcn__onnx_shape(fcn__ictx *c, const unsigned char *p, size_t n, int *nd, int64_t *dims, const char *where)
{
    fcn__pb r = fcn__pb_of(p, n), u;
    fcn__pbf e, x;
    const char *why = NULL;
    int rc;
    *nd = 0;
    while ((rc = fcn__pb_next(&r, &e, &why)) > 0) {
        int64_t v = -1;
        if (e.num != 1 || e.wt != 2) continue; /* dim */
        u = fcn__pb_of(e.data, e.len);
        while ((rc = fcn__pb_next(&u, &x, &why)) > 0)
            if (x.num == 1 && x.wt == 0) v = (int64_t)x.v; /* dim_value; dim_param leaves it dynamic */
        if (rc < 0) return fcn__pb_bad(c, where, why);
        if (*nd >= FCN__IMP_MAX_DIMS) return fcn__ifail(c, FCN_ERR_UNSUPPORTED, "%s: too many dimensions", where);
        dims[(*nd)++] = v;
    }
    if (rc < 0) return fcn__pb_bad(c, where, why);
    return FCN_OK;
}

/* A TypeProto: the element type and shape of its tensor_type (*nd stays -1 without one). */
static fcn_status fcn__onnx_type(fcn__ictx *c, const unsigned char *p, size_t n, int *nd, int64_t *dims, int *elem,
                                 const char *where)
{
    fcn__pb r = fcn__pb_of(p, n), q;
    fcn__pbf g, h;
    const char *why = NULL;
    fcn_status s;
    int rc;
    while ((rc = fcn__pb_next(&r, &g, &why)) > 0) {
        if (g.num != 1 || g.wt != 2) continue; /* tensor_type */
        q = fcn__pb_of(g.data, g.len);
        while ((rc = fcn__pb_next(&q, &h, &why)) > 0) {
            if (h.num == 1 && h.wt == 0) *elem = (int)h.v;
            if (h.num == 2 && h.wt == 2 && (s = fcn__onnx_shape(c, h.data, h.len, nd, dims, where)) != FCN_OK) return s;
        }
        if (rc < 0) return fcn__pb_bad(c, where, why);
    }
    if (rc < 0) return fcn__pb_bad(c, where, why);
    return FCN_OK;
}

/* A ValueInfoProto: its name and, for the graph input, the element type and shape. */
static fcn_status fcn__onnx_valueinfo(fcn__ictx *c, const unsigned char *p, size_t n, fcn__str *name, int *nd,
                                      int64_t *dims, int *elem, const char *where)
{
    fcn__pb r = fcn__pb_of(p, n);
    fcn__pbf f;
    const char *why = NULL;
    fcn_status s;
    int rc;
    *name = fcn__str_of(NULL, 0);
    *nd = -1;
    *elem = 0;
    while ((rc = fcn__pb_next(&r, &f, &why)) > 0) {
        if (f.num == 1) {
            if ((s = fcn__pb_want(c, &f, 2, where)) != FCN_OK) return s;
            *name = fcn__str_of(f.data, f.len);
        } else if (f.num == 2 && f.wt == 2 && (s = fcn__onnx_type(c, f.data, f.len, nd, dims, elem, where)) != FCN_OK)
            return s;
    }
    if (rc < 0) return fcn__pb_bad(c, where, why);
    return FCN_OK;
}

/* A NodeProto: inputs, outputs, name, op_type, domain (attributes are read by the ops). */
static fcn_status fcn__onnx_node_parse(fcn__ictx *c, const unsigned char *p, size_t n, fcn__node *node, const char *where)
{
    fcn__pb r = fcn__pb_of(p, n);
    fcn__pbf f;
    const char *why = NULL;
    fcn_status s;
    int rc;
    memset(node, 0, sizeof *node);
    node->p = p;
    node->n = n;
    while ((rc = fcn__pb_next(&r, &f, &why)) > 0) {
        if (((f.num >= 1 && f.num <= 5) || f.num == 7) && (s = fcn__pb_want(c, &f, 2, where)) != FCN_OK) return s;
        switch (f.num) {
        case 1:
            if (node->nin >= 16) return fcn__ifail(c, FCN_ERR_UNSUPPORTED, "%s: more than 16 inputs", where);
            node->in[node->nin++] = fcn__str_of(f.data, f.len);
            break;
        case 2:
            if (node->nout >= 8) return fcn__ifail(c, FCN_ERR_UNSUPPORTED, "%s: more than 8 outputs", where);
            node->out[node->nout++] = fcn__str_of(f.data, f.len);
            break;
        case 3: node->name = fcn__str_of(f.data, f.len); break;
        case 4: node->op = fcn__str_of(f.data, f.len); break;
        case 7: node->domain = fcn__str_of(f.data, f.len); break;
        default: break;
        }
    }
    if (rc < 0) return fcn__pb_bad(c, where, why);
    return FCN_OK;
}

/* Counts the graph's nodes, initializers and inputs (each must be a message) and
   allocates the nodes and values for them. */
static fcn_status fcn__onnx_alloc(fcn__onnx *o, const unsigned char *gp, size_t gn)
{
    fcn__ictx *c = o->c;
    fcn__pb r = fcn__pb_of(gp, gn);
    fcn__pbf f;
    const char *why = NULL;
    int rc, i, ninit = 0, nin = 0, nout = 0;
    char where[160];
    while ((rc = fcn__pb_next(&r, &f, &why)) > 0) {
        if ((f.num == 1 || f.num == 5 || f.num == 11 || f.num == 12) && f.wt != 2) {
            snprintf(where, sizeof where, "graph: %s %d", f.num == 1 ? "node" : f.num == 5 ? "initializer" : "input/output",
                     (f.num == 1 ? o->nn : f.num == 5 ? ninit : nin) + 1);
            return fcn__pb_want(c, &f, 2, where);
        }
        if (f.num == 1) o->nn++;
        else if (f.num == 5) ninit++;
        else if (f.num == 11) nin++;
        else if (f.num == 12) nout++;
        else if (f.num == 15) return fcn__ifail(c, FCN_ERR_UNSUPPORTED, "graph: sparse initializers are not supported");
    }
    if (rc < 0) return fcn__pb_bad(c, "graph", why);
    if (o->nn > FCN__IMP_MAX_NODES || ninit > FCN__IMP_MAX_NODES || nin > FCN__IMP_MAX_NODES)
        return fcn__ifail(c, FCN_ERR_UNSUPPORTED, "graph: more than %d nodes, initializers or inputs", FCN__IMP_MAX_NODES);
    if (o->nn == 0) return fcn__ifail(c, FCN_ERR_FORMAT, "graph: no nodes");
    if (nout != 1) return fcn__ifail(c, FCN_ERR_UNSUPPORTED, "graph: %d outputs, expected 1 (the class scores)", nout);
    o->nodes = FCN__CAST(fcn__node *, fcn__alloc((size_t)o->nn, sizeof(fcn__node)));
    o->vcap = o->nn * 8 + ninit + nin + 1; /* at most 8 outputs a node */
    o->vals = FCN__CAST(fcn__val *, fcn__alloc((size_t)o->vcap, sizeof(fcn__val)));
    for (o->hcap = 16; o->hcap < (size_t)o->vcap * 2; o->hcap *= 2) {
    }
    o->hash = FCN__CAST(int *, fcn__alloc(o->hcap, sizeof(int)));
    if (!o->nodes || !o->vals || !o->hash) return fcn__inomem(c);
    for (i = 0; i < (int)o->hcap; i++) o->hash[i] = -1;
    return FCN_OK;
}

/* Initializers become constant values, and the graph output's name is noted: one pass in
   file order, so that the fault reported is the first in the file. */
static fcn_status fcn__onnx_read_initializers(fcn__onnx *o, const unsigned char *gp, size_t gn, fcn__str *outname)
{
    fcn__ictx *c = o->c;
    fcn__pb r = fcn__pb_of(gp, gn);
    fcn__pbf f;
    const char *why = NULL;
    int k = 0;
    fcn_status st;
    char b[72], where[160];
    *outname = fcn__str_of(NULL, 0);
    while (fcn__pb_next(&r, &f, &why) > 0) {
        if (f.num == 5) {
            fcn__tensor *t;
            fcn__str nm;
            int v;
            snprintf(where, sizeof where, "graph: initializer %d", ++k);
            if ((st = fcn__pb_want(c, &f, 2, where)) != FCN_OK) return st;
            if ((st = fcn__onnx_tensor(c, f.data, f.len, where, &t, &nm)) != FCN_OK) return st;
            if ((v = fcn__onnx_addval(o, nm, -1)) < 0) {
                fcn__tensor_free(t);
                return fcn__ifail(c, FCN_ERR_FORMAT, "graph: initializer '%s' is defined twice", fcn__str_show(nm, b, sizeof b));
            }
            o->vals[v].kind = FCN__VAL_CONST;
            o->vals[v].t = t;
        } else if (f.num == 12) {
            int e, nd;
            int64_t dims[FCN__IMP_MAX_DIMS];
            if ((st = fcn__pb_want(c, &f, 2, "graph output")) != FCN_OK) return st;
            if ((st = fcn__onnx_valueinfo(c, f.data, f.len, outname, &nd, dims, &e, "graph output")) != FCN_OK) return st;
        }
    }
    return FCN_OK;
}

/* The input value: a float N x C x H x W patch, N 1 or dynamic, C, H, W fixed; it is the
   network's data, the first head. */
static fcn_status fcn__onnx_input_shape(fcn__onnx *o, int input, int nd, const int64_t *dims, int elem)
{
    fcn__ictx *c = o->c;
    fcn__val *v = &o->vals[input];
    char b[72];
    int k;
    fcn__str_show(v->name, b, sizeof b);
    if (elem != 1) return fcn__ifail(c, FCN_ERR_UNSUPPORTED, "graph input '%s': element type %d, expected float (1)", b, elem);
    if (nd != 4)
        return fcn__ifail(c, FCN_ERR_UNSUPPORTED, "graph input '%s': %s; expected a 4-D N x C x H x W shape", b,
                          nd < 0 ? "no shape" : "not 4-D");
    if (dims[0] > 1)
        return fcn__ifail(c, FCN_ERR_UNSUPPORTED, "graph input '%s': batch %lld; export with batch 1 or a dynamic batch", b,
                          (long long)dims[0]);
    for (k = 1; k < 4; k++)
        if (dims[k] < 1 || dims[k] > (k == 1 ? FCN__MAX_MAPS : FCN__MAX_PATCH))
            return fcn__ifail(c, FCN_ERR_UNSUPPORTED, "graph input '%s': dimension %d is %s", b, k,
                              dims[k] < 1 ? "dynamic or not positive (the patch size must be fixed)" : "too large");
    fcn__imp_input(&o->m, (int)dims[1], (int)dims[2], (int)dims[3]);
    o->m.mean = FCN__CAST(float *, fcn__alloc((size_t)o->m.in_c, sizeof(float)));
    if (!o->m.mean) return fcn__inomem(c);
    memset(o->m.mean, 0, (size_t)o->m.in_c * sizeof(float));
    v->kind = FCN__VAL_DATA;
    v->nd = 4;
    v->dims[0] = 1;
    for (k = 1; k < 4; k++) v->dims[k] = dims[k];
    o->head = input;
    return FCN_OK;
}

/* The one graph input that is not an initializer (files before IR 4 list the
   initializers among the inputs too). */
static fcn_status fcn__onnx_read_input(fcn__onnx *o, const unsigned char *gp, size_t gn)
{
    fcn__ictx *c = o->c;
    fcn__pb r = fcn__pb_of(gp, gn);
    fcn__pbf f;
    const char *why = NULL;
    int input = -1, in_nd = -1, in_elem = 0;
    int64_t in_dims[FCN__IMP_MAX_DIMS];
    fcn_status st;
    char b[72];
    while (fcn__pb_next(&r, &f, &why) > 0) {
        fcn__str nm;
        int64_t dims[FCN__IMP_MAX_DIMS];
        int nd, e;
        if (f.num != 11) continue;
        if ((st = fcn__pb_want(c, &f, 2, "graph input")) != FCN_OK) return st;
        if ((st = fcn__onnx_valueinfo(c, f.data, f.len, &nm, &nd, dims, &e, "graph input")) != FCN_OK) return st;
        if (fcn__onnx_find(o, nm) >= 0) continue;
        if (input >= 0)
            return fcn__ifail(c, FCN_ERR_UNSUPPORTED, "graph: more than one input ('%s' and another); a patch classifier has one",
                              fcn__str_show(nm, b, sizeof b));
        input = fcn__onnx_addval(o, nm, -1);
        if (input < 0) return fcn__ifail(c, FCN_ERR_FORMAT, "graph: input '%s' is defined twice", fcn__str_show(nm, b, sizeof b));
        in_nd = nd;
        in_elem = e;
        if (nd > 0) memcpy(in_dims, dims, (size_t)nd * sizeof *dims);
    }
    if (input < 0) return fcn__ifail(c, FCN_ERR_FORMAT, "graph: no input (every graph input is an initializer)");
    return fcn__onnx_input_shape(o, input, in_nd, in_dims, in_elem);
}

/* Parses the nodes; each output gets its value (a name is produced once). */
static fcn_status fcn__onnx_read_nodes(fcn__onnx *o, const unsigned char *gp, size_t gn)
{
    fcn__ictx *c = o->c;
    fcn__pb r = fcn__pb_of(gp, gn);
    fcn__pbf f;
    const char *why = NULL;
    int i = 0, k;
    fcn_status st;
    char b[72], where[160];
    while (fcn__pb_next(&r, &f, &why) > 0) {
        fcn__node *node;
        if (f.num != 1) continue;
        node = &o->nodes[i];
        snprintf(where, sizeof where, "graph: node %d", i + 1);
        if ((st = fcn__pb_want(c, &f, 2, where)) != FCN_OK) return st;
        if ((st = fcn__onnx_node_parse(c, f.data, f.len, node, where)) != FCN_OK) return st;
        fcn__node_where(node, i, where, sizeof where);
        if (node->op.n == 0) return fcn__ifail(c, FCN_ERR_FORMAT, "%s: no op_type", where);
        for (k = 0; k < node->nout; k++) {
            node->vout[k] = -1;
            if (node->out[k].n == 0) continue; /* an omitted optional output */
            node->vout[k] = fcn__onnx_addval(o, node->out[k], i);
            if (node->vout[k] < 0)
                return fcn__ifail(c, FCN_ERR_FORMAT, "%s: output '%s' is also produced elsewhere (or is an input)", where,
                                  fcn__str_show(node->out[k], b, sizeof b));
        }
        i++;
    }
    return FCN_OK;
}

/* Which node waits for which: Kahn's topological order over the nodes. */
typedef struct fcn__onnx_deps {
    int *indeg;  /* per node: its inputs that other nodes have not computed yet */
    int *queue;  /* the nodes ready to run, in order */
    int *estart; /* node u's consumers are edges[estart[u] .. estart[u + 1]) */
    int *edges;
} fcn__onnx_deps;

static void fcn__onnx_deps_free(fcn__onnx_deps *g)
{
    FCN_FREE(g->indeg);
    FCN_FREE(g->queue);
    FCN_FREE(g->estart);
    FCN_FREE(g->edges);
}

/* Links each node input to its value, and each node to the nodes that read its outputs. */
static fcn_status fcn__onnx_link(fcn__onnx *o, fcn__onnx_deps *g)
{
    int i, k, nn = o->nn, *fill;
    char b[72], where[160];
    g->indeg = FCN__CAST(int *, fcn__alloc((size_t)nn, sizeof(int)));
    g->queue = FCN__CAST(int *, fcn__alloc((size_t)nn, sizeof(int)));
    g->estart = FCN__CAST(int *, fcn__alloc((size_t)nn + 1, sizeof(int)));
    g->edges = FCN__CAST(int *, fcn__alloc((size_t)nn * 16 + 1, sizeof(int))); /* 16 inputs a node at most */
    if (!g->indeg || !g->queue || !g->estart || !g->edges) return fcn__inomem(o->c);
    memset(g->indeg, 0, (size_t)nn * sizeof(int));
    memset(g->estart, 0, ((size_t)nn + 1) * sizeof(int));
    for (i = 0; i < nn; i++) {
        fcn__node *node = &o->nodes[i];
        for (k = 0; k < node->nin; k++) {
            node->vin[k] = -1;
            if (node->in[k].n == 0) continue; /* an omitted optional input */
            node->vin[k] = fcn__onnx_find(o, node->in[k]);
            if (node->vin[k] < 0) {
                fcn__node_where(node, i, where, sizeof where);
                return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: input '%s' is not produced by any node, initializer or graph input",
                                  where, fcn__str_show(node->in[k], b, sizeof b));
            }
            if (o->vals[node->vin[k]].producer >= 0) {
                g->indeg[i]++;
                g->estart[o->vals[node->vin[k]].producer + 1]++;
            }
        }
    }
    for (i = 0; i < nn; i++) g->estart[i + 1] += g->estart[i];
    fill = g->queue; /* borrowed as each node's next free edge until the order starts */
    for (i = 0; i < nn; i++) fill[i] = g->estart[i];
    for (i = 0; i < nn; i++)
        for (k = 0; k < o->nodes[i].nin; k++) {
            int v = o->nodes[i].vin[k];
            if (v >= 0 && o->vals[v].producer >= 0) g->edges[fill[o->vals[v].producer]++] = i;
        }
    return FCN_OK;
}

/* Reads every node once all its inputs are known; a node that never gets there is in a cycle. */
static fcn_status fcn__onnx_run(fcn__onnx *o, fcn__onnx_deps *g)
{
    int i, k, qh = 0, qt = 0;
    char where[160];
    fcn_status st;
    for (i = 0; i < o->nn; i++)
        if (g->indeg[i] == 0) g->queue[qt++] = i;
    while (qh < qt) {
        int u = g->queue[qh++];
        if ((st = fcn__onnx_node(o, u)) != FCN_OK) return st;
        for (k = g->estart[u]; k < g->estart[u + 1]; k++)
            if (--g->indeg[g->edges[k]] == 0) g->queue[qt++] = g->edges[k];
    }
    if (qt == o->nn) return FCN_OK;
    for (i = 0; i < o->nn && g->indeg[i] == 0; i++) {
    }
    fcn__node_where(&o->nodes[i], i, where, sizeof where);
    return fcn__ifail(o->c, FCN_ERR_FORMAT, "%s: the graph has a cycle (this node depends on its own output)", where);
}

/* The graph output must be what the chain ends with. */
static fcn_status fcn__onnx_output(fcn__onnx *o, fcn__str outname)
{
    char b[72], h[72];
    int ov = fcn__onnx_find(o, outname);
    if (ov < 0)
        return fcn__ifail(o->c, FCN_ERR_FORMAT, "graph output '%s' is not produced by any node", fcn__str_show(outname, b, sizeof b));
    if (ov != o->head)
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "graph output '%s' is not the end of the chain of layers ('%s')",
                          fcn__str_show(outname, b, sizeof b), fcn__str_show(o->vals[o->head].name, h, sizeof h));
    return FCN_OK;
}

/* A GraphProto into an fcn_net. */
static fcn_status fcn__onnx_graph(fcn__onnx *o, const unsigned char *gp, size_t gn, fcn_net **out)
{
    fcn__onnx_deps g;
    fcn__str outname;
    fcn_status st;
    memset(&g, 0, sizeof g);
    if ((st = fcn__onnx_alloc(o, gp, gn)) != FCN_OK) return st;
    if ((st = fcn__onnx_read_initializers(o, gp, gn, &outname)) != FCN_OK) return st;
    if ((st = fcn__onnx_read_input(o, gp, gn)) != FCN_OK) return st;
    if ((st = fcn__onnx_read_nodes(o, gp, gn)) != FCN_OK) return st;
    st = fcn__onnx_link(o, &g);
    if (st == FCN_OK) st = fcn__onnx_run(o, &g);
    if (st == FCN_OK) st = fcn__onnx_output(o, outname);
    if (st == FCN_OK) st = fcn__imp_finish(&o->m, out);
    fcn__onnx_deps_free(&g);
    return st;
}

/* An OperatorSetIdProto: the version of the default domain ('' or ai.onnx) is the opset. */
static fcn_status fcn__onnx_opset_import(fcn__onnx *o, const fcn__pbf *f)
{
    fcn__pb q = fcn__pb_of(f->data, f->len);
    fcn__pbf g;
    fcn__str dom = fcn__str_of(NULL, 0);
    int64_t ver = -1;
    const char *why = NULL;
    fcn_status st;
    int rc;
    if ((st = fcn__pb_want(o->c, f, 2, "ModelProto.opset_import")) != FCN_OK) return st;
    while ((rc = fcn__pb_next(&q, &g, &why)) > 0) {
        if (g.num == 1 && g.wt == 2) dom = fcn__str_of(g.data, g.len);
        if (g.num == 2 && g.wt == 0) ver = (int64_t)g.v;
    }
    if (rc < 0) return fcn__pb_bad(o->c, "opset_import", why);
    if (dom.n == 0 || fcn__str_eq(dom, "ai.onnx")) o->opset = ver > INT_MAX ? INT_MAX : (int)ver;
    return FCN_OK;
}

/* A ModelProto's header: IR version and opset checked, *graph the GraphProto's bytes. */
static fcn_status fcn__onnx_model(fcn__onnx *o, const unsigned char *p, size_t n, fcn__str *graph)
{
    fcn__pb r = fcn__pb_of(p, n);
    fcn__pbf f;
    const char *why = NULL;
    int rc, ngraph = 0;
    int64_t ir = -1;
    fcn_status st;
    while ((rc = fcn__pb_next(&r, &f, &why)) > 0) {
        if (f.num == 1) {
            if ((st = fcn__pb_want(o->c, &f, 0, "ModelProto.ir_version")) != FCN_OK) return st;
            ir = (int64_t)f.v;
        } else if (f.num == 7) {
            if ((st = fcn__pb_want(o->c, &f, 2, "ModelProto.graph")) != FCN_OK) return st;
            *graph = fcn__str_of(f.data, f.len);
            ngraph++;
        } else if (f.num == 8 && (st = fcn__onnx_opset_import(o, &f)) != FCN_OK)
            return st;
    }
    if (rc < 0) return fcn__pb_bad(o->c, "ModelProto", why);
    if (ir < 0 || ngraph == 0)
        return fcn__ifail(o->c, FCN_ERR_FORMAT, "not an ONNX model (%s)", ir < 0 ? "no ir_version" : "no graph");
    if (ir < 3) return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "ONNX IR version %lld; IR 3 and later are supported", (long long)ir);
    if (o->opset < FCN__ONNX_MIN_OPSET || o->opset > FCN__ONNX_MAX_OPSET)
        return fcn__ifail(o->c, FCN_ERR_UNSUPPORTED, "ONNX opset %d; opsets %d to %d are supported", o->opset,
                          FCN__ONNX_MIN_OPSET, FCN__ONNX_MAX_OPSET);
    return FCN_OK;
}

FCNDEF fcn_status fcn_net_load_onnx_memory(const void *data, size_t size, const char *name, fcn_net **out, fcn_error *err)
{
    fcn__ictx c;
    fcn__onnx o;
    fcn__str graph = fcn__str_of(NULL, 0);
    fcn_status st;
    if (!out) return fcn__fail(err, FCN_ERR_ARG, "fcn_net_load_onnx_memory: out is NULL");
    *out = NULL;
    if (!data && size) return fcn__fail(err, FCN_ERR_ARG, "fcn_net_load_onnx_memory: data is NULL");
    c.name = name ? name : "onnx model";
    c.err = err;
    memset(&o, 0, sizeof o);
    o.c = &c;
    o.m.c = &c;
    o.m.scale = 1.0f;
    o.opset = -1;
    st = fcn__onnx_model(&o, FCN__CAST(const unsigned char *, data), size, &graph);
    if (st == FCN_OK) st = fcn__onnx_graph(&o, graph.p, graph.n, out);
    fcn__onnx_free(&o);
    if (st == FCN_OK) fcn__ok(err);
    return st;
}

FCNDEF fcn_status fcn_net_load_onnx(const char *path, fcn_net **out, fcn_error *err)
{
    unsigned char *buf;
    size_t n;
    fcn_status st;
    if (!path || !out) return fcn__fail(err, FCN_ERR_ARG, "fcn_net_load_onnx: path or out is NULL");
    *out = NULL;
    if ((st = fcn__read_file(path, &buf, &n, err)) != FCN_OK) return st;
    st = fcn_net_load_onnx_memory(buf, n, path, out, err);
    FCN_FREE(buf);
    return st;
}

/* >>caffe
   The caffemodel's blobs (found by layer name, as Caffe finds them) and the prototxt's
   layer fields. */

/* A BlobProto's data (float or double, packed or not) and its shape for messages. */
typedef struct fcn__blob {
    int nd;
    int64_t dims[FCN__IMP_MAX_DIMS];
    size_t count;
    const unsigned char *p; /* the message */
    size_t n;
} fcn__blob;

static fcn_status fcn__caffe_blob(fcn__ictx *c, const unsigned char *p, size_t n, fcn__blob *b, const char *where)
{
    fcn__pb r = fcn__pb_of(p, n), q;
    fcn__pbf f, g;
    const char *why = NULL;
    int rc, legacy[4] = {0, 0, 0, 0}, has_legacy = 0, has_shape = 0, k;
    fcn_status s;
    memset(b, 0, sizeof *b);
    b->p = p;
    b->n = n;
    while ((rc = fcn__pb_next(&r, &f, &why)) > 0) {
        switch (f.num) {
        case 1: case 2: case 3: case 4: /* num, channels, height, width (before BlobShape) */
            if ((s = fcn__pb_want(c, &f, 0, where)) != FCN_OK) return s;
            legacy[f.num - 1] = (int)(int32_t)f.v;
            has_legacy = 1;
            break;
        case 5: /* data */
        case 8: /* double_data */
            if ((s = fcn__pb_count(c, &f, f.num == 5 ? 'f' : 'd', &b->count, where)) != FCN_OK) return s;
            break;
        case 7: /* BlobShape */
            if ((s = fcn__pb_want(c, &f, 2, where)) != FCN_OK) return s;
            has_shape = 1;
            b->nd = 0;
            q = fcn__pb_of(f.data, f.len);
            while ((rc = fcn__pb_next(&q, &g, &why)) > 0)
                if (g.num == 1 && (s = fcn__pb_dims(c, &g, b->dims, &b->nd, where)) != FCN_OK) return s;
            if (rc < 0) return fcn__pb_bad(c, where, why);
            break;
        default: break;
        }
    }
    if (rc < 0) return fcn__pb_bad(c, where, why);
    if (!has_shape && has_legacy) {
        b->nd = 4;
        for (k = 0; k < 4; k++) b->dims[k] = legacy[k];
    }
    return FCN_OK;
}

/* Reads blob b's values into out (b->count of them). */
static void fcn__caffe_blob_data(const fcn__blob *b, float *out)
{
    fcn__pb r = fcn__pb_of(b->p, b->n);
    fcn__pbf f;
    const char *why;
    size_t k = 0;
    while (fcn__pb_next(&r, &f, &why) > 0) {
        if (f.num == 5) fcn__pb_rep(&f, 'f', &k, out, NULL);
        else if (f.num == 8) fcn__pb_rep(&f, 'd', &k, out, NULL);
    }
}

/* The blobs (field blobf) of a caffemodel layer message: up to 4 into blobs, *nb of them. */
static fcn_status fcn__caffe_layer_blobs(fcn__ictx *c, const fcn__pbf *layer, int blobf, fcn__blob *blobs, int *nb,
                                         const char *where)
{
    fcn__pb q = fcn__pb_of(layer->data, layer->len);
    fcn__pbf g;
    const char *why = NULL;
    fcn_status s;
    while (fcn__pb_next(&q, &g, &why) > 0) {
        if ((int)g.num != blobf) continue;
        if ((s = fcn__pb_want(c, &g, 2, where)) != FCN_OK) return s;
        if (*nb >= 4) return fcn__ifail(c, FCN_ERR_FORMAT, "%s: more than 4 blobs in the caffemodel", where);
        if ((s = fcn__caffe_blob(c, g.data, g.len, &blobs[*nb], where)) != FCN_OK) return s;
        (*nb)++;
    }
    return FCN_OK;
}

/* The blobs of the caffemodel layer named name (V2 'layer' field 100: name 1, blobs 7;
   V1 'layers' field 2: name 4, blobs 6): up to 4 blob spans; *nb their count; *found. */
static fcn_status fcn__caffe_find(fcn__ictx *c, const unsigned char *w, size_t wn, fcn__str name,
                                  fcn__blob *blobs, int *nb, int *found, const char *where)
{
    fcn__pb r = fcn__pb_of(w, wn), q;
    fcn__pbf f, g;
    const char *why = NULL;
    int rc;
    *nb = 0;
    *found = 0;
    while ((rc = fcn__pb_next(&r, &f, &why)) > 0) {
        int v1 = f.num == 2, namef = v1 ? 4 : 1;
        fcn__str nm = fcn__str_of(NULL, 0);
        if (f.num != 100 && f.num != 2) continue;
        if (f.wt != 2) return fcn__pb_bad(c, "caffemodel", "a layer field has the wrong wire type");
        q = fcn__pb_of(f.data, f.len);
        while ((rc = fcn__pb_next(&q, &g, &why)) > 0)
            if ((int)g.num == namef && g.wt == 2) nm = fcn__str_of(g.data, g.len);
        if (rc < 0) return fcn__pb_bad(c, "caffemodel layer", why);
        if (!fcn__str_same(nm, name)) continue;
        *found = 1;
        return fcn__caffe_layer_blobs(c, &f, v1 ? 6 : 7, blobs, nb, where); /* the first layer of that name, as Caffe */
    }
    if (rc < 0) return fcn__pb_bad(c, "caffemodel", why);
    return FCN_OK;
}

/* Copies a layer's blob k (expected count want; what it is, for messages: "weights
   4x3x3x3") into a new array. */
static fcn_status fcn__caffe_take(fcn__ictx *c, const fcn__blob *b, size_t want, const char *what,
                                  const char *where, int k, float **out)
{
    char t1[64];
    size_t i;
    *out = NULL;
    if (b->count != want) {
        fcn__dims_text(t1, sizeof t1, b->nd, b->dims);
        return fcn__ifail(c, FCN_ERR_FORMAT, "%s: needs %s (%lu values); the caffemodel's blob %d has %s%s (%lu values)", where,
                          what, (unsigned long)want, k, b->nd ? "shape " : "", b->nd ? t1 : "no shape", (unsigned long)b->count);
    }
    *out = FCN__CAST(float *, fcn__alloc(want, sizeof(float)));
    if (!*out) return fcn__inomem(c);
    fcn__caffe_blob_data(b, *out);
    for (i = 0; i < want; i++)
        if (!fcn__finite((*out)[i])) {
            FCN_FREE(*out);
            *out = NULL;
            return fcn__ifail(c, FCN_ERR_FORMAT, "%s: blob %d holds a value that is not finite", where, k);
        }
    return FCN_OK;
}

/* The state of a Caffe import: the prototxt's tree, the caffemodel's bytes, the network. */
typedef struct fcn__caffe {
    fcn__ictx *c;
    const fcn__txt *t;
    const unsigned char *w; /* the caffemodel */
    size_t wn;
    fcn__imp *m;
    fcn__str head;          /* the blob the chain has reached; head.p NULL before the input */
} fcn__caffe;

/* The text of field key of message node m (empty if absent). */
static fcn__str fcn__caffe_text(const fcn__txt *t, int m, const char *key)
{
    int i = fcn__tx_get(t, m, key, 0);
    return i >= 0 ? t->n[i].val : fcn__str_of(NULL, 0);
}

/* Reads 1 or 2 values of a repeated field (kernel_size, stride, pad) or its _h/_w forms. */
static fcn_status fcn__caffe_hw(fcn__caffe *cn, int p, const char *key, int dflt, int lo, int *h, int *w, const char *where)
{
    const fcn__txt *t = cn->t;
    char kh[32], kw[32];
    int n = fcn__tx_count(t, p, key), hh, ww;
    fcn_status s;
    snprintf(kh, sizeof kh, "%s_h", strcmp(key, "kernel_size") == 0 ? "kernel" : key);
    snprintf(kw, sizeof kw, "%s_w", strcmp(key, "kernel_size") == 0 ? "kernel" : key);
    *h = *w = dflt;
    if (n > 2) return fcn__ifail(cn->c, FCN_ERR_UNSUPPORTED, "%s: %s has %d values (only 2-D is supported)", where, key, n);
    if ((s = fcn__tx_int(cn->c, t, p, key, 0, lo, FCN__MAX_PATCH, dflt, h)) != FCN_OK) return s;
    if ((s = fcn__tx_int(cn->c, t, p, key, n == 2 ? 1 : 0, lo, FCN__MAX_PATCH, dflt, w)) != FCN_OK) return s;
    if ((fcn__tx_get(t, p, kh, 0) >= 0) != (fcn__tx_get(t, p, kw, 0) >= 0))
        return fcn__ifail(cn->c, FCN_ERR_FORMAT, "%s: %s and %s must be given together", where, kh, kw);
    if (fcn__tx_get(t, p, kh, 0) >= 0) {
        if (n) return fcn__ifail(cn->c, FCN_ERR_FORMAT, "%s: either %s or %s/%s, not both", where, key, kh, kw);
        if ((s = fcn__tx_int(cn->c, t, p, kh, 0, lo, FCN__MAX_PATCH, dflt, &hh)) != FCN_OK) return s;
        if ((s = fcn__tx_int(cn->c, t, p, kw, 0, lo, FCN__MAX_PATCH, dflt, &ww)) != FCN_OK) return s;
        *h = hh;
        *w = ww;
    }
    return FCN_OK;
}

/* fcn's layers have one stride and one pad for both directions. */
static fcn_status fcn__caffe_same(fcn__caffe *cn, const char *what, int h, int w, const char *where)
{
    if (h == w) return FCN_OK;
    return fcn__ifail(cn->c, FCN_ERR_UNSUPPORTED, "%s: %s %dx%d (fcn needs the same %s in both directions)", where, what, h, w, what);
}

/* Input shape from dims (N, C, H, W). */
static fcn_status fcn__caffe_shape4(fcn__caffe *cn, const long long *d, int n, const char *where)
{
    if (n != 4) return fcn__ifail(cn->c, FCN_ERR_UNSUPPORTED, "%s: the input shape has %d dimensions, expected 4 (N, C, H, W)", where, n);
    if (d[1] < 1 || d[2] < 1 || d[3] < 1 || d[1] > FCN__MAX_MAPS || d[2] > FCN__MAX_PATCH || d[3] > FCN__MAX_PATCH)
        return fcn__ifail(cn->c, FCN_ERR_FORMAT, "%s: input shape %lldx%lldx%lldx%lld out of range", where, d[0], d[1], d[2], d[3]);
    cn->m->in_c = (int)d[1];
    cn->m->in_h = (int)d[2];
    cn->m->in_w = (int)d[3];
    return FCN_OK;
}

/* The values of repeated field key of message shape into d (*n of them; 5 means more than 4). */
static fcn_status fcn__caffe_dims(fcn__caffe *cn, int shape, const char *key, long long *d, int *n)
{
    int k;
    fcn_status s;
    *n = fcn__tx_count(cn->t, shape, key);
    if (*n > 4) *n = 5;
    for (k = 0; k < *n && k < 4; k++)
        if ((s = fcn__tx_long(cn->c, cn->t, fcn__tx_get(cn->t, shape, key, k), 0, 1LL << 30, &d[k])) != FCN_OK) return s;
    return FCN_OK;
}

/* A data layer's transform_param (scale, mean_value, crop_size). */
static fcn_status fcn__caffe_transform(fcn__caffe *cn, int layer, const char *where)
{
    const fcn__txt *t = cn->t;
    fcn__imp *m = cn->m;
    int tp = fcn__tx_get(t, layer, "transform_param", 0), n, k;
    fcn_status s;
    if (tp < 0) return FCN_OK;
    if (fcn__tx_get(t, tp, "mean_file", 0) >= 0)
        return fcn__ifail(cn->c, FCN_ERR_UNSUPPORTED, "%s: transform_param mean_file is not supported (use mean_value)", where);
    if ((s = fcn__tx_float(cn->c, t, tp, "scale", 0, 1.0f, &m->scale)) != FCN_OK) return s;
    n = fcn__tx_count(t, tp, "mean_value");
    if (n && m->in_c && n != 1 && n != m->in_c)
        return fcn__ifail(cn->c, FCN_ERR_FORMAT, "%s: %d mean_value for %d channels", where, n, m->in_c);
    if (n > FCN__MAX_MAPS) return fcn__ifail(cn->c, FCN_ERR_FORMAT, "%s: too many mean values", where);
    m->nmean = n;
    if (n) {
        m->mean = FCN__CAST(float *, fcn__alloc((size_t)n, sizeof(float)));
        if (!m->mean) return fcn__inomem(cn->c);
        for (k = 0; k < n; k++)
            if ((s = fcn__tx_float(cn->c, t, tp, "mean_value", k, 0.0f, &m->mean[k])) != FCN_OK) return s;
    }
    if (fcn__tx_get(t, tp, "crop_size", 0) >= 0 && !m->in_h) {
        int cs;
        if ((s = fcn__tx_int(cn->c, t, tp, "crop_size", 0, 1, FCN__MAX_PATCH, 0, &cs)) != FCN_OK) return s;
        m->in_h = m->in_w = cs;
    }
    return FCN_OK;
}

/* Is this layer left out of the TEST phase (include { phase: TRAIN } / exclude { phase: TEST })? */
static int fcn__caffe_skip(const fcn__txt *t, int layer)
{
    int k, r;
    for (k = 0; (r = fcn__tx_get(t, layer, "include", k)) >= 0; k++) {
        int ph = fcn__tx_get(t, r, "phase", 0);
        if (ph >= 0 && fcn__tx_enum(t, ph, "TRAIN", "0")) return 1;
    }
    for (k = 0; (r = fcn__tx_get(t, layer, "exclude", k)) >= 0; k++) {
        int ph = fcn__tx_get(t, r, "phase", 0);
        if (ph >= 0 && fcn__tx_enum(t, ph, "TEST", "1")) return 1;
    }
    return 0;
}

/* >>caffe-layers
   One handler per Caffe layer type, found by its V2 or V1 name in fcn__caffe_layers
   below. A handler gets the import state cn, the layer's message L in the prototxt tree
   and where (how messages name the layer); it reads the layer's parameters and appends
   what it makes to cn->m (fcn__imp_add). Before it runs, the chain is checked (one bottom,
   the blob the layer before wrote; one top). It may look around: cn->m holds the layers
   added so far, cn->t->n[L].next is the next field of the net.

   To add a layer type: write fcn__caffe_NAME and add a row {"Name", "V1_NAME", fn, 0}. */

typedef fcn_status (*fcn__caffe_fn)(fcn__caffe *cn, int L, const char *where);

/* ---- data layers: where the chain starts ---- */

/* Input: input_param { shape { dim: N dim: C dim: H dim: W } }. */
static fcn_status fcn__caffe_input(fcn__caffe *cn, int L, const char *where)
{
    long long d[5];
    int n, sh = fcn__tx_get(cn->t, fcn__tx_get(cn->t, L, "input_param", 0), "shape", 0);
    fcn_status s;
    if (sh < 0) return fcn__ifail(cn->c, FCN_ERR_FORMAT, "%s: no input_param { shape { dim ... } }", where);
    if ((s = fcn__caffe_dims(cn, sh, "dim", d, &n)) != FCN_OK) return s;
    return fcn__caffe_shape4(cn, d, n, where);
}

/* MemoryData: memory_data_param { channels height width }. */
static fcn_status fcn__caffe_memory_data(fcn__caffe *cn, int L, const char *where)
{
    static const char *const keys[] = {"channels", "height", "width"};
    long long d[4];
    int mp = fcn__tx_get(cn->t, L, "memory_data_param", 0), x, v;
    fcn_status s;
    d[0] = 1;
    for (x = 0; x < 3; x++) {
        if ((s = fcn__tx_int(cn->c, cn->t, mp, keys[x], 0, 0, 1 << 30, 0, &v)) != FCN_OK) return s;
        d[x + 1] = v;
    }
    return fcn__caffe_shape4(cn, d, 4, where);
}

/* ---- layers with weights ---- */

/* num_output, bias_term, axis: what Convolution and InnerProduct share; *p their param. */
static fcn_status fcn__caffe_weighted(fcn__caffe *cn, int L, const char *param, fcn_layer *d, int *p, int *bias,
                                      const char *where)
{
    int axis;
    fcn_status s;
    *p = fcn__tx_get(cn->t, L, param, 0);
    if (*p < 0) return fcn__ifail(cn->c, FCN_ERR_FORMAT, "%s: no %s", where, param);
    if ((s = fcn__tx_int(cn->c, cn->t, *p, "num_output", 0, 1, FCN__MAX_MAPS, 0, &d->maps)) != FCN_OK) return s;
    if (d->maps < 1) return fcn__ifail(cn->c, FCN_ERR_FORMAT, "%s: no num_output", where);
    if ((s = fcn__tx_bool(cn->c, cn->t, *p, "bias_term", 1, bias)) != FCN_OK) return s;
    if ((s = fcn__tx_int(cn->c, cn->t, *p, "axis", 0, -4, 4, 1, &axis)) != FCN_OK) return s;
    if (axis != 1) return fcn__ifail(cn->c, FCN_ERR_UNSUPPORTED, "%s: axis %d (only 1 is supported)", where, axis);
    return FCN_OK;
}

/* A Data layer may not say its channels: the first weights tell them (blob 0 of b). */
static fcn_status fcn__caffe_infer_channels(fcn__caffe *cn, const fcn_layer *d, const fcn__blob *b, const char *where)
{
    fcn__imp *m = cn->m;
    size_t per = d->type == FCN_LAYER_CONV ? (size_t)d->maps * (size_t)d->kh * (size_t)d->kw
                                           : (size_t)d->maps * (size_t)m->cur.h * (size_t)m->cur.w;
    if (b->count == 0 || b->count % per || b->count / per > FCN__MAX_MAPS)
        return fcn__ifail(cn->c, FCN_ERR_FORMAT, "%s: cannot infer the input channels from its %lu weights", where,
                          (unsigned long)b->count);
    m->in_c = m->cur.c = (int)(b->count / per);
    return FCN_OK;
}

/* The weights of layer d from blob b into *w: conv maps x C x kh x kw, fc maps x K (an
   InnerProduct with transpose stores K x maps). */
static fcn_status fcn__caffe_weights(fcn__caffe *cn, int p, const fcn_layer *d, const fcn__blob *b, float **w,
                                     const char *where)
{
    size_t want = fcn__imp_wcount(cn->m, d), K = want / (size_t)d->maps, i, j;
    char shape[96];
    int tr = 0;
    float *tw;
    fcn_status s;
    if (d->type == FCN_LAYER_CONV) snprintf(shape, sizeof shape, "weights %dx%dx%dx%d", d->maps, cn->m->cur.c, d->kh, d->kw);
    else snprintf(shape, sizeof shape, "weights %dx%lu", d->maps, (unsigned long)fcn__imp_count(cn->m));
    if (d->type == FCN_LAYER_FC && (s = fcn__tx_bool(cn->c, cn->t, p, "transpose", 0, &tr)) != FCN_OK) return s;
    if ((s = fcn__caffe_take(cn->c, b, want, shape, where, 0, w)) != FCN_OK || !tr) return s;
    if (!(tw = FCN__CAST(float *, fcn__alloc(want, sizeof(float))))) {
        FCN_FREE(*w);
        return fcn__inomem(cn->c);
    }
    for (i = 0; i < (size_t)d->maps; i++)
        for (j = 0; j < K; j++) tw[i * K + j] = (*w)[j * (size_t)d->maps + i];
    FCN_FREE(*w);
    *w = tw;
    return FCN_OK;
}

/* The blobs of layer L, found by its name in the caffemodel: want of them (what they
   are, for messages). */
static fcn_status fcn__caffe_blobs(fcn__caffe *cn, int L, fcn__blob *blobs, int want, const char *what, const char *where)
{
    int nblob, found;
    fcn_status s = fcn__caffe_find(cn->c, cn->w, cn->wn, fcn__caffe_text(cn->t, L, "name"), blobs, &nblob, &found, where);
    if (s != FCN_OK) return s;
    if (!found) return fcn__ifail(cn->c, FCN_ERR_FORMAT, "%s: the caffemodel has no layer of that name", where);
    if (nblob != want)
        return fcn__ifail(cn->c, FCN_ERR_FORMAT, "%s: needs %d blob%s (%s), the caffemodel has %d", where, want,
                          want == 1 ? "" : "s", what, nblob);
    return FCN_OK;
}

/* Finds the layer's blobs by its name in the caffemodel and appends layer d with them. */
static fcn_status fcn__caffe_add_weighted(fcn__caffe *cn, int L, int p, const fcn_layer *d, int bias, const char *where)
{
    fcn__blob blobs[4];
    float *w = NULL, *b = NULL;
    char shape[32];
    fcn_status s;
    if ((s = fcn__caffe_blobs(cn, L, blobs, 1 + bias, bias ? "bias_term true" : "bias_term false", where)) != FCN_OK)
        return s;
    if (!cn->m->in_c && (s = fcn__caffe_infer_channels(cn, d, &blobs[0], where)) != FCN_OK) return s;
    if ((s = fcn__caffe_weights(cn, p, d, &blobs[0], &w, where)) != FCN_OK) return s;
    if (bias) {
        snprintf(shape, sizeof shape, "a bias of %d", d->maps);
        if ((s = fcn__caffe_take(cn->c, &blobs[1], (size_t)d->maps, shape, where, 1, &b)) != FCN_OK) {
            FCN_FREE(w);
            return s;
        }
    }
    return fcn__imp_add(cn->m, d, w, b, where);
}

static fcn_status fcn__caffe_conv(fcn__caffe *cn, int L, const char *where)
{
    fcn_layer d;
    int p, bias, group, dil, x, sh, sw, ph, pw;
    fcn_status s;
    memset(&d, 0, sizeof d);
    if ((s = fcn__caffe_weighted(cn, L, "convolution_param", &d, &p, &bias, where)) != FCN_OK) return s;
    if ((s = fcn__tx_int(cn->c, cn->t, p, "group", 0, 0, 1 << 30, 1, &group)) != FCN_OK) return s;
    if (group != 1) return fcn__ifail(cn->c, FCN_ERR_UNSUPPORTED, "%s: group %d (only group 1 is supported)", where, group);
    for (x = 0; x < fcn__tx_count(cn->t, p, "dilation"); x++) {
        if ((s = fcn__tx_int(cn->c, cn->t, p, "dilation", x, 0, 1 << 30, 1, &dil)) != FCN_OK) return s;
        if (dil != 1) return fcn__ifail(cn->c, FCN_ERR_UNSUPPORTED, "%s: dilation %d (only 1 is supported)", where, dil);
    }
    d.type = FCN_LAYER_CONV;
    if ((s = fcn__caffe_hw(cn, p, "kernel_size", 0, 1, &d.kh, &d.kw, where)) != FCN_OK) return s;
    if (d.kh < 1 || d.kw < 1) return fcn__ifail(cn->c, FCN_ERR_FORMAT, "%s: no kernel_size", where);
    if ((s = fcn__caffe_hw(cn, p, "stride", 1, 1, &sh, &sw, where)) != FCN_OK) return s;
    if ((s = fcn__caffe_hw(cn, p, "pad", 0, 0, &ph, &pw, where)) != FCN_OK) return s;
    if ((s = fcn__caffe_same(cn, "stride", sh, sw, where)) != FCN_OK) return s;
    if ((s = fcn__caffe_same(cn, "pad", ph, pw, where)) != FCN_OK) return s;
    d.stride = sh;
    d.pad = ph;
    return fcn__caffe_add_weighted(cn, L, p, &d, bias, where);
}

static fcn_status fcn__caffe_inner_product(fcn__caffe *cn, int L, const char *where)
{
    fcn_layer d;
    int p, bias;
    fcn_status s;
    memset(&d, 0, sizeof d);
    if ((s = fcn__caffe_weighted(cn, L, "inner_product_param", &d, &p, &bias, where)) != FCN_OK) return s;
    d.type = FCN_LAYER_FC;
    return fcn__caffe_add_weighted(cn, L, p, &d, bias, where);
}

/* ---- per-channel affine layers, folded into a conv or fc (fcn__imp_affine) ---- */

/* The channels of Caffe's blob: axis 1 of N x C x H x W, or of N x K once flattened. */
static int fcn__caffe_channels(const fcn__imp *m) { return m->flat ? (int)fcn__imp_count(m) : m->cur.c; }

/* Blobs 0..n-1 (per channel: C values each; what[k] names them) as float64 into
   v[k * C ...]. */
static fcn_status fcn__caffe_channel_blobs(fcn__caffe *cn, const fcn__blob *blobs, int n, const char *const *what,
                                           double *v, const char *where)
{
    int C = fcn__caffe_channels(cn->m), k, c;
    char text[64];
    float *x;
    fcn_status s = FCN_OK;
    for (k = 0; k < n && s == FCN_OK; k++) {
        snprintf(text, sizeof text, "a %s of %d", what[k], C);
        if ((s = fcn__caffe_take(cn->c, &blobs[k], (size_t)C, text, where, k, &x)) != FCN_OK) return s;
        for (c = 0; c < C; c++) v[k * C + c] = x[c];
        FCN_FREE(x);
    }
    return s;
}

/* BatchNorm, Caffe's (no scale or shift of its own: a Scale layer follows it): blobs
   mean, variance and the moving-average factor f (the statistics are blob / f, 0 when
   f is 0); y = (x - mean) / sqrt(variance + eps). */
static fcn_status fcn__caffe_batch_norm(fcn__caffe *cn, int L, const char *where)
{
    static const char *const what[2] = {"mean", "variance"};
    fcn__blob blobs[4];
    int p = fcn__tx_get(cn->t, L, "batch_norm_param", 0), C = fcn__caffe_channels(cn->m), global, c;
    float eps, *f;
    double *v, sf;
    fcn_status s;
    if ((s = fcn__tx_bool(cn->c, cn->t, p, "use_global_stats", 1, &global)) != FCN_OK) return s;
    if (!global)
        return fcn__ifail(cn->c, FCN_ERR_UNSUPPORTED, "%s: use_global_stats false: it would normalise with the statistics "
                          "of the batch", where);
    if ((s = fcn__tx_float(cn->c, cn->t, p, "eps", 0, 1e-5f, &eps)) != FCN_OK) return s;
    if ((s = fcn__caffe_blobs(cn, L, blobs, 3, "mean, variance, moving-average factor", where)) != FCN_OK) return s;
    if ((s = fcn__caffe_take(cn->c, &blobs[2], 1, "a moving-average factor", where, 2, &f)) != FCN_OK) return s;
    sf = f[0] == 0.0f ? 0.0 : 1.0 / f[0];
    FCN_FREE(f);
    if (!(v = FCN__CAST(double *, fcn__alloc(2 * (size_t)C, sizeof(double))))) return fcn__inomem(cn->c);
    s = fcn__caffe_channel_blobs(cn, blobs, 2, what, v, where);
    for (c = 0; c < C && s == FCN_OK; c++) { /* a = 1 / sqrt(var + eps) into v[C + c], b = -mean * a into v[c] */
        double var = sf * v[C + c] + eps;
        if (!(var > 0.0) || !(var < 1e300))
            s = fcn__ifail(cn->c, FCN_ERR_FORMAT, "%s: channel %d: variance + eps is not a positive number", where, c);
        v[C + c] = 1.0 / sqrt(var);
        v[c] = -(sf * v[c]) * v[C + c];
    }
    if (s == FCN_OK) s = fcn__imp_affine(cn->m, C, v + C, v, where);
    FCN_FREE(v);
    return s;
}

/* Scale with one bottom (its factors are blobs): y = gamma x (+ beta with bias_term) over
   the channels. */
static fcn_status fcn__caffe_scale(fcn__caffe *cn, int L, const char *where)
{
    static const char *const what[2] = {"scale", "bias"};
    fcn__blob blobs[4];
    int p = fcn__tx_get(cn->t, L, "scale_param", 0), C = fcn__caffe_channels(cn->m), axis, num_axes, bias;
    double *v;
    fcn_status s;
    if ((s = fcn__tx_int(cn->c, cn->t, p, "axis", 0, -4, 4, 1, &axis)) != FCN_OK) return s;
    if ((s = fcn__tx_int(cn->c, cn->t, p, "num_axes", 0, -1, 4, 1, &num_axes)) != FCN_OK) return s;
    if ((s = fcn__tx_bool(cn->c, cn->t, p, "bias_term", 0, &bias)) != FCN_OK) return s;
    if (axis != 1 || num_axes != 1)
        return fcn__ifail(cn->c, FCN_ERR_UNSUPPORTED, "%s: axis %d, num_axes %d; only one factor per channel (axis 1, "
                          "num_axes 1) is supported", where, axis, num_axes);
    if ((s = fcn__caffe_blobs(cn, L, blobs, 1 + bias, bias ? "scale, bias: bias_term true" : "scale: bias_term false",
                              where)) != FCN_OK)
        return s;
    if (!(v = FCN__CAST(double *, fcn__alloc(2 * (size_t)C, sizeof(double))))) return fcn__inomem(cn->c);
    memset(v, 0, 2 * (size_t)C * sizeof(double));
    s = fcn__caffe_channel_blobs(cn, blobs, 1 + bias, what, v, where);
    if (s == FCN_OK) s = fcn__imp_affine(cn->m, C, v, v + C, where);
    FCN_FREE(v);
    return s;
}

/* ---- pooling ---- */

/* pooling_param's pool: MAX or AVE (by name or number). */
static fcn_status fcn__caffe_pool_method(fcn__caffe *cn, int p, fcn_layer *d, const char *where)
{
    int pi = fcn__tx_get(cn->t, p, "pool", 0);
    char b[72];
    d->type = FCN_LAYER_MAXPOOL;
    if (pi >= 0 && fcn__tx_enum(cn->t, pi, "AVE", "1")) d->type = FCN_LAYER_AVGPOOL;
    else if (pi >= 0 && !fcn__tx_enum(cn->t, pi, "MAX", "0"))
        return fcn__ifail(cn->c, FCN_ERR_UNSUPPORTED, "%s: pool method '%s' (MAX and AVE are supported)", where,
                          fcn__str_show(cn->t->n[pi].val, b, sizeof b));
    return FCN_OK;
}

/* pooling_param's round_mode: CEIL (Caffe's default) or FLOOR. */
static fcn_status fcn__caffe_round_mode(fcn__caffe *cn, int p, fcn_layer *d, const char *where)
{
    int rm = fcn__tx_get(cn->t, p, "round_mode", 0);
    char b[72];
    d->ceil_mode = 1;
    if (rm >= 0 && fcn__tx_enum(cn->t, rm, "FLOOR", "1")) d->ceil_mode = 0;
    else if (rm >= 0 && !fcn__tx_enum(cn->t, rm, "CEIL", "0"))
        return fcn__ifail(cn->c, FCN_ERR_UNSUPPORTED, "%s: round_mode '%s'", where, fcn__str_show(cn->t->n[rm].val, b, sizeof b));
    return FCN_OK;
}

static fcn_status fcn__caffe_pooling(fcn__caffe *cn, int L, const char *where)
{
    const fcn__txt *t = cn->t;
    fcn_layer d;
    int p = fcn__tx_get(t, L, "pooling_param", 0), glob, sh, sw, ph, pw;
    fcn_status s;
    memset(&d, 0, sizeof d);
    if ((s = fcn__caffe_pool_method(cn, p, &d, where)) != FCN_OK) return s;
    if ((s = fcn__tx_bool(cn->c, t, p, "global_pooling", 0, &glob)) != FCN_OK) return s;
    if (fcn__tx_count(t, p, "kernel_size") > 1 || fcn__tx_count(t, p, "stride") > 1 || fcn__tx_count(t, p, "pad") > 1)
        return fcn__ifail(cn->c, FCN_ERR_FORMAT, "%s: kernel_size, stride and pad are single values in pooling_param", where);
    if ((s = fcn__caffe_hw(cn, p, "kernel_size", 0, 1, &d.kh, &d.kw, where)) != FCN_OK) return s;
    if ((s = fcn__caffe_hw(cn, p, "stride", 1, 1, &sh, &sw, where)) != FCN_OK) return s;
    if ((s = fcn__caffe_hw(cn, p, "pad", 0, 0, &ph, &pw, where)) != FCN_OK) return s;
    if (glob) {
        d.kh = cn->m->cur.h;
        d.kw = cn->m->cur.w;
        sh = sw = 1;
        if (ph || pw) return fcn__ifail(cn->c, FCN_ERR_FORMAT, "%s: global pooling with padding", where);
    }
    if (d.kh < 1) return fcn__ifail(cn->c, FCN_ERR_FORMAT, "%s: no kernel_size", where);
    if ((s = fcn__caffe_same(cn, "stride", sh, sw, where)) != FCN_OK) return s;
    if ((s = fcn__caffe_same(cn, "pad", ph, pw, where)) != FCN_OK) return s;
    d.stride = sh;
    d.pad = ph;
    if ((s = fcn__caffe_round_mode(cn, p, &d, where)) != FCN_OK) return s;
    return fcn__imp_add(cn->m, &d, NULL, NULL, where);
}

/* ---- pointwise layers ---- */

static fcn_status fcn__caffe_pointwise(fcn__caffe *cn, fcn_layer_type type, float slope, const char *where)
{
    fcn_layer d;
    memset(&d, 0, sizeof d);
    d.type = type;
    d.slope = slope;
    return fcn__imp_add(cn->m, &d, NULL, NULL, where);
}

static fcn_status fcn__caffe_relu(fcn__caffe *cn, int L, const char *where)
{
    float slope;
    fcn_status s = fcn__tx_float(cn->c, cn->t, fcn__tx_get(cn->t, L, "relu_param", 0), "negative_slope", 0, 0.0f, &slope);
    return s != FCN_OK ? s : fcn__caffe_pointwise(cn, FCN_LAYER_RELU, slope, where);
}

static fcn_status fcn__caffe_tanh(fcn__caffe *cn, int L, const char *where) { (void)L; return fcn__caffe_pointwise(cn, FCN_LAYER_TANH, 0.0f, where); }
static fcn_status fcn__caffe_sigmoid(fcn__caffe *cn, int L, const char *where) { (void)L; return fcn__caffe_pointwise(cn, FCN_LAYER_SIGMOID, 0.0f, where); }
static fcn_status fcn__caffe_dropout(fcn__caffe *cn, int L, const char *where) { (void)L; return fcn__caffe_pointwise(cn, FCN_LAYER_DROPOUT, 0.0f, where); }

static fcn_status fcn__caffe_softmax(fcn__caffe *cn, int L, const char *where)
{
    int axis;
    fcn_status s = fcn__tx_int(cn->c, cn->t, fcn__tx_get(cn->t, L, "softmax_param", 0), "axis", 0, -4, 4, 1, &axis);
    if (s != FCN_OK) return s;
    if (axis != 1) return fcn__ifail(cn->c, FCN_ERR_UNSUPPORTED, "%s: softmax axis %d (only 1, the channels)", where, axis);
    return fcn__caffe_pointwise(cn, FCN_LAYER_SOFTMAX, 0.0f, where);
}

/* Flatten changes no values: only fc and pointwise layers may follow. */
static fcn_status fcn__caffe_flatten(fcn__caffe *cn, int L, const char *where)
{
    int p = fcn__tx_get(cn->t, L, "flatten_param", 0), axis;
    fcn_status s = fcn__tx_int(cn->c, cn->t, p, "axis", 0, -4, 4, 1, &axis);
    if (s != FCN_OK) return s;
    if (axis != 1 || fcn__tx_get(cn->t, p, "end_axis", 0) >= 0)
        return fcn__ifail(cn->c, FCN_ERR_UNSUPPORTED, "%s: only a Flatten from axis 1 to the end is supported", where);
    cn->m->flat = 1;
    return FCN_OK;
}

/* ---- the table ---- */

/* A layer type by its V2 name or V1 enum name (either may be NULL). source: a data layer,
   where the chain starts (fn, if any, reads the input shape); else fn reads the layer
   (NULL: known but refused). */
typedef struct fcn__caffe_row {
    const char *name, *v1;
    fcn__caffe_fn fn;
    int source;
} fcn__caffe_row;

static const fcn__caffe_row fcn__caffe_layers[] = {
    {"Convolution", "CONVOLUTION", fcn__caffe_conv, 0},
    {"Pooling", "POOLING", fcn__caffe_pooling, 0},
    {"InnerProduct", "INNER_PRODUCT", fcn__caffe_inner_product, 0},
    {"ReLU", "RELU", fcn__caffe_relu, 0},
    {"TanH", "TANH", fcn__caffe_tanh, 0},
    {"Sigmoid", "SIGMOID", fcn__caffe_sigmoid, 0},
    {"Dropout", "DROPOUT", fcn__caffe_dropout, 0},
    {"Softmax", "SOFTMAX", fcn__caffe_softmax, 0},
    {"Flatten", "FLATTEN", fcn__caffe_flatten, 0},
    {"BatchNorm", NULL, fcn__caffe_batch_norm, 0},
    {"Scale", NULL, fcn__caffe_scale, 0},
    {"Input", NULL, fcn__caffe_input, 1},
    {"MemoryData", "MEMORY_DATA", fcn__caffe_memory_data, 1},
    {"Data", "DATA", NULL, 1},
    {"ImageData", "IMAGE_DATA", NULL, 1},
    {NULL, "SPLIT", NULL, 0}, /* V1 nets write it: refused by the chain check (two tops) */
};

static const fcn__caffe_row *fcn__caffe_row_of(fcn__str type)
{
    size_t i;
    for (i = 0; i < sizeof fcn__caffe_layers / sizeof fcn__caffe_layers[0]; i++) {
        const fcn__caffe_row *r = &fcn__caffe_layers[i];
        if ((r->name && fcn__str_eq(type, r->name)) || (r->v1 && fcn__str_eq(type, r->v1))) return r;
    }
    return NULL;
}

/* >>caffe-net
   A NetParameter step by step: which field lists the layers, the net-level input, each
   layer through the table (data layers start the chain, every other layer must read the
   blob the one before wrote), then the mean for every channel. */

/* 'layer' (V2) or 'layers' (V1), not both; *key the one used. */
static fcn_status fcn__caffe_layer_key(fcn__caffe *cn, const char **key)
{
    int nl = fcn__tx_count(cn->t, 0, "layer"), nl1 = fcn__tx_count(cn->t, 0, "layers");
    if (nl && nl1) return fcn__ifail(cn->c, FCN_ERR_FORMAT, "the net mixes 'layer' and legacy 'layers' fields");
    if (nl + nl1 == 0) return fcn__ifail(cn->c, FCN_ERR_FORMAT, "no layers (not a Caffe NetParameter prototxt?)");
    *key = nl1 ? "layers" : "layer";
    return FCN_OK;
}

/* The net-level input: 'input' with input_dim or input_shape (older nets; later ones
   have an Input layer). */
static fcn_status fcn__caffe_net_input(fcn__caffe *cn)
{
    const fcn__txt *t = cn->t;
    long long d[5];
    int i = fcn__tx_get(t, 0, "input", 0), k, n;
    char b[72];
    fcn_status s;
    if (i < 0) return FCN_OK;
    cn->head = t->n[i].val;
    if (fcn__tx_count(t, 0, "input") > 1) return fcn__ifail(cn->c, FCN_ERR_UNSUPPORTED, "the net has more than one input");
    if (fcn__tx_get(t, 0, "input_dim", 0) >= 0) {
        if ((s = fcn__caffe_dims(cn, 0, "input_dim", d, &n)) != FCN_OK) return s;
    } else if ((k = fcn__tx_get(t, 0, "input_shape", 0)) >= 0) {
        if ((s = fcn__caffe_dims(cn, k, "dim", d, &n)) != FCN_OK) return s;
    } else
        return fcn__ifail(cn->c, FCN_ERR_FORMAT, "input '%s' without input_dim or input_shape", fcn__str_show(cn->head, b, sizeof b));
    if ((s = fcn__caffe_shape4(cn, d, n, "net input")) != FCN_OK) return s;
    fcn__imp_input(cn->m, cn->m->in_c, cn->m->in_h, cn->m->in_w);
    return FCN_OK;
}

/* A data layer: its top is the net's input; its shape from its own parameters (shape,
   if any) or transform_param's crop_size. */
static fcn_status fcn__caffe_source(fcn__caffe *cn, int L, fcn__caffe_fn shape, const char *where)
{
    fcn__imp *m = cn->m;
    fcn_status s;
    if (cn->head.p) return fcn__ifail(cn->c, FCN_ERR_UNSUPPORTED, "%s: a second input (only one is supported)", where);
    if (fcn__tx_count(cn->t, L, "top") < 1) return fcn__ifail(cn->c, FCN_ERR_FORMAT, "%s: no top", where);
    cn->head = fcn__caffe_text(cn->t, L, "top");
    if (shape && (s = shape(cn, L, where)) != FCN_OK) return s;
    if ((s = fcn__caffe_transform(cn, L, where)) != FCN_OK) return s;
    if (!m->in_h)
        return fcn__ifail(cn->c, FCN_ERR_FORMAT, "%s: no input shape (give transform_param crop_size, or use an Input layer)", where);
    fcn__imp_input(m, m->in_c, m->in_h, m->in_w);
    return FCN_OK;
}

/* Any other layer reads the blob the chain has reached and writes the next (in place
   when top == bottom), then its handler fn (NULL: refused) reads it. */
static fcn_status fcn__caffe_link(fcn__caffe *cn, int L, fcn__caffe_fn fn, const char *where)
{
    const fcn__txt *t = cn->t;
    int nb = fcn__tx_count(t, L, "bottom"), nt = fcn__tx_count(t, L, "top");
    fcn__str bot;
    char b1[72], b2[72];
    if (!cn->head.p) return fcn__ifail(cn->c, FCN_ERR_FORMAT, "%s: comes before the net's input", where);
    if (nb != 1 || nt != 1)
        return fcn__ifail(cn->c, FCN_ERR_UNSUPPORTED, "%s: %d bottoms and %d tops; only a chain of layers (one each) is supported",
                          where, nb, nt);
    bot = fcn__caffe_text(t, L, "bottom");
    if (!fcn__str_same(bot, cn->head))
        return fcn__ifail(cn->c, FCN_ERR_UNSUPPORTED, "%s: reads '%s' but the net's current blob is '%s' (only a chain of layers is supported)",
                          where, fcn__str_show(bot, b1, sizeof b1), fcn__str_show(cn->head, b2, sizeof b2));
    cn->head = fcn__caffe_text(t, L, "top");
    if (!fn) return fcn__ifail(cn->c, FCN_ERR_UNSUPPORTED, "%s: layer type not supported", where);
    return fn(cn, L, where);
}

/* One layer of the net (key: 'layer' or 'layers'), through the table. */
static fcn_status fcn__caffe_layer(fcn__caffe *cn, int L, const char *key)
{
    const fcn__txt *t = cn->t;
    const fcn__caffe_row *row;
    fcn__str type = fcn__caffe_text(t, L, "type");
    char where[200], b1[72], b2[72];
    if (!t->n[L].is_msg) return fcn__ifail(cn->c, FCN_ERR_FORMAT, "line %d: %s must be a message", t->n[L].line, key);
    snprintf(where, sizeof where, "line %d: layer '%s' (%s)", t->n[L].line,
             fcn__str_show(fcn__caffe_text(t, L, "name"), b1, sizeof b1), fcn__str_show(type, b2, sizeof b2));
    if (fcn__caffe_skip(t, L)) return FCN_OK;
    if (!(row = fcn__caffe_row_of(type))) return fcn__ifail(cn->c, FCN_ERR_UNSUPPORTED, "%s: layer type not supported", where);
    if (row->source) return fcn__caffe_source(cn, L, row->fn, where);
    return fcn__caffe_link(cn, L, row->fn, where);
}

/* The mean: one value for every channel, or one per channel. */
static fcn_status fcn__caffe_mean(fcn__caffe *cn)
{
    fcn__imp *m = cn->m;
    float *mm;
    int k;
    if (!m->nmean) return FCN_OK;
    if (m->nmean != 1 && m->nmean != m->in_c)
        return fcn__ifail(cn->c, FCN_ERR_FORMAT, "transform_param: %d mean_value for %d channels", m->nmean, m->in_c);
    if (m->nmean == 1 && m->in_c > 1) {
        if (!(mm = FCN__CAST(float *, fcn__alloc((size_t)m->in_c, sizeof(float))))) return fcn__inomem(cn->c);
        for (k = 0; k < m->in_c; k++) mm[k] = m->mean[0];
        FCN_FREE(m->mean);
        m->mean = mm;
    }
    return FCN_OK;
}

static fcn_status fcn__caffe_net(fcn__caffe *cn, fcn_net **out)
{
    const fcn__txt *t = cn->t;
    const char *key = NULL;
    fcn_status s;
    int L;
    if ((s = fcn__caffe_layer_key(cn, &key)) != FCN_OK) return s;
    if ((s = fcn__caffe_net_input(cn)) != FCN_OK) return s;
    for (L = t->n[0].child; L >= 0; L = t->n[L].next)
        if (fcn__str_eq(t->n[L].key, key) && (s = fcn__caffe_layer(cn, L, key)) != FCN_OK) return s;
    if (!cn->head.p || !cn->m->in_h)
        return fcn__ifail(cn->c, FCN_ERR_FORMAT, "the net has no input (input_dim, input_shape or an Input layer)");
    if ((s = fcn__caffe_mean(cn)) != FCN_OK) return s;
    return fcn__imp_finish(cn->m, out);
}

FCNDEF fcn_status fcn_net_load_caffe_memory(const void *prototxt, size_t prototxt_size, const void *caffemodel,
                                            size_t caffemodel_size, const char *name, fcn_net **out, fcn_error *err)
{
    fcn__ictx c;
    fcn__txt t;
    fcn__imp m;
    fcn__caffe cn;
    const char *why;
    fcn_status st;
    if (!out) return fcn__fail(err, FCN_ERR_ARG, "fcn_net_load_caffe_memory: out is NULL");
    *out = NULL;
    if ((!prototxt && prototxt_size) || (!caffemodel && caffemodel_size))
        return fcn__fail(err, FCN_ERR_ARG, "fcn_net_load_caffe_memory: data is NULL");
    c.name = name ? name : "caffe model";
    c.err = err;
    /* the whole caffemodel must be well-formed at its top level: a layer is looked up in
       it later, and a fault past the layers the net uses would go unnoticed */
    if ((why = fcn__pb_check(FCN__CAST(const unsigned char *, caffemodel), caffemodel_size)) != NULL)
        return fcn__pb_bad(&c, "caffemodel", why);
    memset(&m, 0, sizeof m);
    m.c = &c;
    m.scale = 1.0f;
    st = fcn__tx_parse(&c, FCN__CAST(const unsigned char *, prototxt), prototxt_size, &t);
    if (st == FCN_OK) {
        cn.c = &c;
        cn.t = &t;
        cn.w = FCN__CAST(const unsigned char *, caffemodel);
        cn.wn = caffemodel_size;
        cn.m = &m;
        cn.head = fcn__str_of(NULL, 0);
        st = fcn__caffe_net(&cn, out);
    }
    FCN_FREE(t.n);
    fcn__imp_free(&m);
    if (st == FCN_OK) fcn__ok(err);
    return st;
}

FCNDEF fcn_status fcn_net_load_caffe(const char *prototxt, const char *caffemodel, fcn_net **out, fcn_error *err)
{
    unsigned char *a = NULL, *b = NULL;
    size_t an, bn;
    char name[512];
    fcn_status st;
    if (!prototxt || !caffemodel || !out) return fcn__fail(err, FCN_ERR_ARG, "fcn_net_load_caffe: a path or out is NULL");
    *out = NULL;
    if ((st = fcn__read_file(prototxt, &a, &an, err)) != FCN_OK) return st;
    if ((st = fcn__read_file(caffemodel, &b, &bn, err)) != FCN_OK) {
        FCN_FREE(a);
        return st;
    }
    snprintf(name, sizeof name, "%s + %s", prototxt, caffemodel);
    st = fcn_net_load_caffe_memory(a, an, b, bn, name, out, err);
    FCN_FREE(a);
    FCN_FREE(b);
    return st;
}

/* >>any
   One entry point for the command line and tools: the loader chosen by the files. */

static int fcn__ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix), i;
    if (n < m) return 0;
    for (i = 0; i < m; i++) {
        char a = s[n - m + i], b = suffix[i];
        if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
        if (a != b) return 0;
    }
    return 1;
}

FCNDEF fcn_status fcn_net_load_any(const char *const *paths, int n, fcn_net **out, fcn_error *err)
{
    if (!paths || !out || n < 1) return fcn__fail(err, FCN_ERR_ARG, "fcn_net_load_any: no paths or out is NULL");
    *out = NULL;
    if (n == 2) {
        int a = fcn__ends_with(paths[0], ".caffemodel") || fcn__ends_with(paths[1], ".prototxt") ? 1 : 0;
        return fcn_net_load_caffe(paths[a], paths[1 - a], out, err);
    }
    if (n != 1)
        return fcn__fail(err, FCN_ERR_ARG, "%d model files: give one (.fcn or .onnx) or two (NET.prototxt WEIGHTS.caffemodel)", n);
    if (fcn__ends_with(paths[0], ".prototxt") || fcn__ends_with(paths[0], ".caffemodel"))
        return fcn__fail(err, FCN_ERR_ARG, "%s: a Caffe model needs both NET.prototxt and WEIGHTS.caffemodel", paths[0]);
    if (fcn__ends_with(paths[0], ".onnx")) return fcn_net_load_onnx(paths[0], out, err);
    {
        /* by content: the native format starts with its magic; an ONNX ModelProto with
           field 1 (ir_version, a varint: byte 0x08) */
        unsigned char head[16];
        size_t got = 0;
        FILE *f = fopen(paths[0], "rb");
        if (f) {
            got = fread(head, 1, sizeof head, f);
            fclose(f);
        }
        if (got > 0 && head[0] == 0x08) return fcn_net_load_onnx(paths[0], out, err);
    }
    return fcn_net_load(paths[0], out, err);
}

#endif /* FCN_IMPORT__IMPLEMENTED */
#endif /* FCN_IMPORT_IMPLEMENTATION */

/*
MIT License

Copyright (c) 2026 the fcn.h authors

Permission is hereby granted, free of charge, to any person obtaining a copy of this
software and associated documentation files (the "Software"), to deal in the Software
without restriction, including without limitation the rights to use, copy, modify, merge,
publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons
to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR
PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE
FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
DEALINGS IN THE SOFTWARE.
*/
