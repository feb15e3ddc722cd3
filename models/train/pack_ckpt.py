"""Shrink checkpoints so they travel to the GPU machine (64 MiB in all with the data): weights as float16,
and a KB without the vision encoder (the cloud model is not needed to train or evaluate the JSCC models)
and with the training selections as int16.

  python3 -m models.train.pack_ckpt SRC_DIR DST_DIR
"""
from __future__ import annotations

import os
import sys

import numpy as np
import torch

from models.train.common import load_ckpt


def half(sd):
    return {k: (v.half() if torch.is_tensor(v) and v.is_floating_point() else v) for k, v in sd.items()}


def main(src, dst):
    os.makedirs(dst, exist_ok=True)
    for name in ("base12.pt", "base6.pt", "akb.pt"):
        p = os.path.join(src, name)
        if not os.path.exists(p):
            continue
        ck = load_ckpt(p)
        for k in ("enc", "dec", "net"):
            if k in ck:
                ck[k] = half(ck[k])
        torch.save(ck, os.path.join(dst, name))
    p = os.path.join(src, "kb.pt")
    if os.path.exists(p):
        kb = load_ckpt(p)
        kb.pop("vision", None)
        # numpy arrays as tensors: pickles of numpy arrays do not load across numpy 1 and 2
        kb["gmean"] = torch.from_numpy(np.asarray(kb["gmean"]))
        kb["priors"] = {K: torch.from_numpy(np.asarray(v)) for K, v in kb["priors"].items()}
        for k in ("sel_train", "sel_train_flip"):
            kb[k] = {K: v.to(torch.int16) for K, v in kb[k].items()}
        torch.save(kb, os.path.join(dst, "kb.pt"))
    for f in sorted(os.listdir(dst)):
        print(f, os.path.getsize(os.path.join(dst, f)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
