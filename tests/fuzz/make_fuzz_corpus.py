#!/usr/bin/python3
"""Writes the fuzz seed corpora OUTDIR/{onnx,caffe,wire,fcn} from the test models in
tests/data/import and the shipped models (models/*.onnx, models/*.prototxt +
.caffemodel, models/*.fcn); `make fuzz` writes them to build/fuzz-corpus. They are derived from those
files, so they are built, not committed. caffe seeds: 4-byte little-endian prototxt
length, prototxt, caffemodel (the layout tests/fuzz/fuzz_import.c reads). Seeds over
256 KiB are left out (slow to mutate).

    /usr/bin/python3 tests/fuzz/make_fuzz_corpus.py OUTDIR
"""
import glob
import os
import shutil
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIMIT = 256 * 1024

if len(sys.argv) != 2:
    sys.exit("usage: make_fuzz_corpus.py OUTDIR")
C = sys.argv[1]
shutil.rmtree(C, ignore_errors=True)  # no seed of a model since removed
KINDS = ("onnx", "caffe", "wire", "fcn")
for k in KINDS:
    os.makedirs(os.path.join(C, k))


def put(kind, name, data):
    if len(data) <= LIMIT:
        with open(os.path.join(C, kind, name), "wb") as f:
            f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def pairs(d):
    """(prototxt, caffemodel) paths: the pairs cases.txt names where there is one (test
    cases share files), else NAME.prototxt with NAME.caffemodel."""
    cases = os.path.join(d, "cases.txt")
    if os.path.exists(cases):
        for line in open(cases):
            files = line.split("|")[0].split()[1:]
            if not line.startswith("#") and len(files) == 2:
                yield os.path.join(d, files[0]), os.path.join(d, files[1])
        return
    for p in sorted(glob.glob(os.path.join(d, "*.prototxt"))):
        w = p[:-len(".prototxt")] + ".caffemodel"
        if os.path.exists(w):
            yield p, w


def stem(path):
    return os.path.splitext(os.path.basename(path))[0]


for d in (os.path.join(ROOT, "tests", "data", "import"), os.path.join(ROOT, "models")):
    for p in sorted(glob.glob(os.path.join(d, "*.onnx"))):
        b = read(p)
        put("onnx", os.path.basename(p), b)
        put("wire", os.path.basename(p), b)
    for p in sorted(glob.glob(os.path.join(d, "*.caffemodel"))):
        put("wire", os.path.basename(p), read(p))
    for p in sorted(glob.glob(os.path.join(d, "*.fcn"))):
        put("fcn", os.path.basename(p), read(p))
    for p, w in pairs(d):
        t = read(p)
        put("caffe", "%s+%s.seed" % (stem(p), stem(w)), struct.pack("<I", len(t)) + t + read(w))
print("corpus %s:" % C, {k: len(os.listdir(os.path.join(C, k))) for k in KINDS})
