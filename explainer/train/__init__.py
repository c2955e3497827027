"""Train every architecture on a folder of clips and write ``pretrained/NAME/``.

    python -m explainer.train --data DIR --name NAME [--models a,b] [--epochs N]

(the command line is :mod:`explainer.train.__main__`). ``DIR`` is either a set made by
``python -m explainer.data`` (it has a ``manifest.json`` with source-held-out splits and
sequence clips) or any folder-per-class dataset such as ``DIR/dog/*.wav``, ``DIR/cat/*.wav``.
"""

from __future__ import annotations

import copy
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from .. import audio
from ..features import DEFAULT as FEATURES
from ..models import build, model_class
from ..models.fast import folded_copy
from ..pretrained import PRETRAINED_DIR, save_weights, set_dir
from ..scoring import evaluate, frame_accuracy, metrics, origin_metrics, predict  # noqa: F401 (the trainer's API)
from ..trainset import (Dataset, augment, forget_resampling_kernels, freq_mask, freq_shift, load_dataset,
                       sequence_labels, speed)

# oneDNN keeps 1,024 compiled convolutions by default, and training needs more shapes than that: the
# speed augmentation alone applies one resampling kernel per playback ratio (about 1,300), so each batch
# compiled most of its 32 again (60 ms a batch, 20 ms with the room to keep them). The same convolutions
# run, so the weights come out the same. It is read when the first convolution is compiled; a process
# that ran one before importing this module keeps the default. About 115 MB more memory while training.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "4096")


@dataclass
class TrainConfig:
    """Settings of one training run; the CLI maps its flags onto these fields."""

    seed: int = 0  # seeds data order, augmentation and initialisation
    clip_seconds: float = 3.2  # every clip is centre-cropped or zero-padded to this length
    batch_size: int = 32  # clips per optimiser step
    max_epochs: int = 12  # upper bound; early stopping usually ends sooner
    # each architecture's own departures from these settings (epochs, crops, weight averaging, learning
    # rate, memory layout) live on its class, as ``training`` (explainer.models.layers.AudioModel); the
    # dicts below override them by architecture name for one run
    epoch_scale: dict[str, float] = field(default_factory=dict)  # epochs relative to max_epochs
    patience: int = 4  # epochs without a better validation score before stopping
    # no early stop before this: the one-cycle schedule gains most as its rate falls, so the default
    # runs every epoch of it and keeps the best by validation (stopping at 14 of 20 left the LFCC CNN
    # with weights from before the rate came down)
    min_epochs: int = 12
    # validation scores only the last share of a run's epochs (always at least the last one): with the
    # one-cycle schedule the kept epoch lies near the end (the shipped set kept epoch 8 of 9, 10 of 10,
    # 10 and 11 of 12, and 17 of 18 twice), and scoring the LFCC CNN's 360 validation clips costs 22 s an
    # epoch on 2 cores; runs that show a learner every epoch ("Your own sounds", fine-tuning) score all of
    # them (1.0)
    validate_share: float = 0.4
    lr: float = 2e-3  # peak AdamW learning rate (times each model's lr_scale)
    weight_decay: float = 1e-2  # AdamW weight decay
    label_smoothing: float = 0.05  # softens targets so probabilities stay calibrated
    threads: int = 2  # torch intra-op threads; the shipped set was trained on 2 cores
    # models whose input length is free train on random crops: cheaper and a time-shift augmentation
    crop_seconds: dict[str, float] = field(default_factory=dict)
    # random shift of whole spectrogram pictures along the mel axis, in bands, by input kind: the
    # baseline's Flatten ties each weight to one mel row, so it only generalises to unseen pitches
    # when training moves sounds up and down a little
    freq_shift_bands: dict[str, int] = field(default_factory=lambda: {"mel128x128": 10})
    # random playback speed by input kind, as (slowest, fastest): pitch and tempo move together, so a
    # raw-waveform model meets voices, notes and tones between the ones the training set holds
    speed_range: dict[str, tuple[float, float]] = field(default_factory=lambda: {"waveform": (0.8, 1.25)})
    gain_db: tuple[float, float] = (-12.0, 6.0)  # random gain range applied per clip
    noise_snr_db: tuple[float, float] = (15.0, 45.0)  # random background noise, relative to the clip
    noise_probability: float = 0.5  # share of clips that get background noise
    # Three options against shortcuts on the room, each set by architecture on its class's ``training``
    # (the README's "Train your own set" says what they measured): random crops drawn around a step where
    # the clip sounds, so a 0.64 s crop of a spoken phrase is never a pause labelled "speech";
    crop_on_sound: dict[str, bool] = field(default_factory=dict)  # by architecture, over the class's own
    # the share of training clips that get one or two pauses of their own room (trainset.add_pauses), and
    # the share of the clip those pauses fill, so that pauses in every class are evidence for none;
    pause_probability: dict[str, float] = field(default_factory=dict)  # by architecture, over the class's own
    pause_share: tuple[float, float] = (0.1, 0.35)
    # and pause consistency: up to ``consistency_clips`` clips of each batch that have pauses are heard a
    # second time with each 10 ms of their pauses set to the reference the app's maps measure from, or
    # reversed about it, at random (attribution.quiet_pauses), and this weight times the KL divergence
    # between the two answers joins the loss, so the model learns to draw no evidence from any moment of
    # the room between the sounds
    pause_consistency: dict[str, float] = field(default_factory=dict)  # by architecture, over the class's own
    consistency_clips: int = 8
    # SpecAugment's frequency mask, in rows, by input kind: the beginner CNN's Flatten ties each weight to
    # one mel row, and hiding a band keeps it from resting on one
    freq_mask_bands: dict[str, int] = field(default_factory=lambda: {"mel128x128": 12})
    # exponential moving average of the weights: validation and the saved model use the average, which
    # smooths the epoch-to-epoch swings of models that jump around
    ema_decay: dict[str, float] = field(default_factory=dict)
    sequence_weight: float = 1.0  # weight of the frame loss of frame-level models on sequence clips
    # bfloat16 autocast for the training passes (weights and the saved model stay float32): measured
    # on the 2 development cores, 1.4x (TCN) to 3x (beginner CNN, full-width LFCC CNN) faster steps
    autocast_bf16: bool = True
    split_fractions: tuple[float, float] = (0.7, 0.15)  # train and val shares of a folder dataset
    # fine-tuning a trained set's models on new classes (run(..., parent=...)): the new head learns at
    # this higher rate for a few epochs; what else learns is each architecture's ``finetune_layers``
    finetune_lr: float = 1e-2
    finetune_epochs: int = 60
    # the rate of the body's layers that fine-tuning trains ("last" or "all"), relative to the head's:
    # they already hold what the parent learnt, and a rate as high as a new head's would wash it out
    finetune_body_lr_scale: float = 0.1
    finetune_layers: dict[str, str] = field(default_factory=dict)  # by architecture: "head", "last" or "all"


# what fine-tuning from a trained set may train: the new head only, the block nearest the output as
# well (the model class's ``finetune_block``), or every layer
FINETUNE_LAYERS = ("head", "last", "all")


def model_settings(arch: str, cfg: TrainConfig) -> dict:
    """One architecture's training settings: its class's ``training`` overrides, then the run's.

    Returns ``epoch_scale``, ``crop_seconds`` (``None``: whole clips), ``ema_decay``
    (``None``: no averaging), ``lr_scale``, ``channels_last``, ``finetune_layers``,
    ``crop_on_sound``, ``pause_probability`` and ``pause_consistency``.
    """
    out = {"epoch_scale": 1.0, "crop_seconds": None, "ema_decay": None, "lr_scale": 1.0, "channels_last": False,
           "finetune_layers": "head", "crop_on_sound": False, "pause_probability": 0.0, "pause_consistency": 0.0}
    out.update(getattr(model_class(arch), "training", {}))
    for key in ("epoch_scale", "crop_seconds", "ema_decay", "finetune_layers", "crop_on_sound",
                "pause_probability", "pause_consistency"):
        if arch in getattr(cfg, key):
            out[key] = getattr(cfg, key)[arch]
    return out


def validated_from(epochs: int, share: float) -> int:
    """The first epoch (counted from 1) that a run of ``epochs`` with ``validate_share`` ``share`` scores:
    the last ``share`` of them, and never fewer than the last one."""
    if not 0.0 < share <= 1.0:
        raise ValueError(f"validate_share must be in (0, 1], got {share}")
    return max(1, min(epochs, epochs - math.ceil(epochs * share - 1e-9) + 1))


def from_parent(arch: str, parent: torch.nn.Module, n_classes: int) -> torch.nn.Module:
    """A new ``arch`` for ``n_classes`` classes that starts from ``parent``'s weights.

    Every weight but the classifier ``head`` is copied; the head is new, because the classes
    are. Every model of the registry names its classifier ``head``.
    """
    model = build(arch, n_classes=n_classes)
    own = model.state_dict()
    kept = {k: v for k, v in parent.state_dict().items()
            if not k.startswith("head.") and k in own and own[k].shape == v.shape}
    missing = [k for k in own if not k.startswith(("head.", "front_end.")) and k not in kept]
    if missing:
        raise ValueError(f"{arch}: the parent set's model does not fit this architecture ({missing[:3]})")
    model.load_state_dict(kept, strict=False)
    return model


def trained_prefixes(model: torch.nn.Module, layers: str) -> tuple[str, ...]:
    """Parameter-name prefixes that fine-tuning with ``layers`` (:data:`FINETUNE_LAYERS`) trains."""
    if layers not in FINETUNE_LAYERS:
        raise ValueError(f"layers must be one of {FINETUNE_LAYERS}, got {layers!r}")
    if layers == "all":
        return ("",)
    return ("head.",) + (tuple(f"{b}." for b in model.finetune_block) if layers == "last" else ())


def train_one(arch: str, data: Dataset, cfg: TrainConfig, parent: torch.nn.Module | None = None,
              layers: str | None = None, on_epoch=None) -> tuple[torch.nn.Module, dict]:
    """Train one architecture with AdamW, a cosine schedule and early stopping on validation accuracy.

    With ``parent`` (the same architecture from a trained set), the model starts from its
    weights (:func:`from_parent`) and fine-tunes ``layers`` (:data:`FINETUNE_LAYERS`; ``None``:
    the architecture's ``finetune_layers``). With ``"head"`` only the new classifier head learns;
    with ``"last"`` or ``"all"`` those body layers learn too, at ``finetune_body_lr_scale`` times
    the head's rate. A fine-tuned body keeps its BatchNorm statistics (transfer learning).
    ``on_epoch(epoch, max_epochs, val_accuracy)`` hears about every finished epoch (``val_accuracy``
    is ``None`` for the epochs before ``cfg.validate_share``'s last share, which are not scored).
    """
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = build(arch, n_classes=len(data.classes)) if parent is None else from_parent(arch, parent,
                                                                                       len(data.classes))
    own = model_settings(arch, cfg)
    channels_last = own["channels_last"]
    if channels_last:  # the weights too: with only the input in channels-last, the first layer's output is not
        model = model.to(memory_format=torch.channels_last)
    lr = cfg.lr * own["lr_scale"]
    frozen = parent is not None  # a fine-tuned body keeps its BatchNorm statistics
    layers = "all" if parent is None else (layers or own["finetune_layers"])
    prefixes = trained_prefixes(model, layers)
    head = [p for n, p in model.named_parameters() if n.startswith("head.")]
    body = [p for n, p in model.named_parameters()
            if not n.startswith(("front_end.", "head.")) and n.startswith(prefixes)]
    if frozen:
        for n, p in model.named_parameters():
            p.requires_grad_(not n.startswith("front_end.") and n.startswith(prefixes))
    params = [p for n, p in model.named_parameters()  # in the model's order, as the optimiser keeps them
              if not n.startswith("front_end.") and n.startswith(prefixes)]
    groups = [{"params": params, "lr": lr}]
    if frozen and body:  # the body's layers learn slower than the new head
        groups = [{"params": head, "lr": lr}, {"params": body, "lr": lr * cfg.finetune_body_lr_scale}]
    opt = torch.optim.AdamW(groups, lr=lr, weight_decay=cfg.weight_decay)
    train_w, train_y = data.waves["train"], data.labels["train"]
    steps_per_epoch = math.ceil(len(train_w) / cfg.batch_size)
    scale = own["epoch_scale"]  # a longer schedule keeps its early-stop floor and patience in proportion
    max_epochs, min_epochs = max(1, round(cfg.max_epochs * scale)), round(cfg.min_epochs * scale)
    patience = max(1, round(cfg.patience * scale))
    total = steps_per_epoch * max_epochs
    first_scored = validated_from(max_epochs, cfg.validate_share)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[g["lr"] for g in groups], total_steps=total,
                                                pct_start=0.15)
    crop = own["crop_seconds"]
    crop = int(crop * audio.SAMPLE_RATE) if crop else None
    # the options against shortcuts on the room, as this run applies them (a fine-tuned body gets none)
    on_sound = bool(own["crop_on_sound"]) and crop is not None
    pauses = 0.0 if frozen else own["pause_probability"]
    mask = 0 if frozen else cfg.freq_mask_bands.get(model.input_kind, 0)
    consistency = 0.0 if frozen else float(own["pause_consistency"])
    seq = data.sequences.get("train") if model.frame_level else None
    if seq is not None:
        seq = (seq[0], sequence_labels(model, seq, data.classes))
    decay = None if frozen else own["ema_decay"]  # a few steps of one layer: nothing to smooth
    ema = None if decay is None else torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(decay), use_buffers=True)
    judged = model if ema is None else ema.module  # the weights that are validated and kept
    best, best_score, best_epoch, stale, history = None, (-1.0, 0.0), 0, 0, []
    start = time.time()
    for epoch in range(max_epochs):
        model.train(not frozen)  # a frozen body keeps its BatchNorm statistics; the head has none
        order = torch.randperm(len(train_w), generator=gen)
        bar = tqdm(range(steps_per_epoch), desc=f"{arch} epoch {epoch + 1}/{max_epochs}", leave=False,
                   file=sys.stderr, disable=None)
        total_loss = 0.0
        for step in bar:
            idx = order[step * cfg.batch_size : (step + 1) * cfg.batch_size]
            wave = train_w[idx]
            if model.input_kind in cfg.speed_range:
                wave = speed(wave, *cfg.speed_range[model.input_kind], gen)
            wave = augment(wave, cfg, gen, crop, on_sound=on_sound, pauses=pauses)
            x = model.front_end(wave)
            if cfg.freq_shift_bands.get(model.input_kind):
                x = freq_shift(x, cfg.freq_shift_bands[model.input_kind], gen)
            if mask:
                x = freq_mask(x, mask, gen)
            # the copies are made last, so each hears the same shift and mask as its clip
            quiet = quieted(model, wave, x, cfg.consistency_clips, gen) if consistency > 0 else None
            if quiet is not None:
                x = torch.cat([x, quiet[1]])
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.autocast_bf16):
                logits = model(x).float()
                if quiet is not None:  # the quieted copies' answers, apart from the batch's own
                    logits, quiet_logits = logits[: len(idx)], logits[len(idx):]
                if seq is not None:  # frame-level targets teach where each class starts and stops
                    j = torch.randint(0, len(seq[0]), (min(8, len(seq[0])),), generator=gen)
                    seq_x = model.front_end(augment(seq[0][j], cfg, gen, None))
                    frames = model.frame_logits(seq_x).float()
            loss = F.cross_entropy(logits, train_y[idx], label_smoothing=cfg.label_smoothing)
            if quiet is not None:
                loss = loss + consistency * F.kl_div(F.log_softmax(quiet_logits, dim=1),
                                                     F.log_softmax(logits[quiet[0]], dim=1),
                                                     log_target=True, reduction="batchmean")
            if seq is not None:
                loss = loss + cfg.sequence_weight * F.cross_entropy(frames, seq[1][j], ignore_index=-100,
                                                                   label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if ema is not None:
                ema.update_parameters(model)
            total_loss += loss.item()
            bar.set_postfix(loss=f"{total_loss / (step + 1):.3f}")
        val_acc = None
        if epoch + 1 >= first_scored:
            with torch.inference_mode():  # scored by the inference copy (BatchNorm folded): same answers, less work
                pred = predict(folded_copy(judged), data.waves["val"])
            val_acc = (pred == data.labels["val"]).float().mean().item()
        history.append({"epoch": epoch + 1, "train_loss": round(total_loss / steps_per_epoch, 4),
                        "val_accuracy": None if val_acc is None else round(val_acc, 4)})
        scored = "not scored" if val_acc is None else f"val acc {val_acc:.3f}"
        print(f"{arch} epoch {epoch + 1}: loss {total_loss / steps_per_epoch:.3f}, {scored}"
              f" ({time.time() - start:.0f} s)", file=sys.stderr, flush=True)
        if on_epoch is not None:
            on_epoch(epoch + 1, max_epochs, val_acc)
        if val_acc is None:
            continue
        score = (val_acc, -total_loss)
        if score > best_score:
            best, best_score, best_epoch, stale = copy.deepcopy(judged.state_dict()), score, epoch + 1, 0
        else:
            stale += 1
            if stale >= patience and epoch + 1 >= min_epochs:
                break
    model.load_state_dict(best)
    if channels_last:  # saved and served in the usual layout
        model = model.to(memory_format=torch.contiguous_format)
    model.eval()
    forget_resampling_kernels()  # the speed augmentation's kernels: up to ~100 MB, of no use after training
    info = {"epochs_run": len(history), "best_epoch": best_epoch, "val_accuracy": round(best_score[0], 4),
            "train_seconds": round(time.time() - start, 1), "history": history, "lr": lr,
            "crop_seconds": None if crop is None else crop / audio.SAMPLE_RATE, "ema_decay": decay,
            "epoch_scale": scale, "trained_layers": layers, "crop_on_sound": on_sound, "pause_probability": pauses,
            "freq_mask_bands": mask, "pause_consistency": consistency, "channels_last": channels_last,
            "trained_params": sum(p.numel() for p in params)}
    return model, info


def quieted(model: torch.nn.Module, wave: torch.Tensor, x: torch.Tensor, limit: int,
            generator: torch.Generator | None = None):
    """The pause-consistency copies of a training batch: up to ``limit`` of its clips that have pauses
    (the app's rule, :func:`explainer.features.sounding`), each with its pauses set to the reference,
    or with ``generator`` each 10 ms of pause set to it or reversed about it at random
    (:func:`explainer.attribution.quiet_pauses`).

    Returns ``(rows, inputs)``, the batch rows chosen and their copies, or ``None`` when no clip of
    the batch has pauses.
    """
    from ..attribution import quiet_pauses
    from ..features import has_pauses, sounding

    with torch.no_grad():
        steps = sounding(wave)
        rows = [i for i in range(len(wave)) if has_pauses(float(steps[i].float().mean()))][:limit]
        if not rows:
            return None
        n = wave.shape[-1]
        inputs = torch.cat([quiet_pauses(x[i : i + 1], model.input_kind, steps[i].numpy(), n, generator)
                            for i in rows])
    return torch.tensor(rows), inputs


def _score(model: torch.nn.Module, data: Dataset) -> dict:
    """The metrics of one model on the data's held-out clips (test, or val when there is no test split)."""
    test_split = "test" if "test" in data.waves else "val"
    pred = predict(model, data.waves[test_split])
    m = metrics(pred, data.labels[test_split], data.classes)
    m["split"] = test_split
    if data.files.get(test_split) and len(data.files[test_split]) <= 200:
        # which held-out clip landed in which cell of the confusion matrix, so a learner can listen to them
        m["clips"] = [[f, int(t), int(q)] for f, t, q in
                      zip(data.files[test_split], data.labels[test_split].tolist(), pred.tolist())]
    m.update(origin_metrics(pred, data.labels[test_split], data.origins.get(test_split, []),
                            data.sources.get(test_split, []), data.classes))
    if model.frame_level and test_split in data.sequences:
        waves = data.sequences[test_split][0]
        m["frame_accuracy"] = frame_accuracy(model, waves, sequence_labels(model, data.sequences[test_split],
                                                                             data.classes))
    return m


def finetune_config(cfg: TrainConfig) -> TrainConfig:
    """The settings of a fine-tuning run: the head's rate and epochs, everything else as ``cfg``."""
    return replace(cfg, lr=cfg.finetune_lr, max_epochs=cfg.finetune_epochs,
                   min_epochs=min(cfg.min_epochs, cfg.finetune_epochs), validate_share=1.0)


def run(data_dir: Path, name: str, archs: list[str], cfg: TrainConfig, out_root: Path | None = None,
        parent: str | None = None, compare_scratch: bool = False, progress=None, events=None,
        layers: str | None = None) -> Path:
    """Train ``archs`` on ``data_dir`` and write weights and ``card.json`` to ``out_root/name``.

    With ``parent`` (a set under ``out_root``, or the shipped folder), each model is fine-tuned from
    that set's model of the same architecture (:func:`train_one`: a new head, and the body layers of
    each architecture's ``finetune_layers``, or of ``layers`` for all of them), and the card records
    the parent and the layers trained. With ``compare_scratch`` as well, each architecture is also
    trained from random weights on the same clips and scored on the same held-out clips; the card
    keeps that model's scores and time under ``scratch`` (its weights are not kept).

    Progress goes to two optional listeners: ``progress(fraction, text)`` hears about each model
    as it starts; ``events(event)`` hears about every run and epoch, as dicts with ``arch``,
    ``run`` (``"fine-tuned"`` or ``"scratch"``), ``state`` (``"waiting"``, ``"epoch"`` or
    ``"done"``) and, by state, ``epoch``, ``epochs``, ``val_accuracy``, ``seconds``, ``accuracy``
    (held out) and ``layers``. An exception raised by a listener stops the run there.
    """
    torch.set_num_threads(cfg.threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    out = set_dir(name, out_root or PRETRAINED_DIR)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    data = load_dataset(data_dir, cfg)
    card_path = out / "card.json"
    card = json.loads(card_path.read_text()) if card_path.is_file() else {}
    if card.get("classes") not in (None, data.classes):
        card = {}  # a different class list: the old models no longer belong to this set
    card.update({
        "name": name, "classes": data.classes, "sample_rate": audio.SAMPLE_RATE,
        "clip_seconds": cfg.clip_seconds, "features": FEATURES.to_dict(), "data": data.recipe,
        "training": {**asdict(cfg), "torch": torch.__version__, "device": "cpu"},
    })
    card.setdefault("models", {})
    card["data"]["load_seconds"] = round(time.time() - t0, 1)
    parent_set = None
    if parent is not None:
        from ..pretrained import load_set

        parent_set = load_set(parent, root=out_root if out_root and (Path(out_root) / parent).is_dir() else None)
        missing = [a for a in archs if a not in parent_set.models]
        if missing:
            raise ValueError(f"the set {parent!r} has no {missing}; fine-tune only the architectures it holds")
        card["fine_tuned_from"] = {
            "set": parent, "classes": parent_set.classes,
            "trained_layers": {a: layers or model_settings(a, cfg)["finetune_layers"] for a in archs},
            "settings": {"lr": cfg.finetune_lr, "max_epochs": cfg.finetune_epochs,
                         "body_lr_scale": cfg.finetune_body_lr_scale}}
    kinds = ["fine-tuned" if parent_set is not None else "trained"] + (
        ["scratch"] if parent_set is not None and compare_scratch else [])
    tell = events or (lambda event: None)
    for arch in archs:
        for kind in kinds:
            tell({"arch": arch, "run": kind, "state": "waiting"})
    steps, done = len(archs) * len(kinds), 0

    def one(arch: str, kind: str) -> tuple[torch.nn.Module, dict, dict]:
        def on_epoch(epoch, epochs, val_acc):
            tell({"arch": arch, "run": kind, "state": "epoch", "epoch": epoch, "epochs": epochs,
                  "val_accuracy": None if val_acc is None else round(val_acc, 4),
                  "seconds": round(time.time() - t_start, 1)})

        t_start = time.time()
        if kind == "fine-tuned":
            model, info = train_one(arch, data, finetune_config(cfg), parent=parent_set.models[arch], layers=layers,
                                    on_epoch=on_epoch)
        else:
            model, info = train_one(arch, data, cfg, on_epoch=on_epoch)
        scores = _score(model, data)
        tell({"arch": arch, "run": kind, "state": "done", "epoch": info["epochs_run"],
              "best_epoch": info["best_epoch"], "seconds": info["train_seconds"], "accuracy": scores["accuracy"],
              "layers": info["trained_layers"]})
        return model, info, scores

    for arch in archs:
        if progress is not None:
            progress(done / steps, f"{arch}: {'fine-tuning' if parent_set is not None else 'training'}")
        model, info, m = one(arch, kinds[0])
        done += 1
        scratch = None
        if len(kinds) == 2:
            if progress is not None:
                progress(done / steps, f"{arch}: from scratch")
            _, scratch_info, scratch_scores = one(arch, "scratch")
            done += 1
            scratch = {"test": scratch_scores, "train_seconds": scratch_info["train_seconds"],
                       "epochs_run": scratch_info["epochs_run"], "best_epoch": scratch_info["best_epoch"]}
        x = model.front_end(torch.zeros(1, 1, int(cfg.clip_seconds * audio.SAMPLE_RATE)))
        card["models"][arch] = {
            "file": f"{arch}.safetensors", "sha256": save_weights(model, out / f"{arch}.safetensors"),
            "n_classes": len(data.classes), "input_kind": model.input_kind,
            "input_shape": list(x.shape[1:]), "params": sum(p.numel() for p in model.parameters()),
            "test": m, "training": asdict(cfg), **info,
        }
        if scratch is not None:
            card["models"][arch]["scratch"] = scratch
        card["train_seconds_total"] = round(sum(v.get("train_seconds", 0) for v in card["models"].values()), 1)
        card_path.write_text(json.dumps(card, indent=1))  # after every model, so a stopped run keeps its work
        real_acc = f", real {m['real']['accuracy']:.3f}" if "real" in m else ""
        print(f"{arch}: test accuracy {m['accuracy']:.3f}{real_acc} in {info['train_seconds']:.0f} s",
              file=sys.stderr, flush=True)
    if progress is not None:
        progress(1.0, "done")
    return out
