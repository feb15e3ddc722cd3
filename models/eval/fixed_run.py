"""Evaluate every k/n = 1/12 model of issue 15 on the same channel draws (models/eval/fixed_eval.py) and write
$OUT/fixed_results.json after each stage (stages in order of importance, each skipped when time is short).

  python3 -m models.eval.fixed_run --ckpt-dir models/.data/ckfx --out "$OUT" --deadline <unix time> [--kodak]
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from models.common.data import load_cifar
from models.common.fused import FusedDecoder, FusedEncoder
from models.common.nets import Decoder, Encoder
from models.eval import fixed_eval as fe
from models.train import fixed_kb as fk
from models.train.common import device, load_ckpt, log, save_json
from models.train.fixed import NAMES, KBDev


def load_state(path, dev):
    ck = load_ckpt(path)
    if ck["G"] == 1:
        enc, dec = Encoder(1, 3, 8, ck["F"], film=True), Decoder(1, 8, ck["F"], film=True)
    else:
        enc, dec = FusedEncoder(ck["G"], ck["F"]), FusedDecoder(ck["G"], ck["F"])
    enc.load_state_dict({k: v.float() for k, v in ck["enc"].items()})
    dec.load_state_dict({k: v.float() for k, v in ck["dec"].items()})
    return enc.to(dev).eval(), dec.to(dev).eval(), ck


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--deadline", type=float, required=True)
    ap.add_argument("--kodak", action="store_true")
    ap.add_argument("--test-limit", type=int, default=None)
    a = ap.parse_args()
    t0 = time.time()
    left = lambda: a.deadline - time.time()  # noqa: E731
    dev = device()
    torch.backends.cudnn.benchmark = True
    res = dict(records=[], stages={}, meta={})
    path = os.path.join(a.out, "fixed_results.json")

    def rec(**k):
        res["records"].append(k)

    xtr, _ = load_cifar("train")
    xte, _ = load_cifar("test", limit=a.test_limit)
    kb = load_ckpt(os.path.join(a.ckpt_dir, "kb_fixed.pt"))
    big = json.load(open(os.path.join(a.ckpt_dir, "index_uses_big.json")))
    kbd = KBDev(kb, xtr, big, dev)
    ch_path = os.path.join(a.ckpt_dir, "choices.json")
    choices = json.load(open(ch_path)) if os.path.exists(ch_path) else dict(K_main=256, nn_main=96000, note="default")
    K, NNn = choices["K_main"], choices["nn_main"]
    res["meta"].update(choices=choices, index_uses_big=big, val_prior_psnr=kb.get("val_prior_psnr"),
                       device=torch.cuda.get_device_name() if dev.type == "cuda" else "cpu", torch=torch.__version__)
    models = {}
    for n in fe.BASELINES:
        models[n] = fe.load_zoo_deepjscc(n, dev)
    try:  # the ONNX weights must reproduce the zoo's ONNX outputs
        import onnxruntime as ort
        n = "deepjscc-r12-snr7"
        x = torch.rand(8, 3, 32, 32)
        s = ort.InferenceSession(os.path.join(fe.ZOO, f"{n}-enc", "model.onnx"), providers=["CPUExecutionProvider"])
        z_ort = s.run(None, {"image": x.numpy()})[0]
        with torch.no_grad():
            e = models[n][0].cpu()
            z = e(x, torch.full((8, 1), 7.0)).flatten(1)
            z = z * torch.sqrt(256 / z.pow(2).sum(1, keepdim=True))
            models[n][0].to(dev)
        res["meta"]["zoo_weights_check_max_abs_err"] = float(np.abs(z.numpy() - z_ort).max())
        log("eval", f"zoo weights read back: max abs err vs onnxruntime {res['meta']['zoo_weights_check_max_abs_err']:.2e}")
    except Exception as ex:  # noqa: BLE001
        log("eval", f"onnxruntime check skipped: {ex}")
    for tag in ("deep10", "akbx"):
        p = os.path.join(a.ckpt_dir, f"{tag}.pt")
        if os.path.exists(p):
            enc, dec, ck = load_state(p, dev)
            models[tag] = (enc, dec, 10.0 if tag == "deep10" else None)
            res["meta"][tag] = dict(state={k: v for k, v in ck["state"].items()}, batch=ck["batch"], lr=ck["lr"], seed=ck["seed"])
    singles = [n for n in fe.BASELINES + ["deep10"] if n in models]
    name_of = lambda n: "deepjscc-r12-snr10" if n == "deep10" else n  # noqa: E731

    # near-duplicates of training images in the test split
    dup, best, arg = fe.near_duplicates(xte, xtr, dev)
    res["meta"]["near_duplicates"] = dict(rule="cosine similarity of mean-removed pixels >= 0.9 with a training image "
                                               "or its mirror image", count=int(dup.sum()), n=len(dup),
                                          indices=dup.nonzero().flatten().tolist(),
                                          similarity_quantiles={q: round(float(np.quantile(best.numpy(), q)), 4)
                                                                for q in (0.5, 0.9, 0.99, 0.999)})
    log("eval", f"near-duplicates: {int(dup.sum())} of {len(dup)}")
    keep = (~dup).to(dev)
    X = torch.from_numpy(xte).to(dev).permute(0, 3, 1, 2).float() / 255
    sel = fe.Selector(kbd)

    def point_all(ds, x, prev, ch, s, km_K, nn_n, singles_too=True, subsets=True, counts=None):
        if left() < 10:
            res["stages"]["cut"] = res["stages"].get("cut", []) + [f"{ds} {ch} {s}"]
            return
        d = fe.Draws(len(x), ds, ch, s, dev)
        out = {}
        if singles_too:
            for n in singles:
                e, dd, ts = models[n]
                out[name_of(n)] = (fe.deep_point(e, dd, ts, x, d), {})
        if "akbx" in models:
            e, dd, _ = models["akbx"]
            mse, info = fe.akbx_point(e, dd, kbd, None, prev, s, ch, km_K=km_K, nn_n=nn_n, tag=ds, sel=sel, d=d, x=x)
            for g, n in enumerate(NAMES):
                inf = info.get({0: "km", 2: "nn"}.get(g), {}) if g in (0, 2) else dict(K=1, index_uses=0)
                out[n] = (mse[:, g], inf)
        for n, (mse, inf) in out.items():
            if counts is not None:
                v, per = fe.whole_psnr(mse, counts)
                rec(model=n, dataset=ds, subset="whole-images", channel=ch, snr=s, psnr=round(v, 4), n=len(counts),
                    per_image=[round(p, 3) for p in per], **inf)
                continue
            p = fe.psnr_of(mse)
            if ds == "cifar10-test":
                perimg[f"{n}|{ch}|{s}"] = p.half().cpu().numpy()
            rec(model=n, dataset=ds, subset="all", channel=ch, snr=s, psnr=round(p.mean().item(), 4), n=len(p), **inf)
            if subsets:
                rec(model=n, dataset=ds, subset="no-near-duplicates", channel=ch, snr=s,
                    psnr=round(p[keep].mean().item(), 4), n=int(keep.sum()), **inf)

    perimg = {}

    def stage(name, fn, need):
        if left() < need:
            res["stages"][name] = "skipped (time)"
            log("eval", f"stage {name} skipped: {left():.0f}s left")
            return
        t = time.time()
        fn()
        res["stages"][name] = f"done in {time.time() - t:.0f}s"
        log("eval", f"stage {name} done in {time.time() - t:.0f}s ({time.time() - t0:.0f}s)")
        save_json(res, path)

    def cifar_grid():  # akb-hist here is on CIFAR-10 test with synthetic earlier frames ("cifar10-test-seq")
        for ch in fe.CHANNELS:
            for s in fe.SNR_GRID:
                point_all("cifar10-test", X, None, ch, s, K, NNn)
            save_json(res, path)
        for r in res["records"]:
            if r["model"] == "akb-hist" and r["dataset"] == "cifar10-test":
                r["dataset"] = "cifar10-test-seq"

    def kb_sweep():
        from itertools import zip_longest
        e, dd, _ = models["akbx"]
        for s in fe.SNR_GRID:
            if left() < 10:
                return
            d = fe.Draws(len(X), "cifar10-test", "awgn", s, dev)
            for KK, nn_n in zip_longest([1] + [k for k in kbd.Ks if k != K], [n for n in (1024, 16384, 96000) if n != NNn]):
                mse, info = fe.akbx_point(e, dd, kbd, None, None, s, "awgn", km_K=KK or K, nn_n=nn_n or NNn,
                                          tag="cifar10-test", sel=sel, d=d, x=X)
                for g, n, want in ((0, "akb-fixed", KK), (2, "akb-nn", nn_n)):
                    if want is not None:
                        p = fe.psnr_of(mse[:, g])
                        rec(model=n, dataset="cifar10-test", subset="all", channel="awgn", snr=s, sweep="K",
                            psnr=round(p.mean().item(), 4), n=len(p), **info["km" if g == 0 else "nn"])

    def kodak_whole():
        imgs = fe.kodak_images()
        tl = [fe.tiles_of(a) for a in imgs]
        counts = [len(t) for t in tl]
        xk = torch.from_numpy(np.concatenate(tl)).to(dev).permute(0, 3, 1, 2).float() / 255
        for ch in fe.CHANNELS:
            for s in fe.SNR_GRID:
                point_all("kodak", xk, None, ch, s, K, NNn, counts=counts)
        res["records"] = [r for r in res["records"] if not (r["model"] == "akb-hist" and r["dataset"] == "kodak")]

    def kodak_seq():
        imgs = fe.kodak_images()
        cur, prev, meta = fe.kodak_sequences(imgs)
        res["meta"]["kodak_sequences"] = meta
        ct = [fe.tiles_of(c) for c in cur]
        pt = [fe.tiles_of(p) for p in prev]
        counts = [len(t) for t in ct]
        xc = torch.from_numpy(np.concatenate(ct)).to(dev).permute(0, 3, 1, 2).contiguous()
        xp = torch.from_numpy(np.concatenate(pt)).to(dev).permute(0, 3, 1, 2).contiguous()
        for ch in fe.CHANNELS:
            for s in fe.SNR_GRID:
                point_all("kodak-seq", xc, xp, ch, s, K, NNn, counts=counts)

    stage("cifar10-test grid", cifar_grid, 20)
    if a.kodak:
        stage("kodak whole images", kodak_whole, 20)
        if "akbx" in models:
            stage("kodak sequences", kodak_seq, 20)
    if "akbx" in models:
        stage("KB-size sweep", kb_sweep, 20)
    res["meta"]["eval_seconds"] = round(time.time() - t0, 1)
    save_json(res, path)
    log("eval", f"done in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
