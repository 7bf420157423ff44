"""The training loop: a generator of small progress records. The whole dataset sits in memory as
one tensor and batches are taken by indexing it; the caller decides when to stop."""

from __future__ import annotations

import copy
import ctypes
import functools
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from fmnist.augment import FILLED, HAND_VARIANTS, OUTLINED, PEN_VARIANTS, SHAPES_ONLY, dataset_hand_drawn, \
    dataset_pen_shapes, dataset_silhouettes, sketch_augment
from fmnist.garments import PER_CLASS, doodle_bank, garment_bank
from fmnist.data import MEAN, STD, FashionMNIST, normalize, stratified_subset, to_float
from fmnist.evaluate import predict_labels
from fmnist.models import MODELS, SeededDropout, check_options

MAX_TRAIN_IMAGES = 60_000
DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run; the CLI and the UI both build one."""

    model: str = "lenet"  # architecture name in fmnist.models.MODELS
    batch_size: int = 100  # images per Adam step, 1..60000
    epochs: int = 25  # full passes over the training images, 1..1000
    lr: float = 0.001  # Adam learning rate, in (0, 1]
    seed: int = 0  # seeds weight init and shuffling; same seed on CPU -> same losses
    device: str = "auto"  # auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps
    subset: int | None = None  # train on a stratified slice of this many images; None = all
    augment: bool = False  # fmnist.augment: mirroring, shifts, sketch-style outlines and silhouettes
    label_smoothing: float = 0.0  # cross-entropy label smoothing, in [0, 1)
    cosine: bool = False  # anneal the learning rate to 0 over the run (cosine), instead of keeping it fixed
    drawings: bool = False  # fmnist.augment.hand_drawn renderings in every batch (minutes to make, once per dataset)
    erase: float = 0.0  # with augment or drawings: chance a photo gets a random_erase rectangle, in [0, 1]
    shapes: bool = False  # train on the garments' shapes alone: each image its filled silhouette or its outline (half
    # each, squashed, mirrored, shifted), never the photo; what shape alone can tell (README, "How far shape goes")
    garments: float = 0.0  # share of each batch swapped for fmnist.garments drawings (with their labels), in [0, 1)
    doodles: float = 0.0  # share of each batch swapped for fmnist.garments doodles taught as no class, in [0, 1)
    pen_shapes: float = 0.0  # share of each batch swapped for the image's own fmnist.augment.pen_shape, in [0, 1)
    pen_variants: int = PEN_VARIANTS  # pen_shape renderings kept per training image (half filled, half traced), even
    garments_per_class: int = PER_CLASS  # procedural drawings of each class in the garments bank
    colour_strokes: float = 0.0  # chance a coloured-in training drawing (renderings, garments, filled pen shapes) is
    # coloured with back-and-forth strokes, gaps and all (fmnist.augment.colour_in) instead of solid, in [0, 1]
    patterns: float = 0.0  # chance a garments-bank top or dress drawn as an outline carries a print (stripes, checks,
    # dots, a motif on the chest: fmnist.garments.with_print), in [0, 1]
    rub_details: float = 0.0  # chance a coloured-in garments-bank coat or shirt has its details (collar, placket,
    # opening, lapels) rubbed out wide enough to show at 28x28, never left off (fmnist.garments.FRONTED), in [0, 1]
    extra_styles: float = 0.0  # chance a garments-bank sleeveless top is a vest, a sandal strapped over the whole foot,
    # a shirt checked and a bag a backpack (fmnist.garments.EXTRA_STYLES), in [0, 1]
    init: str | None = None  # start from this checkpoint's weights (a path or shipped name); None = a random init
    ema: float = 0.0  # keep an exponential moving average of the weights with this decay (0 = off), in [0, 1)
    width: int | None = None  # cnn only: channels of its first conv pair (each next pair has twice as many); None = 24
    stages: int | None = None  # cnn only: conv pairs, each followed by max-pooling, 2 or 3; None = 2
    bf16: bool = False  # run the training forward/backward and the per-epoch test in bfloat16 autocast (CPU or
    # CUDA); the weights, the optimizer and the final assessment stay float32
    log_every: int = 20  # optimizer steps between progress records
    n_samples: int = 16  # test images whose predictions each epoch record carries

    def __post_init__(self) -> None:
        def whole(name: str, low: int, high: int, value: object) -> None:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be a whole number, got {value!r}")
            if not low <= value <= high:
                raise ValueError(f"{name} must be between {low} and {high}, got {value}")

        if self.model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        check_options(self.model, self.model_options())
        if not isinstance(self.bf16, bool):
            raise ValueError(f"bf16 must be True or False, got {self.bf16!r}")
        whole("batch_size", 1, MAX_TRAIN_IMAGES, self.batch_size)
        whole("epochs", 1, 1000, self.epochs)
        whole("seed", 0, 2**63 - 1, self.seed)
        whole("log_every", 1, 10**6, self.log_every)
        whole("n_samples", 0, 100, self.n_samples)
        whole("pen_variants", 2, 16, self.pen_variants)
        if self.pen_variants % 2:
            raise ValueError(f"pen_variants must be even (half filled, half traced), got {self.pen_variants}")
        whole("garments_per_class", 10, 30000, self.garments_per_class)
        for name, value, default, needs in (("pen_variants", self.pen_variants, PEN_VARIANTS, "pen_shapes"),
                                            ("garments_per_class", self.garments_per_class, PER_CLASS, "garments")):
            if value != default and not getattr(self, needs):
                raise ValueError(f"{name} sets the size of the {needs} bank, so it needs {needs} above 0 "
                                 f"(got {name}={value} with {needs}=0)")
        if self.subset is not None:
            whole("subset", 10, MAX_TRAIN_IMAGES, self.subset)
        lr = self.lr
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or not 0 < lr <= 1:
            raise ValueError(f"lr must be a number in (0, 1], got {lr!r}")
        ls = self.label_smoothing
        if isinstance(ls, bool) or not isinstance(ls, (int, float)) or not 0 <= ls < 1:
            raise ValueError(f"label_smoothing must be a number in [0, 1), got {ls!r}")
        for name, value, closed in (("erase", self.erase, True), ("colour_strokes", self.colour_strokes, True),
                                    ("patterns", self.patterns, True), ("rub_details", self.rub_details, True),
                                    ("extra_styles", self.extra_styles, True),
                                    ("garments", self.garments, False),
                                    ("doodles", self.doodles, False), ("pen_shapes", self.pen_shapes, False),
                                    ("ema", self.ema, False)):
            if (isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1
                    or (value == 1 and not closed)):
                raise ValueError(f"{name} must be a number in [0, 1{']' if closed else ')'}, got {value!r}")
        if not isinstance(self.shapes, bool):
            raise ValueError(f"shapes must be True or False, got {self.shapes!r}")
        if self.colour_strokes and not (self.drawings or self.garments or self.pen_shapes):
            raise ValueError(f"colour_strokes changes how the drawings, garments and pen shapes are coloured in, so it "
                             f"needs one of them (got colour_strokes={self.colour_strokes} without)")
        for name, does in (("patterns", "prints on the garments bank's tops and dresses"),
                           ("rub_details", "changes the garments bank's coloured-in coats and shirts"),
                           ("extra_styles", "draws more kinds of the garments bank's tops, sandals, shirts and bags")):
            if getattr(self, name) and not self.garments:
                raise ValueError(f"{name} {does}, so it needs garments above 0 "
                                 f"(got {name}={getattr(self, name)} with garments=0)")
        if self.shapes:
            mixed = [name for name, on in (("augment", self.augment), ("drawings", self.drawings),
                                           ("erase", self.erase), ("garments", self.garments),
                                           ("doodles", self.doodles)) if on]
            if mixed:
                raise ValueError(f"shapes trains on silhouettes and outlines only, so it cannot be combined with "
                                 f"{', '.join(mixed)}")
        if self.init is not None and (not isinstance(self.init, str) or not self.init.strip()):
            raise ValueError(f"init must name a checkpoint (a path or a shipped name), got {self.init!r}")
        if self.device.split(":")[0] not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)} (or cuda:N), got {self.device!r}")

    def model_options(self) -> dict:
        """build_model's options for this run's model beyond its name ({} for the default shape)."""
        return {k: v for k, v in (("width", self.width), ("stages", self.stages)) if v is not None}


def pick_device(name: str = "auto") -> torch.device:
    """cuda, then mps, then cpu for "auto"; otherwise the named device, if it is present."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device cuda requested but no CUDA GPU is available")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device mps requested but MPS is not available")
    return device


def tune_allocator() -> bool:
    """Keep freed activation buffers in the heap instead of returning them to the OS (glibc only; False
    elsewhere). A process-wide setting, so programs call it once at start, never the library: the CLI's
    train, sweep and bench, and the app (demo.serving.configure_torch).

    glibc serves blocks over 128 KiB with fresh mmap() pages, so without this every (100, 6, 28, 28)
    activation costs page faults on each CPU training step (the gain is in README, Performance).
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, 32 * 2**20) and libc.mallopt(m_trim_threshold, 256 * 2**20))


def describe_device(device: torch.device) -> str:
    """One line naming the device, with the GPU's properties for CUDA."""
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return (f"cuda ({props.name}, {props.total_memory / 2**30:.1f} GiB, "
                f"{props.multi_processor_count} SMs, compute {props.major}.{props.minor})")
    if device.type == "cpu":
        threads = torch.get_num_threads()
        return f"cpu ({threads} thread{'s' if threads > 1 else ''})"
    return str(device)


def bf16_warning(device: torch.device) -> str | None:
    """Why `--bf16` would not pay on this device, in words, or None where bfloat16 has native support (a CPU with
    AVX-512 BF16 or AMX, a CUDA GPU that supports it) or where that cannot be told (torch's CPU checks are private)."""
    if device.type == "cuda":
        native = torch.cuda.is_bf16_supported()
    else:
        try:
            native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
        except AttributeError:  # a torch without these checks
            return None
    if native:
        return None
    where = "this GPU" if device.type == "cuda" else "this CPU has no AVX-512 BF16 or AMX, so it"
    return (f"bf16: {where} emulates bfloat16 and will likely train slower than in float32 (on a CPU with them a "
            f"step takes about half the time); leave out --bf16 here")


@dataclass(frozen=True)
class StepRecord:
    """Progress within an epoch, every `log_every` steps."""

    epoch: int  # 1-based epoch in progress
    step: int  # optimizer steps done so far in the run
    total_steps: int  # steps the whole run will take
    loss: float  # mean training loss over the steps since the previous record
    images_per_s: float  # training throughput over those steps
    elapsed_s: float  # seconds since the run started
    steps_s: float = 0.0  # seconds those steps took, not counting what the consumer did between two records


@dataclass(frozen=True)
class EpochRecord:
    """The end of an epoch: its loss and the test accuracy after it."""

    epoch: int
    step: int
    total_steps: int
    loss: float  # mean training loss over the epoch
    test_acc: float  # fraction of the test set classified correctly
    sample_preds: list[int]  # predicted labels of the run's sample test images
    epoch_s: float  # seconds the epoch's training steps took (evaluation excluded)
    elapsed_s: float


@dataclass
class TrainRun:
    """What a run needs between steps; `model` is always usable, even after a stop."""

    config: TrainConfig
    model: nn.Module
    device: torch.device
    sample_indices: list[int] = field(default_factory=list)  # test images whose predictions epochs carry
    history: list[EpochRecord] = field(default_factory=list)
    started_from: dict | None = None  # fmnist.checkpoint.lineage of config.init, taken when its weights were loaded
    # Between two epochs (while train_epochs waits after yielding an EpochRecord that is not the last): a function
    # returning everything the run needs to go on exactly from there (see `resume_run`); None otherwise.
    resume_state: Callable[[], dict] | None = None


class WeightAverage:
    """An exponential moving average of a model's weights and BatchNorm statistics (Polyak averaging): the
    average of the last ~1/(1 - decay) steps' weights generalises better than the last step's. The decay
    ramps up from 0 over the first steps, so early averages are not dragged towards the random init."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay, self.updates = decay, 0
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self._copy: nn.Module | None = None
        self._source = model

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for key, value in model.state_dict().items():
            if value.dtype.is_floating_point:
                self.state[key].lerp_(value, 1 - decay)
            else:
                self.state[key].copy_(value)

    def model(self) -> nn.Module:
        """A copy of the model holding the averaged weights (for evaluating them; made once, refreshed each call)."""
        if self._copy is None:
            dropouts = [(m, m.generator) for m in self._source.modules() if isinstance(m, SeededDropout)]
            for m, _ in dropouts:
                m.generator = None  # a Generator does not deep-copy; eval mode never uses it
            self._copy = copy.deepcopy(self._source)
            for m, generator in dropouts:
                m.generator = generator
        self._copy.load_state_dict(self.state)
        return self._copy


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the model was put back to its last good state."""


def initial_model(config: TrainConfig) -> tuple[nn.Module, dict | None]:
    """The model a run starts from and the `lineage` of what it was loaded from: config.init's weights (a ValueError in
    words if that checkpoint cannot be read or is another architecture or shape), else a fresh init from config.seed
    (and None)."""
    from fmnist.checkpoint import lineage, load_checkpoint
    from fmnist.models import build_model, describe_options, model_options

    fresh = build_model(config.model, seed=config.seed, **config.model_options())
    if config.init is None:
        return fresh, None
    model, meta = load_checkpoint(config.init)
    want, got = (config.model, model_options(fresh)), (meta["arch"], model_options(model))
    if want != got:
        def say(arch: str, options: dict) -> str:
            return f"{arch} ({describe_options(options)})" if options else arch
        raise ValueError(f"--init {config.init}: that checkpoint is a {say(*got)}, but this run trains a {say(*want)}; "
                         f"give the same --model, --width and --stages")
    return model.train(), lineage(config.init, meta)


def prepare_run(config: TrainConfig, model: nn.Module | None = None) -> TrainRun:
    """Build (or take) the model and pick the device for a run."""
    device = pick_device(config.device)
    # channels-last halves the CPU time of LeNet's small convolutions (measured by `fmnist bench`).
    model, started_from = (model, None) if model is not None else initial_model(config)
    model = model.to(device, memory_format=torch.channels_last)
    if config.bf16 and device.type not in ("cpu", "cuda"):
        raise ValueError(f"bf16 runs on cpu or cuda, not {device.type}")
    return TrainRun(config, model, device, started_from=started_from)


def sample_indices(config: TrainConfig, n_test: int) -> list[int]:
    """The test images whose predictions a run reports after each epoch (EpochRecord.sample_preds): config.n_samples
    of them, drawn from the run's seed, the same for every run with that seed."""
    return torch.randperm(n_test, generator=torch.Generator().manual_seed(config.seed + 1))[: config.n_samples].tolist()


def lower_precision(config: TrainConfig, device: torch.device, on: bool = True):
    """The autocast context of a run's training steps and per-epoch tests: bfloat16 with bf16 (and `on`), else none.
    On a CPU with AVX-512 BF16 (or AMX) a wide cnn's step takes under half the time; elsewhere it may be slower."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=config.bf16 and on)


def swap_in(x: torch.Tensor, bank: torch.Tensor, share: float,
            generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A batch (N, 1, 28, 28) in [0, 1] with a random share of it replaced by random drawings of a uint8 bank
    (B, 28, 28) -> (the batch, which positions were replaced (N,) bool, which drawing each position drew (N,))."""
    n, device = len(x), x.device
    which = (torch.rand(n, generator=generator) < share).to(device)
    pick = torch.randint(len(bank), (n,), generator=generator).to(device)
    drawings = bank[pick].unsqueeze(1).float().div(255)
    return torch.where(which.view(-1, 1, 1, 1), drawings, x).contiguous(memory_format=torch.channels_last), which, pick


def train_epochs(run: TrainRun, data: FashionMNIST, resume: dict | None = None):
    """Train run.model in place, yielding StepRecord and EpochRecord; stop by closing the generator. With resume (a
    `run.resume_state()` of an earlier run of the same config on the same data), go on after its last epoch: the
    same losses and weights as if it had never stopped."""
    cfg, model, device = run.config, run.model, run.device
    g = torch.Generator().manual_seed(cfg.seed)
    images, labels = data.train_images, data.train_labels
    if cfg.subset is not None:
        keep = stratified_subset(labels, min(cfg.subset, len(labels)), g)
        images, labels = images[keep], labels[keep]
    fingerprint = functools.cache(lambda: _fingerprint(images, labels))  # only where a run is saved or resumed
    if resume is not None:  # before the drawing banks' minutes: a wrong state is refused at once
        _check_resumable(resume, cfg, len(labels), fingerprint())
    x_train = to_float(images, mean=0.0, std=1.0).to(device, memory_format=torch.channels_last)  # [0, 1]
    y_train = labels.to(device)
    masks = drawn = None
    if cfg.augment or cfg.drawings or cfg.shapes:  # uint8 0/1, once per dataset; a batch's are made float when used
        masks = dataset_silhouettes(data.train_images)
        masks = (masks if cfg.subset is None else masks[keep]).to(device)
    shares = SHAPES_ONLY if cfg.shapes else (FILLED, OUTLINED)  # without drawings: filled / outlined shares
    if cfg.drawings:  # uint8 (N, HAND_VARIANTS, 28, 28), also once per dataset
        drawn = dataset_hand_drawn(data, cfg.colour_strokes)
        drawn = (drawn if cfg.subset is None else drawn[keep]).to(device)
    if cfg.pen_shapes:  # uint8 (N, pen_variants, 28, 28), once per dataset
        pens = dataset_pen_shapes(data, cfg.pen_variants, cfg.colour_strokes)
        pens = (pens if cfg.subset is None else pens[keep]).to(device)
    if cfg.garments:  # uint8 (G, 28, 28) drawings and their labels, made once per process
        garment_images, garment_labels = (t.to(device) for t in garment_bank(cfg.garments_per_class,
                                                                              strokes=cfg.colour_strokes,
                                                                              patterns=cfg.patterns,
                                                                              rub=cfg.rub_details,
                                                                              extra=cfg.extra_styles))
    if cfg.doodles:  # uint8 (D, 28, 28), no garment: trained towards equal probabilities for every class
        doodle_images = doodle_bank().to(device)
    x_test = to_float(data.test_images, MEAN, STD).to(device, memory_format=torch.channels_last)
    y_test = data.test_labels.to(device)
    run.sample_indices = sample_indices(cfg, len(y_test))
    sample_idx = torch.tensor(run.sample_indices, dtype=torch.long, device=device)

    n, bs = len(y_train), min(cfg.batch_size, len(y_train))
    steps_per_epoch = math.ceil(n / bs)
    total = steps_per_epoch * cfg.epochs
    dropout_rng = torch.Generator(device=device).manual_seed(cfg.seed + 2)
    for module in model.modules():
        if isinstance(module, SeededDropout):
            module.generator = dropout_rng
    # fused Adam: one kernel for all parameters instead of a dozen small ops per tensor.
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=True)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total) if cfg.cosine else None
    average = WeightAverage(model, cfg.ema) if cfg.ema else None
    step, first, start = 0, 1, time.perf_counter()
    if resume is not None:
        step, first = _restore(resume, run, optimizer, schedule, average, g, dropout_rng)
        start -= resume["elapsed_s"]
    good_state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def resume_state() -> dict:  # called between epochs only, while the generator waits at `yield record`
        return copy.deepcopy({
            "version": RESUME_VERSION, "config": asdict(cfg), "n_train": n, "data_sha256": fingerprint(),
            "epoch": epoch, "step": step,
            "elapsed_s": time.perf_counter() - start, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "schedule": schedule.state_dict() if schedule is not None else None,
            "average": {"state": average.state, "updates": average.updates} if average is not None else None,
            "rng": g.get_state(), "dropout_rng": dropout_rng.get_state(),
            "history": [asdict(r) for r in run.history], "started_from": run.started_from})

    for epoch in range(first, cfg.epochs + 1):
        run.resume_state = None
        model.train()
        perm = torch.randperm(n, generator=g).to(device)
        epoch_start = window_start = time.perf_counter()
        epoch_loss = torch.zeros((), device=device)
        window_loss, window_steps, window_images = torch.zeros((), device=device), 0, 0
        for i in range(steps_per_epoch):
            idx = perm[i * bs:(i + 1) * bs]
            xb = x_train[idx]
            if cfg.drawings:
                variant = torch.randint(HAND_VARIANTS, (len(idx),), generator=g).to(device)
                hand = drawn[idx, variant].unsqueeze(1).float() / 255
                xb = sketch_augment(xb, masks[idx].float(), g, drawn=hand, erase=cfg.erase)
            elif cfg.augment or cfg.shapes:
                xb = sketch_augment(xb, masks[idx].float(), g, erase=cfg.erase, shares=shares)
            yb = y_train[idx]
            if cfg.pen_shapes:  # the image's own silhouette as drawn on the pad, mirrored half the time
                which = (torch.rand(len(idx), generator=g) < cfg.pen_shapes).to(device).view(-1, 1, 1, 1)
                variant = torch.randint(cfg.pen_variants, (len(idx),), generator=g).to(device)
                mirror = (torch.rand(len(idx), generator=g) < 0.5).to(device).view(-1, 1, 1, 1)
                pen = pens[idx, variant].unsqueeze(1).float() / 255
                xb = torch.where(which, torch.where(mirror, pen.flip(-1), pen), xb).contiguous(
                    memory_format=torch.channels_last)
            if cfg.garments:
                xb, swapped, pick = swap_in(xb, garment_images, cfg.garments, g)
                yb = torch.where(swapped, garment_labels[pick], yb)
            target = yb
            if cfg.doodles:  # outlier exposure (Hendrycks et al. 2019): a doodle's target is uniform
                xb, odd, _ = swap_in(xb, doodle_images, cfg.doodles, g)
                target = torch.where(odd.view(-1, 1), torch.full((len(idx), 10), 0.1, device=device),
                                     F.one_hot(yb, 10).float())
            with lower_precision(cfg, device):
                logits = model(normalize(xb))
            loss = F.cross_entropy(logits.float(), target, label_smoothing=cfg.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if schedule is not None:
                schedule.step()
            if average is not None:
                average.update(model)
            step += 1
            detached = loss.detach()
            epoch_loss += detached * len(idx)
            window_loss += detached
            window_steps += 1
            window_images += len(idx)
            if window_steps == cfg.log_every or i == steps_per_epoch - 1:
                mean_loss = float(window_loss) / window_steps
                if not math.isfinite(mean_loss):
                    model.load_state_dict(good_state)
                    raise TrainingDiverged(
                        f"loss became {mean_loss} at step {step} (epoch {epoch}); the model was reset to "
                        f"its state after epoch {epoch - 1}. Try a smaller learning rate (now {cfg.lr})."
                    )
                now = time.perf_counter()
                yield StepRecord(epoch, step, total, mean_loss, window_images / max(now - window_start, 1e-9),
                                 now - start, now - window_start)
                window_loss, window_steps, window_images, window_start = (
                    torch.zeros((), device=device), 0, 0, time.perf_counter())
        epoch_s = time.perf_counter() - epoch_start
        if average is not None and epoch == cfg.epochs:  # the run's result is the averaged weights
            model.load_state_dict(average.state)
        with lower_precision(cfg, device, on=epoch < cfg.epochs):  # the last epoch's test: float32, as reported
            preds = predict_labels(model if average is None or epoch == cfg.epochs else average.model(), x_test)
        good_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        record = EpochRecord(
            epoch, step, total, float(epoch_loss) / n, float((preds == y_test).float().mean()),
            preds[sample_idx].tolist(), epoch_s, time.perf_counter() - start,
        )
        run.history.append(record)
        run.resume_state = resume_state if epoch < cfg.epochs else None
        yield record
    run.resume_state = None


RESUME_VERSION = 1
RESUME_KEYS = ("version", "config", "n_train", "epoch", "step", "elapsed_s", "model", "optimizer", "schedule",
               "average", "rng", "dropout_rng", "history", "started_from")


class ResumeError(ValueError):
    """A saved run that cannot go on here (not a saved run, another format, other options or data), in words."""


def check_resume_state(state: object) -> dict:
    """A resume state as read from a file -> the same dict; a ResumeError when it is not one this code wrote."""
    if not isinstance(state, dict) or any(key not in state for key in RESUME_KEYS):
        raise ResumeError("not a saved training run (written by `python -m fmnist train` between two epochs)")
    if state["version"] != RESUME_VERSION:
        raise ResumeError(f"a saved training run of format {state['version']!r}; this version of fmnist reads format "
                          f"{RESUME_VERSION} only")
    return state


def resume_config(state: object) -> TrainConfig:
    """The config of the run a resume state belongs to; a ResumeError in words when it is not a resume state."""
    check_resume_state(state)
    try:
        return TrainConfig(**state["config"])
    except TypeError as err:
        raise ResumeError(f"a saved training run whose options this version does not know ({err})") from None


def resume_run(state: dict) -> TrainRun:
    """The run a resume state belongs to, ready for `train_epochs(run, data, resume=state)`: its config, a model of
    its shape (the weights come from the state; the checkpoint it once started from need not be there any more) and
    the lineage of that checkpoint. A ResumeError in words when the state is not a resume state."""
    from fmnist.models import build_model

    config = resume_config(state)
    run = prepare_run(config, build_model(config.model, seed=config.seed, **config.model_options()))
    run.started_from = state["started_from"]
    return run


def _fingerprint(images: torch.Tensor, labels: torch.Tensor) -> str:
    """The sha256 of a run's training images and labels (about 50 ms for the 60,000): a saved run goes on only with
    the data it was trained on."""
    digest = hashlib.sha256(images.contiguous().numpy().tobytes())
    digest.update(labels.contiguous().numpy().tobytes())
    return digest.hexdigest()


def _check_resumable(state: dict, cfg: TrainConfig, n: int, fingerprint: str) -> None:
    """A ResumeError in words unless a resume state belongs to a run of this config on these n training images."""
    saved = asdict(resume_config(state))  # options added since the state was saved read as their defaults
    if saved != asdict(cfg):
        changed = sorted(k for k, v in asdict(cfg).items() if saved[k] != v)
        raise ResumeError(f"that saved run was trained with other options ({', '.join(changed)})")
    if state["n_train"] != n:
        raise ResumeError(f"that saved run trained on {state['n_train']:,} images, this data has {n:,}")
    if state.get("data_sha256", fingerprint) != fingerprint:  # (runs saved before 2026-12-06 did not record it)
        raise ResumeError("that saved run trained on other images than these (another --data-dir?)")
    if not 1 <= state["epoch"] < cfg.epochs:
        raise ResumeError(f"that saved run stopped after epoch {state['epoch']} of {cfg.epochs}: nothing to go on with")


def _restore(state: dict, run: TrainRun, optimizer, schedule, average: WeightAverage | None, g: torch.Generator,
             dropout_rng: torch.Generator) -> tuple[int, int]:
    """Put a run's training state back as `resume_state` saved it (checked by `_check_resumable`) -> (steps done, the
    first epoch still to train)."""
    run.model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if schedule is not None:
        schedule.load_state_dict(state["schedule"])
    if average is not None:
        average.state = {k: v.to(run.device) for k, v in state["average"]["state"].items()}
        average.updates = state["average"]["updates"]
    g.set_state(state["rng"])
    dropout_rng.set_state(state["dropout_rng"])
    run.history = [EpochRecord(**r) for r in state["history"]]
    return state["step"], state["epoch"] + 1
