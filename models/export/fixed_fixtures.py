"""Append issue 15's fixtures to models/fixtures/fixtures.json (same 16 test images, committed noise, PyTorch's
PSNR), for test/models/export.test.ts: deepjscc-r12-snr10 at 10 dB, akb-fixed (K = 1024) at 1 dB.

  python3 -m models.export.fixed_fixtures        (akb-fixed: PyTorch's PSNR from models/.data/run_st2/akbx.pt)
"""
from __future__ import annotations

import json
import math
import os

import numpy as np
import torch

from models.common.channel import index_length
from models.common.metrics import psnr
from models.export.fixtures import FIX, ZOO, save, sha
from models.common.fused import FusedDecoder, FusedEncoder, extract_fused
from models.export.fixed_export import FixedDecoder, FixedEncoder, ort_outputs
from models.train.common import load_ckpt


def main(run=os.path.join(os.path.dirname(FIX), ".data", "run_st2")):
    fx_path = os.path.join(FIX, "fixtures.json")
    fx = json.load(open(fx_path))
    x = torch.from_numpy(np.fromfile(os.path.join(FIX, "images.f32"), "<f4").reshape(16, 3, 32, 32))
    fx["fixtures"] = [f for f in fx["fixtures"] if f["name"] not in ("deepjscc-r12-snr10-awgn10", "akb-fixed-k1024-awgn1")]
    # Deep JSCC at 10 dB: everything through onnxruntime-node; PyTorch's figure from the same ONNX graph's weights
    snr = 10.0
    sigma = math.sqrt(10 ** (-snr / 10) / 2)
    noise = torch.randn(16, 512, generator=torch.Generator().manual_seed(2026)) * sigma
    z = torch.from_numpy(ort_outputs(os.path.join(ZOO, "deepjscc-r12-snr10-enc", "model.onnx"), {"image": x}))
    out = torch.from_numpy(ort_outputs(os.path.join(ZOO, "deepjscc-r12-snr10-dec", "model.onnx"), {"latent": z + noise}))
    p = psnr(out, x)
    fx["fixtures"].append(dict(
        name="deepjscc-r12-snr10-awgn10", encoder="deepjscc-r12-snr10-enc", decoder="deepjscc-r12-snr10-dec",
        encoder_sha256=sha(os.path.join(ZOO, "deepjscc-r12-snr10-enc", "model.onnx")),
        decoder_sha256=sha(os.path.join(ZOO, "deepjscc-r12-snr10-dec", "model.onnx")), snr_db=snr, channel="awgn",
        noise_sigma_per_real=sigma, recipe="latent = encoder(images); received = latent + noise; recon = decoder(received)",
        images="images.f32", noise=save("deepjscc_r12_snr10_noise.f32", noise.numpy()),
        psnr_db_per_image=[round(v, 4) for v in p.tolist()], psnr_db_mean=round(p.mean().item(), 4),
        psnr_source="onnxruntime-node on this machine (the export check found the ONNX within 1e-4 of PyTorch)",
        tolerance_db=0.05))
    # akb-fixed with its k-means KB (K = 1024) at 1 dB, 256 uses: the index takes m, the latent 256 - m
    K, snr = 1024, 1.0
    kbdir = os.path.join(ZOO, f"akb-fixed-kb-k{K}")
    pri = torch.from_numpy(np.fromfile(os.path.join(kbdir, "priors.u8"), np.uint8).reshape(K, 32, 32, 3)).permute(0, 3, 1, 2).float() / 255
    d = ((x.flatten(1)[:, None] - pri.flatten(1)[None]) ** 2).sum(-1)
    entry = d.argmin(1)
    prior = pri[entry]
    m = index_length(K, snr, 256)
    L = torch.full((16, 1), float(256 - m))
    s = torch.full((16, 1), snr)
    sigma = math.sqrt(10 ** (-snr / 10) / 2)
    noise = torch.randn(16, 512, generator=torch.Generator().manual_seed(2027)) * sigma
    z = torch.from_numpy(ort_outputs(os.path.join(ZOO, "akb-fixed-enc", "model.onnx"), {"image": x, "prior": prior, "snr_db": s, "length": L}))
    out = torch.from_numpy(ort_outputs(os.path.join(ZOO, "akb-fixed-dec", "model.onnx"),
                                       {"latent": z + noise, "prior": prior, "snr_db": s, "length": L}))
    p_ort = psnr(out, x)
    # PyTorch's figure: copy 0 of the trained checkpoint, in float32
    ck = load_ckpt(os.path.join(run, "akbx.pt"))
    enc, dec = FusedEncoder(ck["G"], ck["F"]), FusedDecoder(ck["G"], ck["F"])
    enc.load_state_dict({k: v.float() for k, v in ck["enc"].items()})
    dec.load_state_dict({k: v.float() for k, v in ck["dec"].items()})
    E, D = FixedEncoder(extract_fused(enc, 0).eval()), FixedDecoder(extract_fused(dec, 0).eval())
    with torch.no_grad():
        p = psnr(D(E(x, prior, s, L) + noise, prior, s, L), x)
    gap = float((p_ort - p).abs().max())
    assert gap < 0.05, f"onnxruntime-node and PyTorch differ by {gap} dB"
    fx["fixtures"].append(dict(
        name="akb-fixed-k1024-awgn1", encoder="akb-fixed-enc", decoder="akb-fixed-dec", kb=f"akb-fixed-kb-k{K}",
        encoder_sha256=sha(os.path.join(ZOO, "akb-fixed-enc", "model.onnx")),
        decoder_sha256=sha(os.path.join(ZOO, "akb-fixed-dec", "model.onnx")), snr_db=snr, channel="awgn",
        channel_uses=256, index_uses=m, length=256 - m, noise_sigma_per_real=sigma, entry=[int(e) for e in entry],
        recipe="entry = argmin ||image - priors[k]/255||^2 (the index taken as received without error); prior = "
               "priors[entry]/255 as NCHW; latent = encoder(images, prior, snr_db, length); received = latent + noise; "
               "recon = decoder(received, prior, snr_db, length)",
        images="images.f32", noise=save("akb_fixed_noise.f32", noise.numpy()), prior=save("akb_fixed_prior.f32", prior.numpy()),
        psnr_db_per_image=[round(v, 4) for v in p.tolist()], psnr_db_mean=round(p.mean().item(), 4),
        psnr_source="PyTorch (float32, copy 0 of the trained checkpoint); onnxruntime-node on this machine gave "
                    f"{p_ort.mean().item():.4f} dB (largest per-image gap {gap:.5f} dB)",
        tolerance_db=0.05))
    with open(fx_path, "w") as f:
        json.dump(fx, f, indent=1)
        f.write("\n")
    for f in fx["fixtures"]:
        print(f["name"], f["psnr_db_mean"])


if __name__ == "__main__":
    main()
