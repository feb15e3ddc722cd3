"""Digital baseline: JPEG at the largest quality whose size fits the channel's capacity, log2(1 + SNR)
bits per complex channel use times the channel uses (an upper bound for any real channel code); a grey
image (0.5) when nothing fits. CPU only, no training.

Two ways to count a JPEG's size:
  jpeg-file     the whole JFIF file as Pillow writes it (headers and tables: about 600 bytes at 32x32,
                more than the channel carries at k/n = 1/12 up to 20 dB)
  jpeg-payload  the entropy-coded scan only plus one byte for the quality: both ends know the standard
                Huffman tables and the quality's quantization tables, so the headers need not be sent
Block Rayleigh: the transmitter picks the quality for the mean SNR; if the image's instantaneous
capacity log2(1 + |h|^2 SNR) * uses is below the size, the frame is lost (grey image).

  python3 -m models.eval.digital [--kodak]      -> models/eval/results/digital.json
"""
from __future__ import annotations

import argparse
import io
import json
import math
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch
from PIL import Image

from models.common.data import kodak_tiles, load_cifar
from models.common.metrics import psnr, ssim
from models.eval.grid import SNR_GRID

QUALITIES = list(range(1, 21)) + list(range(25, 101, 5))
HERE = os.path.dirname(os.path.abspath(__file__))


def _scan_bytes(b: bytes) -> int:
    """Bytes of entropy-coded data: after the SOS segment's header, up to (not including) EOI."""
    i = b.find(b"\xff\xda")
    seg = int.from_bytes(b[i + 2:i + 4], "big")
    return len(b) - (i + 2 + seg) - 2


def _encode_chunk(args):
    x_u8, q = args
    full, pay, dec = [], [], np.empty_like(x_u8)
    for i, a in enumerate(x_u8):
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, "JPEG", quality=q)
        b = buf.getvalue()
        full.append(len(b))
        pay.append(_scan_bytes(b) + 1)
        dec[i] = np.asarray(Image.open(io.BytesIO(b)).convert("RGB"))
    return np.array(full), np.array(pay), dec


def jpeg_table(x_u8: np.ndarray, workers: int = 2):
    """Per image and quality: file bits, payload bits, PSNR, SSIM."""
    N, Q = len(x_u8), len(QUALITIES)
    full, pay, P, S = (np.zeros((N, Q)) for _ in range(4))
    ref = torch.from_numpy(x_u8).permute(0, 3, 1, 2).float() / 255
    chunks = np.array_split(np.arange(N), workers * 4)
    with ProcessPoolExecutor(workers) as ex:
        for qi, q in enumerate(QUALITIES):
            parts = list(ex.map(_encode_chunk, [(x_u8[c], q) for c in chunks]))
            full[:, qi] = np.concatenate([p[0] for p in parts]) * 8
            pay[:, qi] = np.concatenate([p[1] for p in parts]) * 8
            dec = torch.from_numpy(np.concatenate([p[2] for p in parts])).permute(0, 3, 1, 2).float() / 255
            P[:, qi] = psnr(dec, ref).numpy()
            S[:, qi] = ssim(dec, ref).numpy()
    grey = torch.full_like(ref, 0.5)
    return full, pay, P, S, psnr(grey, ref).numpy(), ssim(grey, ref).numpy()


def pick(bits: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Index of the largest quality whose size fits each image's capacity, -1 when none does."""
    fits = bits <= cap[:, None]
    last = fits.shape[1] - 1 - np.argmax(fits[:, ::-1], axis=1)
    return np.where(fits.any(1), last, -1)


def evaluate(table, dataset: str, uses_list=(256, 512), seed=11):
    full, pay, P, S, gP, gS = table
    N = len(P)
    recs = []
    rng = np.random.default_rng(seed)
    h2 = (rng.standard_normal(N) ** 2 + rng.standard_normal(N) ** 2) / 2
    for uses in uses_list:
        for ch in ("awgn", "rayleigh"):
            for s in SNR_GRID:
                g = 10 ** (s / 10)
                cap_tx = np.full(N, math.log2(1 + g) * uses)
                cap_rx = cap_tx if ch == "awgn" else np.log2(1 + h2 * g) * uses
                for name, bits in (("jpeg-file", full), ("jpeg-payload", pay)):
                    qi = pick(bits, cap_tx)
                    sent = qi >= 0
                    ok = sent & (bits[np.arange(N), np.maximum(qi, 0)] <= cap_rx)
                    p = np.where(ok, P[np.arange(N), np.maximum(qi, 0)], gP)
                    ss = np.where(ok, S[np.arange(N), np.maximum(qi, 0)], gS)
                    recs.append(dict(model=name, family="digital", channel_uses=uses, cbr=f"1/{3072 // uses}",
                                     test_snr=s, channel=ch, dataset=dataset, psnr=round(float(p.mean()), 4),
                                     ssim=round(float(ss.mean()), 5), fit_rate=round(float(sent.mean()), 4),
                                     delivered_rate=round(float(ok.mean()), 4),
                                     mean_quality=round(float(np.array(QUALITIES)[qi[sent]].mean()), 2) if sent.any() else None,
                                     n=N))
    return recs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kodak", action="store_true")
    ap.add_argument("--limit", type=int, default=None)
    a = ap.parse_args()
    xte, _ = load_cifar("test", limit=a.limit)
    tabs = {"cifar10-test": jpeg_table(xte)}
    if a.kodak:
        kt, _ = kodak_tiles()
        tabs["kodak-32"] = jpeg_table(kt[: a.limit] if a.limit else kt)
    recs, sizes = [], {}
    for ds, t in tabs.items():
        recs += evaluate(t, ds)
        sizes[ds] = dict(qualities=QUALITIES, mean_file_bytes=(t[0].mean(0) / 8).round(1).tolist(),
                         mean_payload_bytes=(t[1].mean(0) / 8).round(1).tolist(), mean_psnr=t[2].mean(0).round(3).tolist())
    out = dict(meta=dict(description=__doc__.split("\n\n")[0], capacity="log2(1 + SNR) bits per complex use",
                         encoder="Pillow JPEG, 4:2:0, standard tables", grey_psnr={ds: float(t[4].mean()) for ds, t in tabs.items()},
                         sizes=sizes), records=recs)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "digital.json"), "w") as f:
        json.dump(out, f, indent=0)
    for r in recs:
        if r["channel"] == "awgn" and r["channel_uses"] == 256 and r["test_snr"] in (1, 7, 13, 19):
            print(r["dataset"], r["model"], r["test_snr"], r["psnr"], r["fit_rate"], r["mean_quality"])


if __name__ == "__main__":
    main()
