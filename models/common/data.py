"""Datasets: CIFAR-10 packed JPEGs and Kodak, decoded to uint8 arrays.

Layout under models/.data (made by models/train/prepare_data.py, ignored by git):
  cifar10/{train,test}.jpgs     concatenated JPEG files (copied from shared/datasets/cifar10)
  cifar10/{train,test}.meta.npz offsets (int64), lengths (int64), labels (uint8)
  kodak/kodimNN.{png,webp}      the 24 Kodak images (webp: lossless, smaller to carry)
Decoded arrays are NHWC uint8.
"""
from __future__ import annotations

import io
import json
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", ".data"))
SHARED = "/work/shared/datasets"


def _decode_chunk(args):
    path, offs, lens = args[:3]
    head = args[3] if len(args) > 3 else None  # packed form: shared JPEG header + scan, EOI appended
    out = np.empty((len(offs), 32, 32, 3), np.uint8)
    with open(path, "rb") as f:
        for i, (o, n) in enumerate(zip(offs, lens)):
            f.seek(int(o))
            b = f.read(int(n))
            if head is not None:
                b = head + b + b"\xff\xd9"
            out[i] = np.asarray(Image.open(io.BytesIO(b)).convert("RGB"))
    return out


CIFAR_DIR = os.environ.get("AKB_CIFAR_DIR", "cifar10")  # "cifar10s": a strided training subset; "cifar10p": packed (see prepare_data)


def _dir(split: str, root: str = DATA) -> str:
    d = os.path.join(root, CIFAR_DIR, split)  # packed form: one folder per split
    return d if os.path.isdir(d) else os.path.join(root, CIFAR_DIR)


def meta(split: str, root: str = DATA):
    p = os.path.join(_dir(split, root), f"{split}.meta.npz")
    if os.path.exists(p):
        m = np.load(p)
        return m["offsets"].astype(np.int64), m["lengths"].astype(np.int64), m["labels"]
    with open(os.path.join(SHARED, "cifar10", f"{split}.index.json")) as f:
        e = np.asarray(json.load(f)["entries"], np.int64)
    return e[:, 0], e[:, 1], e[:, 2].astype(np.uint8)


def load_cifar(split: str, root: str = DATA, limit: int | None = None, workers: int = 8):
    """Return (images uint8 [N,32,32,3], labels uint8 [N])."""
    cache = os.path.join("/dev/shm" if os.path.isdir("/dev/shm") else "/tmp", f"akb_{CIFAR_DIR}_{split}_{limit}.npz")
    if os.path.exists(cache):
        z = np.load(cache)
        return z["x"], z["y"]
    offs, lens, labels = meta(split, root)
    path = os.path.join(_dir(split, root), f"{split}.jpgs")
    head = None
    if os.path.exists(os.path.join(_dir(split, root), "header.jpg")):  # packed: models/train/prepare_data.py --packed
        path = os.path.join(_dir(split, root), f"{split}.scan")
        with open(os.path.join(_dir(split, root), "header.jpg"), "rb") as f:
            head = f.read()
    elif not os.path.exists(path):
        path = os.path.join(SHARED, "cifar10", f"{split}.jpgs")
    if limit is not None:
        # a class-balanced subset: the packed file is in class order
        idx = np.linspace(0, len(offs) - 1, limit).astype(np.int64)
        offs, lens, labels = offs[idx], lens[idx], labels[idx]
    chunks = np.array_split(np.arange(len(offs)), max(1, workers * 4))
    jobs = [(path, offs[c], lens[c], head) for c in chunks if len(c)]
    if workers > 1 and len(offs) > 2000:
        with ProcessPoolExecutor(workers) as ex:
            parts = list(ex.map(_decode_chunk, jobs))
    else:
        parts = [_decode_chunk(j) for j in jobs]
    x = np.concatenate(parts)
    np.savez(cache, x=x, y=labels)
    return x, labels


def train_orig_index(root: str = DATA, limit: int | None = None) -> np.ndarray:
    """Index into the full 50,000-image training split of each image load_cifar("train") returns."""
    p = os.path.join(root, CIFAR_DIR, "train.meta.npz")
    idx = np.arange(50000)
    if os.path.exists(p):
        m = np.load(p)
        idx = m["orig_index"].astype(np.int64) if "orig_index" in m else np.arange(len(m["offsets"]))
    if limit is not None:
        idx = idx[np.linspace(0, len(idx) - 1, limit).astype(np.int64)]
    return idx


def kodak_files(root: str = DATA):
    d = os.path.join(root, "kodak")
    names = [f"kodim{i:02d}" for i in range(1, 25)]
    out = []
    for n in names:
        for ext in ("webp", "png"):
            for base in (d, os.path.join(SHARED, "kodak")):
                p = os.path.join(base, f"{n}.{ext}")
                if os.path.exists(p):
                    out.append(p)
                    break
            else:
                continue
            break
    return out


def kodak_tiles(root: str = DATA, tile: int = 32):
    """All 24 Kodak images cut into non-overlapping tile x tile patches: uint8 [M,tile,tile,3]
    (768x512 and 512x768 both give 384 tiles of 32x32, so M = 9216) and the image id per tile."""
    tiles, ids = [], []
    for k, p in enumerate(kodak_files(root)):
        a = np.asarray(Image.open(p).convert("RGB"))
        h, w = a.shape[0] // tile * tile, a.shape[1] // tile * tile
        t = a[:h, :w].reshape(h // tile, tile, w // tile, tile, 3).transpose(0, 2, 1, 3, 4).reshape(-1, tile, tile, 3)
        tiles.append(t)
        ids.append(np.full(len(t), k, np.int16))
    return np.concatenate(tiles), np.concatenate(ids)


def complexity(x_u8: np.ndarray) -> np.ndarray:
    """Source complexity per image: mean absolute gradient of the grey image, in [0,1] units."""
    g = x_u8.astype(np.float32).mean(-1) / 255.0
    gx = np.abs(np.diff(g, axis=2)).mean((1, 2))
    gy = np.abs(np.diff(g, axis=1)).mean((1, 2))
    return (gx + gy) / 2
