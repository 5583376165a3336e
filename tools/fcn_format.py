"""Reads fcn.h's own model format (version 1; see the comment at the top of fcn.h) into
plain Python and numpy, for tools/fcn_to_caffe.py and tools/fcn_to_onnx.py.

    m = read_fcn("models/isbi-n4.fcn")
    m["input"] = (H, W, C); m["scale"] = float32; m["mean"] = [C float32]
    m["layers"] = [{"type": "conv", "maps", "kh", "kw", "stride", "pad", "w", "b"}, ...]
      conv: w (maps, C, kh, kw), b (maps,);  fc: w (N, C*H*W in C,H,W order), b (N,)
      maxpool/avgpool: kh, kw, stride, pad, ceil;  relu: slope;  tanh sigmoid dropout softmax
"""
import zlib

import numpy as np


def read_fcn(path):
    data = open(path, "rb").read()
    pos, lines = 0, []
    while True:
        end = data.index(b"\n", pos)
        line = data[pos:end].decode("ascii").strip()
        start, pos = pos, end + 1
        if line.startswith("weights "):
            f = line.split()
            nbytes, crc = int(f[1]), int(f[3], 16)
            header_end = start
            break
        if line and not line.startswith("#"):
            lines.append(line.split())
    weights = data[pos:pos + nbytes]
    if len(weights) != nbytes:
        raise ValueError("%s: truncated weights" % path)
    if zlib.crc32(weights, zlib.crc32(data[:header_end])) & 0xFFFFFFFF != crc:
        raise ValueError("%s: CRC mismatch" % path)
    w = np.frombuffer(weights, dtype="<f4")
    if lines[0][:2] != ["fcn-model", "1"]:
        raise ValueError("%s: not an fcn model (format 1)" % path)
    m = {"scale": np.float32(1.0), "mean": [], "layers": []}
    shape = None
    at = 0
    for f in lines[1:]:
        k = f[0]
        if k == "input":
            h, wd, c = int(f[1]), int(f[2]), int(f[3])
            m["input"] = (h, wd, c)
            shape = (c, h, wd)
        elif k == "scale":
            m["scale"] = np.float32(f[1])
        elif k == "mean":
            m["mean"] += [np.float32(x) for x in f[1:]]
        else:
            L = {"type": k}
            opts = f[1:]
            if k == "conv":
                L.update(maps=int(opts[0]), kh=int(opts[1]), kw=int(opts[2]), stride=1, pad=0)
                opts = opts[3:]
            elif k in ("maxpool", "avgpool"):
                L.update(kh=int(opts[0]), kw=int(opts[1]), stride=int(opts[0]), pad=0, ceil=False)
                opts = opts[2:]
            elif k == "fc":
                L.update(maps=int(opts[0]))
                opts = opts[1:]
            elif k == "relu":
                L.update(slope=np.float32(0.0))
            i = 0
            while i < len(opts):
                if opts[i] in ("stride", "pad"):
                    L[opts[i]] = int(opts[i + 1])
                    i += 2
                elif opts[i] == "slope":
                    L["slope"] = np.float32(opts[i + 1])
                    i += 2
                elif opts[i] == "ceil":
                    L["ceil"] = True
                    i += 1
                else:
                    raise ValueError("%s: unknown option %r" % (path, opts[i]))
            c, h, wd = shape
            if k == "conv":
                n = L["maps"] * c * L["kh"] * L["kw"]
                L["w"] = w[at:at + n].reshape(L["maps"], c, L["kh"], L["kw"])
                L["b"] = w[at + n:at + n + L["maps"]]
                at += n + L["maps"]
                shape = (L["maps"], (h + 2 * L["pad"] - L["kh"]) // L["stride"] + 1,
                         (wd + 2 * L["pad"] - L["kw"]) // L["stride"] + 1)
            elif k == "fc":
                n = L["maps"] * c * h * wd
                L["w"] = w[at:at + n].reshape(L["maps"], c * h * wd)
                L["b"] = w[at + n:at + n + L["maps"]]
                at += n + L["maps"]
                shape = (L["maps"], 1, 1)
            elif k in ("maxpool", "avgpool"):
                shape = (c, pool_out(h, L), pool_out(wd, L, horizontal=True))
            m["layers"].append(L)
    if at != len(w):
        raise ValueError("%s: %d weights used of %d" % (path, at, len(w)))
    c = m["input"][2]
    if not m["mean"]:
        m["mean"] = [np.float32(0.0)] * c
    return m


def pool_out(n, L, horizontal=False):
    """fcn__pool_out: Caffe's ceil rounding, the last window starting inside input + pad."""
    k = L["kw"] if horizontal else L["kh"]
    s, p = L["stride"], L["pad"]
    span = n + 2 * p - k
    o = (-(-span // s) if L["ceil"] else span // s) + 1
    if L["ceil"] and (o - 1) * s >= n + p:
        o -= 1
    return o


def f32(x):
    """The shortest decimal that reads back as the same float32 (for text formats)."""
    x = np.float32(x)
    for d in range(6, 10):
        s = "%.*g" % (d, float(x))
        if np.float32(s) == x:
            return s
    return "%.9g" % float(x)



def write_fcn(m, path):
    """Writes m (as read_fcn returns it) in fcn's format."""
    h, w, c = m["input"]
    lines = ["fcn-model 1", "input %d %d %d" % (h, w, c), "scale %.9g" % float(m["scale"]),
             "mean " + " ".join("%.9g" % float(x) for x in m["mean"])]
    blobs = []
    for L in m["layers"]:
        t = L["type"]
        if t == "conv":
            lines.append("conv %d %d %d stride %d pad %d" % (L["maps"], L["kh"], L["kw"], L["stride"], L["pad"]))
            blobs += [L["w"], L["b"]]
        elif t in ("maxpool", "avgpool"):
            lines.append("%s %d %d stride %d pad %d%s" % (t, L["kh"], L["kw"], L["stride"], L["pad"],
                                                        " ceil" if L.get("ceil") else ""))
        elif t == "fc":
            lines.append("fc %d" % L["maps"])
            blobs += [L["w"], L["b"]]
        elif t == "relu":
            lines.append("relu slope %.9g" % float(L.get("slope", 0.0)))
        else:
            lines.append(t)
    header = ("\n".join(lines) + "\n").encode("ascii")
    weights = b"".join(np.ascontiguousarray(b, dtype="<f4").tobytes() for b in blobs)
    crc = zlib.crc32(weights, zlib.crc32(header)) & 0xFFFFFFFF
    with open(path, "wb") as f:
        f.write(header + ("weights %d crc32 %08x\n" % (len(weights), crc)).encode("ascii") + weights)


def random_n4(seed=1, scale=1.0 / 255.0, mean=124.0):
    """A stand-in with the ISBI N4 architecture (95x95x1 input; conv 4x4 48, maxpool 2,
    conv 5x5 48, maxpool 2, conv 4x4 48, maxpool 2, conv 4x4 48, maxpool 2, fc 200, fc 2,
    softmax; relu after each pool and fc 200) and random weights."""
    rng = np.random.default_rng(seed)
    layers, c, s = [], 1, 95
    for k in (4, 5, 4, 4):
        fan = c * k * k
        layers.append({"type": "conv", "maps": 48, "kh": k, "kw": k, "stride": 1, "pad": 0,
                       "w": (rng.standard_normal((48, c, k, k)) / np.sqrt(fan)).astype(np.float32),
                       "b": (0.1 * rng.standard_normal(48)).astype(np.float32)})
        layers.append({"type": "maxpool", "kh": 2, "kw": 2, "stride": 2, "pad": 0, "ceil": False})
        layers.append({"type": "relu", "slope": np.float32(0.0)})
        c, s = 48, (s - k + 1) // 2
    for n, act in ((200, True), (2, False)):
        fan = c * s * s
        layers.append({"type": "fc", "maps": n,
                       "w": (rng.standard_normal((n, fan)) / np.sqrt(fan)).astype(np.float32),
                       "b": (0.1 * rng.standard_normal(n)).astype(np.float32)})
        if act:
            layers.append({"type": "relu", "slope": np.float32(0.0)})
        c, s = n, 1
    layers.append({"type": "softmax"})
    return {"input": (95, 95, 1), "scale": np.float32(scale), "mean": [np.float32(mean)], "layers": layers}
