#!/usr/bin/python3
"""Writes the fuzz seed corpora tests/corpus/{onnx,caffe,wire} from the test models in
tests/data/import and the shipped models (models/*.onnx, models/*.prototxt +
.caffemodel). caffe seeds: 4-byte little-endian prototxt length, prototxt, caffemodel
(the layout tests/fuzz/fuzz_import.c reads). Seeds over 256 KiB are left out (slow to mutate)."""
import glob
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
C = os.path.join(ROOT, "tests", "corpus")
LIMIT = 256 * 1024


def put(kind, name, data):
    if len(data) <= LIMIT:
        os.makedirs(os.path.join(C, kind), exist_ok=True)
        open(os.path.join(C, kind, name), "wb").write(data)


for d in (os.path.join(ROOT, "tests", "data", "import"), os.path.join(ROOT, "models")):
    for p in sorted(glob.glob(os.path.join(d, "*.onnx"))):
        b = open(p, "rb").read()
        put("onnx", os.path.basename(p), b)
        put("wire", os.path.basename(p), b)
    for p in sorted(glob.glob(os.path.join(d, "*.prototxt"))):
        w = p[:-len(".prototxt")] + ".caffemodel"
        if os.path.exists(w):
            t, b = open(p, "rb").read(), open(w, "rb").read()
            put("caffe", os.path.basename(p) + ".seed", struct.pack("<I", len(t)) + t + b)
            put("wire", os.path.basename(w), b)
print("corpus:", {k: len(os.listdir(os.path.join(C, k))) for k in ("onnx", "caffe", "wire")})
