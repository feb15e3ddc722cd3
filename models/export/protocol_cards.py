"""Write each zoo model's card in the protocol's model-card schema (protocol/schema/model-card.schema.json).

The training run writes a detailed card (provenance, parameters, export checks, the DQN's action table);
it is kept beside the model as `export.json`, and `card.json` becomes the schema's card that runtimes read.
Idempotent: a folder whose export.json exists is rebuilt from it.

  python3 -m models.export.protocol_cards --commit <git commit of the training code>
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
from fractions import Fraction

ZOO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "zoo")
METRICS = {"psnr", "ssim", "ms-ssim", "lpips", "accuracy"}
CHANNELS = {"awgn", "rayleigh", "rician", "gilbert-elliott", "ota"}
DTYPES = {"float32", "float16", "int8", "uint8", "int32", "int64", "bool"}


def tensor(t: dict) -> dict:
    out = {"name": t["name"], "dtype": t["dtype"] if t["dtype"] in DTYPES else "float32", "shape": t["shape"]}
    r = t.get("range")
    if isinstance(r, list) and len(r) == 2:
        out["range"] = {"min": float(r[0]), "max": float(r[1])}
    desc = t.get("description") or ("; ".join(t["fields"]) if "fields" in t else None)
    if desc:
        out["description"] = desc[:2000]
    if len(t["shape"]) == 4 and t["shape"][1] == 3:
        out["layout"] = "NCHW"
    return out


def ratio(card: dict) -> list:
    r = card.get("bandwidth_ratio")
    if isinstance(r, str) and ".." in r:
        # A rate-agile model: every prefix the rate actions use, k/n = uses / 3072 for 32x32 RGB.
        lo, hi = (float(Fraction(x)) for x in re.findall(r"\d+/\d+", r)[:2])
        return [u / 3072 for u in (64, 128, 256, 384, 512) if lo - 1e-9 <= u / 3072 <= hi + 1e-9]
    if isinstance(r, str) and "/" in r:
        return [float(Fraction(r))]
    if isinstance(r, (int, float)):
        return [float(r)]
    return []


def source_size(card: dict) -> int:
    """n of k/n: real values in one source image (3 x 32 x 32 = 3072), from the card's `image` tensor."""
    for t in list(card.get("inputs", [])) + list(card.get("outputs", [])):
        if t.get("name") == "image" and all(isinstance(d, int) for d in t["shape"][1:]):
            n = 1
            for d in t["shape"][1:]:
                n *= d
            return n
    return 3072


def point_ratio(card: dict, q: dict, ratios: list):
    """The bandwidth ratio k/n a quality point was measured at, or None when the record does not say.

    A point that names its channel uses (AKB-JSCC's points are measured at 256 and 512 uses, index included)
    is at uses / n; one that names a ratio is at that ratio; otherwise the model's own rate, when it has
    exactly one (the per-ratio Deep JSCC models: the card-level channel_uses, or the single ratio).
    Never the first of a rate-agile model's ratios: that labelled 512-use results as 1/48.
    """
    n = source_size(card)
    if isinstance(q.get("channel_uses"), (int, float)):
        r = float(Fraction(int(q["channel_uses"]), n))
    elif q.get("bandwidth_ratio") is not None:
        r = ratio({"bandwidth_ratio": q["bandwidth_ratio"]})
        if len(r) != 1:
            raise ValueError(f"{card['name']}: quality point with bandwidth_ratio {q['bandwidth_ratio']!r}")
        r = r[0]
    elif isinstance(card.get("channel_uses"), (int, float)):
        r = float(Fraction(int(card["channel_uses"]), n))
    elif len(ratios) == 1:
        r = ratios[0]
    else:
        return None
    if ratios and not any(abs(r - x) < 1e-12 for x in ratios):
        raise ValueError(f"{card['name']}: a quality point at k/n = {r} is outside the card's ratios {ratios}")
    return r


def quality(card: dict) -> list:
    points = []
    ratios = ratio(card)
    for q in card.get("quality", []) or []:
        if not isinstance(q, dict) or q.get("metric") not in METRICS or q.get("channel") not in CHANNELS:
            continue
        p = {"metric": q["metric"], "snr": float(q["snr_db"]), "channel": q["channel"], "value": float(q["value"])}
        r = point_ratio(card, q, ratios)
        if r is not None:
            p["bandwidthRatio"] = r
        if q.get("dataset"):
            p["dataset"] = str(q["dataset"])[:200]
        points.append(p)
    return points[:1000]


def training(card: dict, commit: str) -> dict:
    t = card.get("training", {}) or {}
    cmds = t.get("commands") or []
    command = " && ".join(c["command"] for c in cmds if isinstance(c, dict) and "command" in c) or t.get("command") or "see models/README.md"
    out = {
        "data": str(t.get("data") or "CIFAR-10 training split")[:500],
        "seed": int(t.get("seed", 0)),
        "commit": commit,
        "command": command[:2000],
    }
    if isinstance(t.get("epochs"), (int, float)) and t["epochs"] >= 1:
        out["epochs"] = int(round(t["epochs"]))
    if isinstance(card.get("trained_snr_db"), (int, float)):
        out["trainSnrDb"] = float(card["trained_snr_db"])
    return out


def protocol_card(card: dict, commit: str) -> dict:
    out = {
        "$schema": "../../../protocol/schema/model-card.schema.json",
        "v": 1,
        "name": card["name"],
        "version": "1.0.0",
        "role": card["role"],
        "description": f"{card.get('family', '')} {card['role']}; details and provenance in export.json".strip(),
        "inputs": [tensor(t) for t in card["inputs"]],
        "outputs": [tensor(t) for t in card["outputs"]],
        "bandwidthRatios": ratio(card),
    }
    rng = card.get("snr_db_range")
    if isinstance(rng, list) and len(rng) == 2:
        out["snrRange"] = {"min": float(rng[0]), "max": float(rng[1])}
    chans = sorted({q["channel"] for q in quality(card)})
    if chans:
        out["channels"] = chans
    out["training"] = training(card, commit)
    out["quality"] = quality(card)
    out["onnx"] = {"file": card["file"], "sha256": card["sha256"], "opset": int(card["opset"]), "sizeBytes": int(card["size_bytes"])}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--commit", required=True)
    a = ap.parse_args()
    for card_path in sorted(glob.glob(os.path.join(ZOO, "*", "card.json"))):
        folder = os.path.dirname(card_path)
        export_path = os.path.join(folder, "export.json")
        if not os.path.exists(export_path):
            os.replace(card_path, export_path)
        with open(export_path) as f:
            card = json.load(f)
        with open(card_path, "w") as f:
            json.dump(protocol_card(card, a.commit), f, indent=2)
            f.write("\n")
        print(f"{os.path.basename(folder)}: card.json written")


if __name__ == "__main__":
    main()
