"""Fixtures for the TypeScript runtime: 16 CIFAR-10 test images, the noise added on the channel, and what
PyTorch gets, so a test can run the ONNX encoder and decoder with the same noise and compare PSNR.

  PYTHONPATH=/opt/ort python3 -m models.export.fixtures
writes models/fixtures/ (see models/fixtures/README.md for the formats).
"""
from __future__ import annotations

import hashlib
import json
import math
import os

import numpy as np
import torch

from models.common.data import load_cifar
from models.common.metrics import psnr
from models.common.nets import Decoder, Embedder, Encoder, extract
from models.export.onnx_export import AKBDecoder, AKBEncoder, BaselineDecoder, BaselineEncoder
from models.train.akb import AKBNet
from models.train.common import load_ckpt

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.normpath(os.path.join(HERE, "..", "fixtures"))
ZOO = os.path.normpath(os.path.join(HERE, "..", "zoo"))
PICK = [i * 625 + 7 for i in range(16)]  # the test split is in class order: 1,000 images per class


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def save(name, arr):
    p = os.path.join(FIX, name)
    np.ascontiguousarray(arr, dtype="<f4").tofile(p)
    return dict(file=name, dtype="float32le", shape=list(arr.shape), sha256=sha(p))


def ort_run(model_dir, feeds):
    import onnxruntime as ort
    s = ort.InferenceSession(os.path.join(ZOO, model_dir, "model.onnx"), providers=["CPUExecutionProvider"])
    return s.run(None, {k: v.numpy() for k, v in feeds.items()})[0]


def baseline_fixture(x, ckpt="models/.data/run2/base12.pt", copy="deepjscc-r12-snr7", snr=7.0):
    ck = load_ckpt(ckpt)
    G, c, F = ck["G"], ck["c"], ck["F"]
    g = ck["names"].index(copy)
    enc, dec = Encoder(G, 3, c, F), Decoder(G, c, F)
    enc.load_state_dict({k: v.float() for k, v in ck["enc"].items()})
    dec.load_state_dict({k: v.float() for k, v in ck["dec"].items()})
    E = BaselineEncoder(extract(enc, g).eval(), c, float(snr))
    D = BaselineDecoder(extract(dec, g).eval(), c, float(snr))
    k = c * 32
    sigma = math.sqrt(10 ** (-snr / 10) / 2)
    noise = torch.randn(len(x), 2 * k, generator=torch.Generator().manual_seed(2024)) * sigma
    with torch.no_grad():
        z = E(x)
        out = D(z + noise)
    p_torch = psnr(out, x)
    z_ort = ort_run(f"{copy}-enc", {"image": x})
    out_ort = ort_run(f"{copy}-dec", {"latent": torch.from_numpy(z_ort) + noise})
    p_ort = psnr(torch.from_numpy(out_ort), x)
    assert abs(p_ort.mean() - p_torch.mean()) < 0.01, (p_ort.mean(), p_torch.mean())
    return dict(
        name="deepjscc-r12-snr7-awgn7", encoder=f"{copy}-enc", decoder=f"{copy}-dec",
        encoder_sha256=sha(os.path.join(ZOO, f"{copy}-enc", "model.onnx")),
        decoder_sha256=sha(os.path.join(ZOO, f"{copy}-dec", "model.onnx")),
        snr_db=snr, channel="awgn", noise_sigma_per_real=sigma,
        recipe="latent = encoder(images); received = latent + noise; recon = decoder(received)",
        images=save("images.f32", x.numpy()), noise=save("deepjscc_r12_noise.f32", noise.numpy()),
        latent=save("deepjscc_r12_latent.f32", z.numpy()), recon=save("deepjscc_r12_recon.f32", out.numpy()),
        psnr_db_per_image=[round(v, 4) for v in p_torch.tolist()], psnr_db_mean=round(p_torch.mean().item(), 4),
        psnr_db_mean_onnxruntime=round(p_ort.mean().item(), 4), tolerance_db=0.05)


def akb_fixture(x, ckpt="models/.data/run2/akb.pt", snr=1.0, budget=256):
    from models.common.channel import index_length
    ck = load_ckpt(ckpt)
    net = AKBNet(ck["G"], ck["F"])
    net.load_state_dict({k: v.float() for k, v in ck["net"].items()})
    K = ck.get("K_main") or 256
    E, D = AKBEncoder(extract(net.enc, 0).eval()), AKBDecoder(extract(net.dec, 0).eval())
    kbdir = os.path.join(ZOO, f"akb-kb-k{K}")
    pri = np.fromfile(os.path.join(kbdir, "priors.u8"), np.uint8).reshape(K, 32, 32, 3)
    keys = np.fromfile(os.path.join(kbdir, "keys.f32"), "<f4").reshape(K, -1)
    emb = ort_run("akb-embedder", {"image": x})
    entry = ((emb[:, None, :] - keys[None]) ** 2).sum(-1).argmin(1)
    prior = torch.from_numpy(pri[entry]).permute(0, 3, 1, 2).float() / 255
    m = index_length(K, snr, budget)
    L = torch.full((len(x), 1), float(budget - m))
    s = torch.full((len(x), 1), snr)
    sigma = math.sqrt(10 ** (-snr / 10) / 2)
    noise = torch.randn(len(x), 1024, generator=torch.Generator().manual_seed(2025)) * sigma
    with torch.no_grad():
        z = E(x, prior, s, L)
        out = D(z + noise, prior, s, L)
    p_torch = psnr(out, x)
    z_ort = ort_run("akb-jscc-enc", {"image": x, "prior": prior, "snr_db": s, "length": L})
    out_ort = ort_run("akb-jscc-dec", {"latent": torch.from_numpy(z_ort) + noise, "prior": prior, "snr_db": s, "length": L})
    p_ort = psnr(torch.from_numpy(out_ort), x)
    assert abs(p_ort.mean() - p_torch.mean()) < 0.01
    return dict(
        name="akb-jscc-k256-awgn1", encoder="akb-jscc-enc", decoder="akb-jscc-dec", embedder="akb-embedder",
        kb=f"akb-kb-k{K}", snr_db=snr, channel="awgn", channel_uses=budget, index_uses=m, length=budget - m,
        noise_sigma_per_real=sigma, entry=[int(e) for e in entry],
        recipe="entry = argmin ||embedder(images) - keys||^2 (the index is taken as received without error); "
               "prior = priors[entry]/255 as NCHW; latent = encoder(images, prior, snr_db, length); "
               "received = latent + noise (noise past 2*length is irrelevant: the decoder masks it); "
               "recon = decoder(received, prior, snr_db, length)",
        images="images.f32", noise=save("akb_noise.f32", noise.numpy()), prior=save("akb_prior.f32", prior.numpy()),
        latent=save("akb_latent.f32", z.numpy()), recon=save("akb_recon.f32", out.numpy()),
        psnr_db_per_image=[round(v, 4) for v in p_torch.tolist()], psnr_db_mean=round(p_torch.mean().item(), 4),
        psnr_db_mean_onnxruntime=round(p_ort.mean().item(), 4), tolerance_db=0.05)


def main():
    os.makedirs(FIX, exist_ok=True)
    xte, yte = load_cifar("test")
    x = torch.from_numpy(xte[PICK]).permute(0, 3, 1, 2).float() / 255
    out = dict(format="raw little-endian float32 arrays, C order; images NCHW in [0, 1]",
               psnr="per image 10*log10(1/MSE) over all 3*32*32 values, then the mean over images",
               source=dict(dataset="CIFAR-10 test split (shared/datasets/cifar10/test.jpgs)", indices=PICK,
                           labels=[int(v) for v in yte[PICK]]),
               fixtures=[baseline_fixture(x), akb_fixture(x)])
    with open(os.path.join(FIX, "fixtures.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    for fx in out["fixtures"]:
        print(fx["name"], fx["psnr_db_mean"], fx["psnr_db_mean_onnxruntime"])


if __name__ == "__main__":
    main()
