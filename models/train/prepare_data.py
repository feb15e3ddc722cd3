"""Copy the datasets into models/.data (ignored by git) in the compact form that travels to the GPU
machine: CIFAR-10 packed JPEGs with an .npz index, Kodak as lossless WebP (pixel-identical, smaller).

  python3 -m models.train.prepare_data [--cifar] [--kodak]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil

import numpy as np
from PIL import Image

from models.common.data import DATA, SHARED


def cifar():
    d = os.path.join(DATA, "cifar10")
    os.makedirs(d, exist_ok=True)
    for split in ("train", "test"):
        with open(os.path.join(SHARED, "cifar10", f"{split}.index.json")) as f:
            e = np.asarray(json.load(f)["entries"], np.int64)
        np.savez_compressed(os.path.join(d, f"{split}.meta.npz"), offsets=e[:, 0].astype(np.uint32), lengths=e[:, 1].astype(np.uint32), labels=e[:, 2].astype(np.uint8))
        dst = os.path.join(d, f"{split}.jpgs")
        if not os.path.exists(dst) or os.path.getsize(dst) != os.path.getsize(os.path.join(SHARED, "cifar10", f"{split}.jpgs")):
            shutil.copyfile(os.path.join(SHARED, "cifar10", f"{split}.jpgs"), dst)


def cifar_subset(n: int):
    """cifar10s/: every (50000/n)-th training image (class balanced) and the whole test split."""
    src, d = os.path.join(DATA, "cifar10"), os.path.join(DATA, "cifar10s")
    os.makedirs(d, exist_ok=True)
    m = np.load(os.path.join(src, "train.meta.npz"))
    keep = np.linspace(0, 49999, n).round().astype(np.int64)
    offs, lens = m["offsets"].astype(np.int64), m["lengths"].astype(np.int64)
    new_offs = np.concatenate([[0], np.cumsum(lens[keep])[:-1]])
    with open(os.path.join(src, "train.jpgs"), "rb") as f, open(os.path.join(d, "train.jpgs"), "wb") as g:
        for i in keep:
            f.seek(offs[i])
            g.write(f.read(lens[i]))
    np.savez_compressed(os.path.join(d, "train.meta.npz"), offsets=new_offs.astype(np.uint32),
                        lengths=lens[keep].astype(np.uint32), labels=m["labels"][keep], orig_index=keep.astype(np.uint32))
    for f in ("test.jpgs", "test.meta.npz"):
        shutil.copyfile(os.path.join(src, f), os.path.join(d, f))


def cifar_packed():
    """cifar10p/: the same JPEG files without their header, which all 60,000 share byte for byte (623 bytes:
    JFIF, quality-75 tables, standard Huffman tables, SOF, SOS). header.jpg + scan + FFD9 is the original file,
    so decoding is pixel-identical; the split shrinks from 55 to 18 MB, which fits the GPU machine's carry
    limit beside the tracked files. Split into train/ and test/ so that a call carries only what it needs."""
    heads = set()
    for split in ("train", "test"):
        d = os.path.join(DATA, "cifar10p", split)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(SHARED, "cifar10", f"{split}.index.json")) as f:
            e = np.asarray(json.load(f)["entries"], np.int64)
        with open(os.path.join(SHARED, "cifar10", f"{split}.jpgs"), "rb") as f:
            data = f.read()
        scans, lens = [], []
        for o, n, _ in e:
            b = data[o:o + n]
            k = b.find(b"\xff\xda")
            h = b[:k + 2 + int.from_bytes(b[k + 2:k + 4], "big")]
            assert b[-2:] == b"\xff\xd9"
            heads.add(h)
            scans.append(b[len(h):-2])
            lens.append(len(scans[-1]))
        assert len(heads) == 1, "the JPEG headers differ"
        with open(os.path.join(d, f"{split}.scan"), "wb") as f:
            f.write(b"".join(scans))
        lens = np.asarray(lens, np.int64)
        np.savez_compressed(os.path.join(d, f"{split}.meta.npz"), offsets=np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.uint32),
                            lengths=lens.astype(np.uint16), labels=e[:, 2].astype(np.uint8))
        with open(os.path.join(d, "header.jpg"), "wb") as f:
            f.write(next(iter(heads)))


def kodak():
    d = os.path.join(DATA, "kodak")
    os.makedirs(d, exist_ok=True)
    for i in range(1, 25):
        src = os.path.join(SHARED, "kodak", f"kodim{i:02d}.png")
        dst = os.path.join(d, f"kodim{i:02d}.webp")
        a = np.asarray(Image.open(src).convert("RGB"))
        if not os.path.exists(dst):
            Image.fromarray(a).save(dst, lossless=True, method=6, quality=100)
        assert (np.asarray(Image.open(dst).convert("RGB")) == a).all(), dst


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--cifar", action="store_true")
    ap.add_argument("--kodak", action="store_true")
    ap.add_argument("--packed", action="store_true", help="cifar10p/{train,test}/: headerless JPEG scans (18 MB)")
    ap.add_argument("--subset", type=int, default=0, help="also write cifar10s/ with this many training images")
    a = ap.parse_args()
    if a.cifar:
        cifar()
    if a.subset:
        cifar_subset(a.subset)
    if a.packed:
        cifar_packed()
    if a.kodak:
        kodak()
