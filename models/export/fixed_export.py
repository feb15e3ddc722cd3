"""Export issue 15's models (the H200 calls' weights) to ONNX with cards and the k-means KB snapshot.

  python3 -m models.train.fixed_steps unpack <call 2's $OUT> models/.data/run_st2
  python3 -m models.export.fixed_export --commit <commit> [--parts akbx[,deep10]] [--run models/.data/run_st2]
writes models/zoo/{akb-fixed,akb-fixed-nokb,akb-nn,akb-hist}-{enc,dec}/ (model.onnx, export.json, card.json) and
models/zoo/akb-fixed-kb-k<K>/ (deep10: models/zoo/deepjscc-r12-snr10-{enc,dec}/ from run_fx2/deep10.pt); the
runtime fixtures come from models/export/fixed_fixtures.py.
The ONNX check against PyTorch runs in onnxruntime-node (models/export/ort_check.mjs), since onnxruntime's
Python package is not on this machine; the TypeScript export test repeats it from the fixtures.
"""
from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import subprocess
import tempfile

import numpy as np
import torch
import torch.nn as nn

from models.common.fused import C_LAT, USES, FusedDecoder, FusedEncoder, extract_fused
from models.common.nets import Decoder, Encoder, count_params
from models.export.cards import write_card
from models.export.onnx_export import OPSET, BaselineDecoder, BaselineEncoder, io
from models.export.protocol_cards import protocol_card
from models.train.common import load_ckpt

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
ZOO = os.path.join(ROOT, "models", "zoo")
FIX = os.path.join(ROOT, "models", "fixtures")
RES = os.path.join(ROOT, "models", "eval", "results", "issue15_stable_call2.json")   # the akb family (retrained)
RES_DEEP10 = os.path.join(ROOT, "models", "eval", "results", "issue15_call2.json")  # deepjscc-r12-snr10
NAMES = ["akb-fixed", "akb-fixed-nokb", "akb-nn", "akb-hist"]


class FixedEncoder(nn.Module):
    """(image, prior, snr_db, length) -> latent [N, 512]: the first 2*length reals power-normalized, rest 0."""

    def __init__(self, enc):
        super().__init__()
        self.enc = enc
        self.register_buffer("ar", torch.arange(2 * USES, dtype=torch.float32)[None])

    def forward(self, image, prior, snr_db, length):
        cond = torch.cat([snr_db / 20.0, length / float(USES)], 1)[:, None]
        mask = (self.ar < 2 * length).float()
        z = self.enc(image, prior, cond).flatten(1) * mask
        return z * torch.sqrt(length / (z * z).sum(1, keepdim=True).clamp_min(1e-12))


class FixedDecoder(nn.Module):
    def __init__(self, dec):
        super().__init__()
        self.dec = dec
        self.register_buffer("ar", torch.arange(2 * USES, dtype=torch.float32)[None])

    def forward(self, latent, prior, snr_db, length):
        cond = torch.cat([snr_db / 20.0, length / float(USES)], 1)[:, None]
        mask = (self.ar < 2 * length).float()
        return self.dec((latent * mask).reshape(-1, C_LAT, 8, 8), mask.reshape(-1, C_LAT, 8, 8), prior, cond)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def ort_outputs(path, feeds):
    """Run an ONNX file in onnxruntime-node on float32 feeds; returns its first output as numpy."""
    with tempfile.TemporaryDirectory() as d:
        spec = {}
        for k, v in feeds.items():
            a = np.ascontiguousarray(v.detach().numpy(), dtype="<f4")
            a.tofile(os.path.join(d, k + ".f32"))
            spec[k] = list(a.shape)
        json.dump(dict(model=path, inputs=spec, dir=d), open(os.path.join(d, "spec.json"), "w"))
        subprocess.run(["node", os.path.join(HERE, "ort_check.mjs"), os.path.join(d, "spec.json")], check=True, cwd=ROOT)
        meta = json.load(open(os.path.join(d, "out.json")))
        return np.fromfile(os.path.join(d, "out.f32"), "<f4").reshape(meta["shape"])


def export(model, inputs, out_names, path):
    model.eval()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    dyn = {n: {0: "N"} for n in list(inputs) + list(out_names)}
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    torch.onnx.export(model, tuple(inputs.values()), path, input_names=list(inputs), output_names=list(out_names),
                      dynamic_axes=dyn, opset_version=OPSET, do_constant_folding=True, **legacy)
    import onnx
    onnx.checker.check_model(onnx.load(path))
    with torch.no_grad():
        want = model(*inputs.values()).numpy()
    err = float(np.abs(ort_outputs(path, inputs) - want).max())
    assert err < 1e-4, (path, err)
    assert os.path.getsize(path) < 8 * 1024 * 1024, path
    return err


def quality(recs, model):
    out = []
    for r in recs:
        if r["model"] != model or r.get("sweep") or r["dataset"] not in ("cifar10-test", "kodak", "cifar10-test-seq", "kodak-seq"):
            continue
        if r["subset"] not in ("all", "whole-images"):
            continue
        q = dict(metric="psnr", snr_db=r["snr"], channel=r["channel"], dataset=r["dataset"] + ("-whole" if r["dataset"].startswith("kodak") else ""),
                 value=r["psnr"], channel_uses=USES)
        for k in ("K", "index_uses", "index_error_rate"):
            if k in r:
                q[k] = r[k]
        out.append(q)
    return out


def training(ck, kind, call_cmds):
    st = ck["state"]
    base = dict(loss="MSE", optimizer="Adam", batch=ck["batch"], lr_peak=ck["lr"], seed=ck["seed"], steps=st["step"],
                epochs=round(st["epochs"], 1), train_seconds=round(st["seconds"], 1), calls=st["calls"],
                device="NVIDIA H200 (one GPU), torch 2.11.0+cu130", commands=call_cmds)
    if kind == "deep10":
        return dict(base, data="CIFAR-10 training split: call 1 the 48,000 images outside the validation slice (every "
                               "25th image), call 2 all 50,000; random horizontal flips", channel="AWGN only; 10 dB",
                    schedule="warm-up then cosine by step, the step count fitted to each call's time",
                    weights="float16 (rounded before the final evaluation), exported as float32")
    return dict(base, data="CIFAR-10 training split: call 1 the 48,000 images outside the validation slice (every 25th "
                           "image), call 2 all 50,000; random horizontal flips; the four copies on the same batches",
                channel="AWGN only; SNR half uniform in [-2, 20] dB, half in [-2, 6] dB; KB size of akb-fixed uniform "
                        "in {16, 64, 256, 1024}",
                schedule="one warm-up + cosine run by step (peak 5e-4, floor 2%), planned in call 1 from the measured "
                         "step rate and call 2's seconds; call 2 continued from the point reached (no learning-rate "
                         "rise) and refitted only the rest of the cosine to its time (models/train/fixed_steps.py)",
                clipping=f"per copy: gradient norm clipped to {ck.get('clip', 3.0)}x the copy's running mean norm",
                schedule_end=f"stopped at step {st['step']} of {st['total']} (lr at 1.0e-5 of the 1.0e-5 floor)",
                weights="float32 as evaluated, exported as float32")


CALLS = [dict(call="call1", command='AKB_CIFAR_DIR=cifar10p python3 -m models.train.run_fixed --out "$OUT" --phase 1 '
                                   '--total 560 --train-until 470 --later-seconds 450',
              carry=["models/.data/cifar10p", "models/.data/kodak"]),
         dict(call="call2", command='AKB_CIFAR_DIR=cifar10p python3 -m models.train.run_fixed --out "$OUT" --phase 2 '
                                   '--total 560 --train-until 465 --kodak', carry=[])]
CALLS_DEEP10 = [dict(call="call1", command='AKB_CIFAR_DIR=cifar10p python3 -m models.train.run_fixed --out /tmp/o --phase 1 '
                                          '--total 540 --train-until 385', carry=["models/.data/cifar10p"]),
                dict(call="call2", command='AKB_CIFAR_DIR=cifar10p python3 -m models.train.run_fixed --out /tmp/o2 --phase 2 '
                                          '--total 545 --train-until 440 --kodak', carry=["models/.data/kodak"])]
IMG = io("image", ["N", 3, 32, 32], [0, 1], "RGB, NCHW, values in [0, 1]")
SNR = io("snr_db", ["N", 1], [-2, 20], "encoder: the transmitter's SNR estimate in dB; decoder: the effective SNR "
         "after equalization")
LEN = io("length", ["N", 1], [128, USES], "latent complex symbols sent: 256 minus the index symbols of the frame "
         "(a whole number as float32)")
LAT = io("latent", ["N", 2 * USES], None, "256 ordered complex symbols, interleaved I/Q (channel-major order of an "
         "8x8x8 tensor); only the first 2*length reals are sent, power-normalized so that their squares sum to "
         "length; the rest are 0")
PRIOR_DESC = {
    "akb-fixed": "the prior of the k-means KB entry named by the decoded index (akb-fixed-kb-k{K}: priors.u8[entry]/255); "
                 "the global mean (gmean.u8) when no index is sent",
    "akb-fixed-nokb": "always the global mean image (akb-fixed-kb-k{K}/gmean.u8 / 255): the no-KB twin",
    "akb-nn": "the training image (or its mirror) named by the decoded 17-bit index: the 48,000 CIFAR-10 training "
              "images outside the validation slice (not shipped in the zoo)",
    "akb-hist": "the camera's earlier frame of the same 32x32 tile, known at both ends (device-history KB)",
}


def write_kb(kb, K, big):
    d = os.path.join(ZOO, f"akb-fixed-kb-k{K}")
    os.makedirs(d, exist_ok=True)
    pri = kb["priors"][K].permute(0, 2, 3, 1).contiguous().numpy().astype(np.uint8)
    pri.tofile(os.path.join(d, "priors.u8"))
    gm = kb["gmean"].permute(1, 2, 0).contiguous().numpy().astype(np.uint8)
    gm.tofile(os.path.join(d, "gmean.u8"))
    t = json.load(open(os.path.join(ROOT, "models", "common", "index_uses.json")))
    meta = dict(card_version=1, name=f"akb-fixed-kb-k{K}", role="knowledge-base", version=f"cifar10-train48k-pixel-kmeans-k{K}-v1",
                K=K, files={"priors.u8": dict(shape=[K, 32, 32, 3], dtype="uint8", sha256=sha(os.path.join(d, "priors.u8")),
                                              description="entry priors (k-means centroids in pixel space), HWC RGB, value/255"),
                            "gmean.u8": dict(shape=[32, 32, 3], dtype="uint8", sha256=sha(os.path.join(d, "gmean.u8")),
                                             description="mean of the 48,000 KB images: the prior when no index is sent")},
                built_from="the 48,000 CIFAR-10 training images outside the validation slice (every 25th image) and "
                           "their mirror images; k-means in pixel space, 25 iterations (models/train/fixed_kb.py)",
                selection="entry = argmin_k ||image - priors[k]/255||^2 over all pixels (the transmitter holds the priors)",
                K_choice=f"K = {K} picked on the validation slice (mean PSNR at -2, 0, 1, 2, 4, 5 dB, AWGN, index sent and decoded), "
                         "among 16, 64, 256, 1024",
                index_code=dict(see="models/zoo/akb-kb-k256/kb.json (same code: QPSK, systematic bits then lowbias32 parity, ML decoding)",
                                snr_db=t["snr_db"], uses=t["uses"][str(K)] if str(K) in t["uses"] else big["uses"][str(K)],
                                length_rule="uses[floor(snr_db) - snr_db[0]] at the transmitter's SNR; -1 or more than 128: "
                                            "no index, the decoder uses gmean and length = 256"),
                models=["akb-fixed-enc", "akb-fixed-dec"])
    json.dump(meta, open(os.path.join(d, "kb.json"), "w"), indent=1)
    return d


def card(path, name, role, pair, ins, outs, M, err, extra, commit):
    write_card(path, dict(name=name, role=role, pair=pair, inputs=ins, outputs=outs, params=count_params(M),
                          ort_max_abs_err=err, **extra))
    folder = os.path.dirname(path)
    os.replace(os.path.join(folder, "card.json"), os.path.join(folder, "export.json"))
    with open(os.path.join(folder, "export.json")) as f:
        c = json.load(f)
    with open(os.path.join(folder, "card.json"), "w") as f:
        json.dump(protocol_card(c, commit), f, indent=2)
        f.write("\n")
    print("wrote", folder)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default=os.path.join(ROOT, "models", ".data", "run_st2"))
    ap.add_argument("--kb", default=os.path.join(ROOT, "models", ".data", "run_st2", "kb_fixed.pt"))
    ap.add_argument("--commit", required=True, help="the commit that holds the training code")
    ap.add_argument("--parts", default="akbx")
    a = ap.parse_args()
    torch.manual_seed(0)
    recs = json.load(open(RES))["records"]
    choices = json.load(open(RES))["meta"]["choices"]
    K = choices["K_main"]
    if "deep10" in a.parts:
        ck = load_ckpt(os.path.join(a.run, "deep10.pt"))
        enc, dec = Encoder(1, 3, C_LAT, ck["F"], film=True), Decoder(1, C_LAT, ck["F"], film=True)
        enc.load_state_dict({k: v.float() for k, v in ck["enc"].items()})
        dec.load_state_dict({k: v.float() for k, v in ck["dec"].items()})
        E, D = BaselineEncoder(enc.eval(), C_LAT, 10.0), BaselineDecoder(dec.eval(), C_LAT, 10.0)
        x = torch.rand(4, 3, 32, 32)
        with torch.no_grad():
            y = E(x) + 0.1 * torch.randn(4, 2 * USES)
        lat = io("latent", ["N", 2 * USES], None, "256 complex channel symbols, interleaved I/Q: latent[2i] = Re s_i, "
                 "latent[2i+1] = Im s_i; power-normalized per image: sum(latent^2) = 256 (unit power per symbol)")
        common = dict(family="deepjscc", bandwidth_ratio="1/12", channel_uses=USES, snr_db_range=[10, 10], trained_snr_db=10,
                      snr_adaptive=False, training=training(ck, "deep10", CALLS_DEEP10), quality=quality(json.load(open(RES_DEEP10))["records"], "deepjscc-r12-snr10"),
                      architecture="Bourtsoulatze et al. 2019 Deep JSCC as the zoo's other deepjscc models (width 64, FiLM "
                                   "on a constant 10 dB: a learned per-channel affine), trained at 10 dB as the paper did")
        for role, M, inp, outs, ci, co in (("encoder", E, {"image": x}, ["latent"], [IMG], [lat]),
                                           ("decoder", D, {"latent": y}, ["image"], [dict(lat, description="received noisy latent")], [IMG])):
            name = f"deepjscc-r12-snr10-{role[:3]}"
            path = os.path.join(ZOO, name, "model.onnx")
            err = export(M, inp, outs, path)
            card(path, name, role, f"deepjscc-r12-snr10-{'dec' if role == 'encoder' else 'enc'}", ci, co, M, err, common, a.commit)
    if "akbx" in a.parts:
        ck = load_ckpt(os.path.join(a.run, "akbx.pt"))
        enc, dec = FusedEncoder(ck["G"], ck["F"]), FusedDecoder(ck["G"], ck["F"])
        enc.load_state_dict({k: v.float() for k, v in ck["enc"].items()})
        dec.load_state_dict({k: v.float() for k, v in ck["dec"].items()})
        kb = load_ckpt(a.kb)
        big = json.load(open(os.path.join(ROOT, "models", "common", "index_uses_big.json")))
        write_kb(kb, K, big)
        for g, n in enumerate(NAMES):
            E, D = FixedEncoder(extract_fused(enc, g).eval()), FixedDecoder(extract_fused(dec, g).eval())
            x, p = torch.rand(4, 3, 32, 32), torch.rand(4, 3, 32, 32)
            s, L = torch.tensor([[0.0], [5.0], [10.0], [20.0]]), torch.tensor([[238.0], [246.0], [250.0], [256.0]])
            with torch.no_grad():
                y = E(x, p, s, L) + 0.1 * torch.randn(4, 2 * USES)
            prior = io("prior", ["N", 3, 32, 32], [0, 1], PRIOR_DESC[n].format(K=K))
            common = dict(family="akb-jscc-fixed", bandwidth_ratio="1/12", channel_uses=USES, snr_db_range=[-2, 20],
                          snr_adaptive=True, kb=f"akb-fixed-kb-k{K}" if n == "akb-fixed" else None,
                          knowledge=n, training=training(ck, "akbx", CALLS), quality=quality(recs, n),
                          architecture="Deep JSCC (width 64, 8 latent channels of 8x8 = 256 complex uses) with a side "
                                       "encoder (3 convs, 32 channels) in the encoder and another in the decoder: the "
                                       "prior's features at 16x16 and 8x8 join the input of every stage; FiLM on (snr/20, "
                                       "length/256) after each PReLU; decoder output sigmoid(r + w*logit(prior)); one of "
                                       "four copies trained side by side on the same batches")
            for role, M, inp, outs, ci, co in (
                    ("encoder", E, {"image": x, "prior": p, "snr_db": s, "length": L}, ["latent"], [IMG, prior, SNR, LEN], [LAT]),
                    ("decoder", D, {"latent": y, "prior": p, "snr_db": s, "length": L}, ["image"],
                     [dict(LAT, description="received noisy latent (equalized); entries past 2*length are ignored"), prior, SNR, LEN], [IMG])):
                name = f"{n}-{role[:3]}"
                path = os.path.join(ZOO, name, "model.onnx")
                err = export(M, inp, outs, path)
                card(path, name, role, f"{n}-{'dec' if role == 'encoder' else 'enc'}", ci, co, M, err, common, a.commit)


if __name__ == "__main__":
    main()
