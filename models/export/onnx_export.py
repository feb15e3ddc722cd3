"""Export the trained networks to ONNX (opset 17, float32, symbolic batch N) with model cards, and check
each file with onnxruntime's CPUExecutionProvider against PyTorch.

  PYTHONPATH=/opt/ort python3 -m models.export.onnx_export [--ckpt models/.data/run2] [--kb models/.data/run1/kb.pt]
writes models/zoo/<name>/{model.onnx, card.json} and models/zoo/akb-kb-k<K>/ (the source KB snapshot).
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch
import torch.nn as nn

from models.common.nets import Decoder, Embedder, Encoder, VisionEncoder, count_params, extract
from models.export.cards import ZOO, quality_for, training_for, write_card
from models.train.akb import AKBNet, C_LAT, MAX_USES
from models.train.common import load_ckpt

OPSET = 17


class BaselineEncoder(nn.Module):
    def __init__(self, enc, c, snr=None):
        super().__init__()
        self.enc, self.c, self.snr = enc, c, snr

    def forward(self, image, snr_db=None):
        s = image[:, :1, 0, 0] * 0 + self.snr if snr_db is None else snr_db
        z = self.enc(image, s).flatten(1)
        return z * torch.sqrt(self.c * 32.0 / (z * z).sum(1, keepdim=True).clamp_min(1e-12))


class BaselineDecoder(nn.Module):
    def __init__(self, dec, c, snr=None):
        super().__init__()
        self.dec, self.c, self.snr = dec, c, snr

    def forward(self, latent, snr_db=None):
        s = latent[:, :1] * 0 + self.snr if snr_db is None else snr_db
        return self.dec(latent.reshape(-1, self.c, 8, 8), s)


class AKBEncoder(nn.Module):
    """(image, prior, snr_db, length) -> latent [N, 1024]: the first 2*length reals power-normalized, rest 0."""

    def __init__(self, enc, prior_input=True):
        super().__init__()
        self.enc, self.prior_input = enc, prior_input
        self.register_buffer("ar", torch.arange(2 * MAX_USES, dtype=torch.float32)[None])

    def forward(self, image, prior, snr_db, length):
        x = torch.cat([image, prior], 1) if self.prior_input else image
        mask = (self.ar < 2 * length).float()
        z = self.enc(x, snr_db).flatten(1) * mask
        return z * torch.sqrt(length / (z * z).sum(1, keepdim=True).clamp_min(1e-12))


class AKBDecoder(nn.Module):
    def __init__(self, dec):
        super().__init__()
        self.dec = dec
        self.register_buffer("ar", torch.arange(2 * MAX_USES, dtype=torch.float32)[None])

    def forward(self, latent, prior, snr_db, length):
        mask = (self.ar < 2 * length).float()
        y = torch.cat([(latent * mask).reshape(-1, C_LAT, 8, 8), mask.reshape(-1, C_LAT, 8, 8)], 1)
        return self.dec(y, snr_db, prior)


def export(model, inputs: dict, out_names, path):
    model.eval()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    dyn = {n: {0: "N"} for n in list(inputs) + list(out_names)}
    torch.onnx.export(model, tuple(inputs.values()), path, input_names=list(inputs), output_names=list(out_names),
                      dynamic_axes=dyn, opset_version=OPSET, do_constant_folding=True)
    import onnx
    import onnxruntime as ort
    onnx.checker.check_model(onnx.load(path))
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feeds = {k: v.numpy() for k, v in inputs.items()}
    got = sess.run(None, feeds)
    with torch.no_grad():
        want = model(*inputs.values())
    want = want if isinstance(want, (tuple, list)) else [want]
    err = max(float(np.abs(g - w.numpy()).max()) for g, w in zip(got, want))
    assert err < 1e-4, (path, err)
    assert os.path.getsize(path) < 8 * 1024 * 1024, path
    return err


def io(name, shape, rng=None, desc=None, dtype="float32"):
    d = dict(name=name, shape=shape, dtype=dtype)
    if rng is not None:
        d["range"] = rng
    if desc:
        d["description"] = desc
    return d


IMG = io("image", ["N", 3, 32, 32], [0, 1], "RGB, NCHW, values in [0, 1]")
SNR = io("snr_db", ["N", 1], [-2, 20], "channel SNR in dB (receiver: the effective SNR after equalization)")


def deepjscc(ck_path, ratio, recs, args):
    ck = load_ckpt(ck_path)
    G, c, F = ck["G"], ck["c"], ck["F"]
    enc, dec = Encoder(G, 3, c, F, film=True), Decoder(G, c, F, film=True)
    enc.load_state_dict({k: v.float() for k, v in ck["enc"].items()})
    dec.load_state_dict({k: v.float() for k, v in ck["dec"].items()})
    k = c * 32
    lat = io("latent", ["N", 2 * k], None, f"{k} complex channel symbols, interleaved I/Q: latent[2i] = Re s_i, "
             f"latent[2i+1] = Im s_i; power-normalized per image: sum(latent^2) = {k} (unit power per symbol)")
    for g, (name, ts) in enumerate(zip(ck["names"], ck["train_snrs"])):
        e1, d1 = extract(enc, g).eval(), extract(dec, g).eval()
        adaptive = ts is None
        x = torch.rand(4, 3, 32, 32)
        s = torch.full((4, 1), 5.0)
        E, D = BaselineEncoder(e1, c, None if adaptive else float(ts)), BaselineDecoder(d1, c, None if adaptive else float(ts))
        ein = {"image": x, "snr_db": s} if adaptive else {"image": x}
        with torch.no_grad():
            y = E(*ein.values()) + 0.1 * torch.randn(4, 2 * k)
        din = {"latent": y, "snr_db": s} if adaptive else {"latent": y}
        common = dict(family="deepjscc", bandwidth_ratio=f"1/{ratio}", channel_uses=k,
                      snr_db_range=[-2, 20] if adaptive else [ts, ts], trained_snr_db=None if adaptive else ts,
                      snr_adaptive=adaptive, training=training_for("deepjscc", ratio, ck, args),
                      quality=quality_for(recs, name), architecture=(
                          "Bourtsoulatze et al. 2019 Deep JSCC: five 5x5 conv (strides 2,2,1,1,1, PReLU) / five 5x5 "
                          f"transposed conv (strides 1,1,1,2,2, PReLU, sigmoid out), width {F}; a FiLM layer after each "
                          "PReLU (per-channel scale and shift from the SNR" + (")" if adaptive else
                                                                               ", here a constant: a learned per-channel affine)")))
        for role, M, inp, outs, ins_card, outs_card in (
                ("encoder", E, ein, ["latent"], [IMG] + ([SNR] if adaptive else []), [lat]),
                ("decoder", D, din, ["image"], [dict(lat, description="received noisy latent, same layout as the "
                                                     "encoder's output (after equalization on fading channels)")]
                 + ([SNR] if adaptive else []), [IMG])):
            path = os.path.join(ZOO, f"{name}-{role[:3]}", "model.onnx")
            err = export(M, inp, outs, path)
            write_card(path, dict(name=f"{name}-{role[:3]}", role=role, pair=f"{name}-{'dec' if role == 'encoder' else 'enc'}",
                                  inputs=ins_card, outputs=outs_card, params=count_params(M), ort_max_abs_err=err, **common))
            print("wrote", path)


def akb(ck_path, kb, recs, args):
    ck = load_ckpt(ck_path)
    net = AKBNet(ck["G"], ck["F"])
    net.load_state_dict({k: v.float() for k, v in ck["net"].items()})
    K = ck.get("K_main") or 256
    e0, d0 = extract(net.enc, 0).eval(), extract(net.dec, 0).eval()
    E, D = AKBEncoder(e0), AKBDecoder(d0)
    x, p = torch.rand(4, 3, 32, 32), torch.rand(4, 3, 32, 32)
    s, L = torch.tensor([[0.0], [5.0], [10.0], [20.0]]), torch.tensor([[240.0], [100.0], [512.0], [32.0]])
    with torch.no_grad():
        y = E(x, p, s, L) + 0.1 * torch.randn(4, 2 * MAX_USES)
    prior = io("prior", ["N", 3, 32, 32], [0, 1], f"the KB entry's prior (mean image), decoded index; akb-kb-k{K}")
    length = io("length", ["N", 1], [1, MAX_USES], "latent complex symbols sent (the rate action minus the index "
                "symbols), a whole number as float32")
    lat = io("latent", ["N", 2 * MAX_USES], None, "512 ordered complex symbols, interleaved I/Q (channel-major "
             "order of a 16x8x8 tensor); only the first 2*length reals are sent, power-normalized so that their "
             "squares sum to length; the rest are 0")
    common = dict(family="akb-jscc", bandwidth_ratio="1/48..1/6 (any prefix of 1..512 symbols)", channel_uses=[32, MAX_USES],
                  snr_db_range=[-2, 20], snr_adaptive=True, kb=f"akb-kb-k{K}", training=training_for("akb", None, ck, args),
                  quality=quality_for(recs, "akb", K=K), architecture=(
                      "the Deep JSCC networks (width 64, FiLM on SNR) with 16 latent channels; encoder input = image "
                      "and prior (6 channels); decoder: latent + its mask (32 channels) and the prior through two "
                      "strided convs at 8x8, output sigmoid(r + logit(prior)); trained on random prefixes"))
    for role, M, inp, outs, ins_card, outs_card in (
            ("encoder", E, {"image": x, "prior": p, "snr_db": s, "length": L}, ["latent"], [IMG, prior, SNR, length], [lat]),
            ("decoder", D, {"latent": y, "prior": p, "snr_db": s, "length": L}, ["image"],
             [dict(lat, description="received noisy latent; entries past 2*length are ignored"), prior, SNR, length], [IMG])):
        name = f"akb-jscc-{role[:3]}"
        path = os.path.join(ZOO, name, "model.onnx")
        err = export(M, inp, outs, path)
        write_card(path, dict(name=name, role=role, pair=f"akb-jscc-{'dec' if role == 'encoder' else 'enc'}",
                              inputs=ins_card, outputs=outs_card, params=count_params(M), ort_max_abs_err=err, **common))
        print("wrote", path)
    return K


def kb_models(kb, K, args):
    D = kb["D"]
    emb = io("embedding", ["N", D], None, f"{D}-dim embedding; the KB entry is the key nearest in squared Euclidean distance")
    for role, name, M, sd in (("vision-encoder", "akb-vision-encoder", VisionEncoder(D), kb.get("vision")),
                              ("embedder", "akb-embedder", Embedder(D), kb["embedder"])):
        if sd is None:
            continue
        M.load_state_dict({k: v.float() for k, v in sd.items()})
        path = os.path.join(ZOO, name, "model.onnx")
        err = export(M, {"image": torch.rand(4, 3, 32, 32)}, ["embedding"], path)
        st = {s["K"]: s for s in kb["stats"]}[K]
        write_card(path, dict(name=name, role=role, family="akb-jscc", kb=f"akb-kb-k{K}", inputs=[IMG], outputs=[emb],
                              params=count_params(M), ort_max_abs_err=err,
                              training=training_for(role, None, kb["train"], args),
                              quality=[dict(metric="edge_cloud_entry_agreement", dataset="cifar10-test", K=K,
                                            value=st["agreement_edge_vs_cloud"]),
                                       dict(metric="prior_psnr", dataset="cifar10-test", K=K, selection="edge",
                                            value=st["prior_psnr_edge"])] +
                              ([dict(metric="class_accuracy", dataset="cifar10-test",
                                     value=kb["train"].get("vision_test_class_accuracy"))] if role == "vision-encoder" else [])))
        print("wrote", path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default="models/.data/run2")
    ap.add_argument("--kb", default="models/.data/run1/kb.pt")
    ap.add_argument("--parts", default="deepjscc,akb,kb")
    args = ap.parse_args()
    with open(os.path.join(os.path.dirname(__file__), "..", "eval", "results", "jscc_grid.json")) as f:
        recs = json.load(f)["records"]
    kb = load_ckpt(args.kb)
    torch.manual_seed(0)
    parts = args.parts.split(",")
    if "deepjscc" in parts:
        for ratio in (12, 6):
            deepjscc(os.path.join(args.ckpt, f"base{ratio}.pt"), ratio, recs, args)
    K = load_ckpt(os.path.join(args.ckpt, "akb.pt")).get("K_main") or 256
    if "akb" in parts:
        K = akb(os.path.join(args.ckpt, "akb.pt"), kb, recs, args)
    if "kb" in parts:
        kb_models(kb, K, args)
        from models.export.kb_snapshot import write_kb
        write_kb(kb, K)


if __name__ == "__main__":
    main()
