"""Gather what the GPU calls returned (models/.data/run1..3: results.json, log.txt) into committed files:
  models/eval/results/jscc_grid.json      every PSNR/SSIM record (Deep JSCC family and AKB copies)
  models/eval/results/kb.json             source-KB statistics (coverage, prior quality, edge/cloud agreement)
  models/eval/results/quality_table.json  the AKB quality table the channel KB and the DQN are built from
  models/eval/logs/call{1,2,3}.log        the GPU calls' logs

  python3 -m models.eval.collect
"""
from __future__ import annotations

import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", ".data"))
RES = os.path.join(HERE, "results")

CALLS = {
    "call1": dict(dir="run1", command='python3 -m models.train.run_all --out "$OUT" --total 540 --train-until 410 '
                  "--akb-train-until 395 --kb-seconds 70", carry=["models/.data/cifar10"],
                  what="training from scratch on the full CIFAR-10 training split; KB built"),
    "call2": dict(dir="run2", command='AKB_CIFAR_DIR=cifar10s python3 -m models.train.run_all --out "$OUT" --total 540 '
                  "--train-until 425 --akb-train-until 405 --resume-dir models/.data/ckpt --repair",
                  carry=["models/.data/cifar10s", "models/.data/ckpt"],
                  what="resumed training on a 30,000-image strided subset of the training split (the carry limit), "
                       "copies left behind restarted from the best copy; final CIFAR-10 evaluation"),
    "call3": dict(dir="run3", command='python3 -m models.train.run_all --out "$OUT" --total 200 --train-until 0 '
                  "--akb-train-until 0 --no-train --skip-cifar --kodak --resume-dir models/.data/ckpt2",
                  carry=["models/.data/kodak", "models/.data/ckpt2"], what="Kodak evaluation of the final weights"),
}


def load(name):
    with open(os.path.join(DATA, CALLS[name]["dir"], "results.json")) as f:
        return json.load(f)


def main():
    os.makedirs(RES, exist_ok=True)
    os.makedirs(os.path.join(HERE, "logs"), exist_ok=True)
    c1, c2, c3 = load("call1"), load("call2"), load("call3")
    recs = []
    for src in (c2, c3):
        for part in ("base12", "base6", "akb"):
            recs += src["parts"].get(part, {}).get("records", [])
    training = {}
    for part in ("base12", "base6", "akb"):
        p1, p2 = c1["parts"][part], c2["parts"][part]
        training[part] = dict(steps_call1=p1["steps"], steps_total=p2["steps"], epochs_total=round(p2.get("epochs", 0), 1),
                              train_seconds=round(p2["train_seconds"], 1), repairs=p2.get("repairs", []),
                              device=p2["device"])
    meta = dict(calls={k: {kk: vv for kk, vv in v.items() if kk != "dir"} for k, v in CALLS.items()},
                env=c2["env"], training=training, K_main=c2["parts"]["akb"]["K_main"],
                low_snr_psnr_by_K=c2["parts"]["akb"]["low_snr_psnr_by_K"],
                conventions=dict(psnr="per image, averaged over images; images in [0,1]",
                                 ssim="11x11 Gaussian window (sigma 1.5), per channel, averaged",
                                 rayleigh="block fading h~CN(0,1) per image, receiver knows h (zero forcing); "
                                          "SNR-adaptive decoders are given the instantaneous SNR",
                                 noise="a fixed generator seed per (channel, SNR) point",
                                 akb_frame="KB index (index_uses) + latent (latent_uses) = channel_uses"))
    with open(os.path.join(RES, "jscc_grid.json"), "w") as f:
        json.dump(dict(meta=meta, records=recs), f, indent=0)
    a1 = c1["parts"]["akb"]
    with open(os.path.join(RES, "kb.json"), "w") as f:
        json.dump(dict(stats=a1["kb_stats"], train=a1["kb_train"],
                       note="test images never enter the KB; distances are to the nearest key in the "
                            "vision-encoder embedding space (the edge embedder's embedding for test images)"), f, indent=1)
    with open(os.path.join(RES, "quality_table.json"), "w") as f:
        json.dump(c2["parts"]["akb"]["quality_table"], f)
    for k, v in CALLS.items():
        shutil.copyfile(os.path.join(DATA, v["dir"], "log.txt"), os.path.join(HERE, "logs", f"{k}.log"))
    print(f"{len(recs)} records")


if __name__ == "__main__":
    main()
