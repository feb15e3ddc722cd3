"""Write the source-KB snapshot the edge and the cloud share: models/zoo/akb-kb-k<K>/
  priors.u8  K x 32 x 32 x 3 uint8 (HWC, RGB): entry k's prior, the mean of its training images
  keys.f32   K x D float32 little-endian: the k-means centroids in the embedding space
  gmean.u8   32 x 32 x 3 uint8: the global mean image (the prior when no index is sent, K = 1)
  kb.json    sizes, layouts, SHA-256 of each file, the index code and its length table, statistics
"""
from __future__ import annotations

import hashlib
import json
import os

import numpy as np

from models.common.channel import INDEX_MAX_LEN, INDEX_SEED, index_table
from models.export.cards import ZOO


def _write(path, arr):
    arr.tofile(path)
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_kb(kb: dict, K: int):
    d = os.path.join(ZOO, f"akb-kb-k{K}")
    os.makedirs(d, exist_ok=True)
    pri = np.ascontiguousarray(np.asarray(kb["priors"][K], np.uint8))
    keys = np.ascontiguousarray(kb["keys"][K].numpy().astype("<f4"))
    gm = np.ascontiguousarray(np.asarray(kb["gmean"], np.uint8))
    files = {}
    for name, arr, shape, dtype, desc in (
            ("priors.u8", pri, [K, 32, 32, 3], "uint8", "entry priors, HWC RGB, value/255 in [0, 1]"),
            ("keys.f32", keys, [K, kb["D"]], "float32le", "entry keys (k-means centroids of the embeddings)"),
            ("gmean.u8", gm, [32, 32, 3], "uint8", "global mean image: the prior when no index is sent")):
        files[name] = dict(shape=shape, dtype=dtype, description=desc, sha256=_write(os.path.join(d, name), arr))
    st = {s["K"]: s for s in kb["stats"]}[K]
    t = index_table()
    card = dict(card_version=1, name=f"akb-kb-k{K}", role="knowledge-base", version=f"cifar10-train-k{K}-v1", K=K,
                embedding_dim=kb["D"], files=files, embedder="akb-embedder", vision_encoder="akb-vision-encoder",
                selection="entry = argmin_k ||embedder(image) - keys[k]||^2",
                index_code=dict(
                    symbols="QPSK; the first ceil(b/2) symbols carry the index bits (bit 2j on I, bit 2j+1 on Q of "
                            "symbol j, LSB first, 1 -> +1/sqrt(2)); symbol j >= ceil(b/2): x = lowbias32((i*4096 + j) "
                            "^ seed), I = (x&1 ? 1 : -1)/sqrt(2), Q = (x&2 ? 1 : -1)/sqrt(2); b = log2(K)",
                    lowbias32="x ^= x>>16; x *= 0x7feb352d; x ^= x>>15; x *= 0x846ca68b; x ^= x>>16 (uint32)",
                    seed=INDEX_SEED, max_symbols=INDEX_MAX_LEN,
                    decoder="maximum correlation Re<y, c_k> over the K codewords (after equalization)",
                    length_rule="uses[K][floor(snr_db) - snr_db[0]] at the transmitter's SNR estimate; -1 or more "
                                "than half the frame: send no index and use gmean",
                    snr_db=t["snr_db"], uses=t["uses"].get(str(K)), target_word_error=t["target_word_error"]),
                frame="[index symbols][latent symbols]: both count against the frame's channel uses",
                built_from="CIFAR-10 training split only (50,000 images); no test image",
                stats=st, training=kb["train"])
    with open(os.path.join(d, "kb.json"), "w") as f:
        json.dump(card, f, indent=1)
        f.write("\n")
    print("wrote", d)
