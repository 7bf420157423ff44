"""The training generator: records, determinism, stopping, divergence, validated config."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from conftest import write_idx_dataset
from fmnist.data import load_fashion_mnist
from fmnist.train import EpochRecord, StepRecord, TrainConfig, TrainingDiverged, prepare_run, train_epochs


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return load_fashion_mnist(write_idx_dataset(tmp_path_factory.mktemp("d"), n_train=1000, n_test=200))


def losses(config, data):
    return [r.loss for r in train_epochs(prepare_run(config), data)]


def test_records_and_learning(data):
    cfg = TrainConfig(batch_size=50, epochs=3, log_every=5, device="cpu")
    records = list(train_epochs(prepare_run(cfg), data))
    steps = [r for r in records if isinstance(r, StepRecord)]
    epochs = [r for r in records if isinstance(r, EpochRecord)]
    assert [r.epoch for r in epochs] == [1, 2, 3]
    assert len(steps) == 3 * 4 and steps[-1].step == steps[-1].total_steps == 60
    assert all(r.images_per_s > 0 and math.isfinite(r.loss) for r in steps)
    assert len(epochs[-1].sample_preds) == 16
    assert epochs[-1].test_acc > 0.9  # the synthetic classes are easy
    assert epochs[-1].loss < epochs[0].loss


def test_same_seed_same_losses_other_seed_differs(data):
    cfg = TrainConfig(batch_size=64, epochs=2, seed=5, device="cpu")
    assert losses(cfg, data) == losses(cfg, data)
    assert losses(cfg, data) != losses(TrainConfig(batch_size=64, epochs=2, seed=6, device="cpu"), data)


def test_cnn_with_dropout_and_augmentation_is_deterministic_too(data):
    cfg = TrainConfig(model="cnn", batch_size=100, epochs=1, seed=4, device="cpu", augment=True, cosine=True,
                      label_smoothing=0.1, subset=300, log_every=1)
    torch.manual_seed(1)
    first = losses(cfg, data)
    torch.manual_seed(2)  # someone else's use of the global generator must not matter
    assert losses(cfg, data) == first


def test_run_does_not_touch_global_rng(data):
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    losses(TrainConfig(batch_size=100, epochs=1, seed=9, device="cpu"), data)
    assert torch.equal(torch.rand(3), expected)


def test_stop_mid_epoch_leaves_usable_model(data):
    run = prepare_run(TrainConfig(batch_size=10, epochs=5, log_every=1, device="cpu"))
    gen = train_epochs(run, data)
    first = [next(gen) for _ in range(7)]
    gen.close()  # the consumer's "stop", between two steps
    assert first[-1].step == 7 and first[-1].epoch == 1 and run.history == []
    out = run.model(torch.zeros(2, 1, 28, 28))
    assert torch.isfinite(out).all()


def test_batch_size_larger_than_data_and_batch_of_one(data):
    assert len(losses(TrainConfig(batch_size=60000, epochs=1, device="cpu"), data)) == 2  # one step + epoch
    run = prepare_run(TrainConfig(batch_size=1, epochs=1, log_every=100, device="cpu", subset=200))
    recs = list(train_epochs(run, data))
    assert recs[-1].step == 200


def test_nan_loss_stops_and_restores_last_good_state(data):
    run = prepare_run(TrainConfig(batch_size=100, epochs=3, log_every=1, device="cpu"))
    gen = train_epochs(run, data)
    records = [next(gen) for _ in range(11)]  # one epoch (10 steps) and its end record
    assert isinstance(records[-1], EpochRecord)
    good = {k: v.clone() for k, v in run.model.state_dict().items()}
    next(gen)
    with torch.no_grad():
        run.model.features[0].weight.fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="smaller learning rate"):
        next(gen)
    assert all(torch.equal(good[k], v) for k, v in run.model.state_dict().items())


@pytest.mark.parametrize("field,value", [
    ("batch_size", 0), ("batch_size", -5), ("batch_size", 60001), ("batch_size", 2.5), ("batch_size", True),
    ("epochs", 0), ("epochs", float("nan")), ("lr", float("nan")), ("lr", float("inf")), ("lr", 0), ("lr", -1e-3),
    ("lr", 5.0), ("seed", -1), ("model", "vgg"), ("device", "tpu"), ("subset", 3),
    ("label_smoothing", 1.0), ("label_smoothing", -0.1), ("label_smoothing", float("nan")),
    ("width", 0), ("width", 129), ("width", 2.5), ("width", True), ("bf16", "yes"), ("bf16", 1),
])
def test_impossible_config_is_refused_before_any_work(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})


def test_missing_device_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="no CUDA GPU"):
        prepare_run(TrainConfig(device="cuda"))


def test_silhouettes_are_computed_once_per_dataset_and_subsets_index_them(data):
    from fmnist import augment

    augment.dataset_silhouettes.forget()
    assert not augment.dataset_silhouettes.ready(data.train_images)
    cfg = TrainConfig(model="lenet", batch_size=100, epochs=1, seed=3, device="cpu", augment=True, subset=300)
    first = losses(cfg, data)
    assert augment.dataset_silhouettes.ready(data.train_images)
    masks = augment.dataset_silhouettes(data.train_images)
    assert masks.dtype == torch.uint8 and masks.shape == (len(data.train_images), 1, 28, 28)
    expected = augment.silhouettes((data.train_images.float() / 255).unsqueeze(1))
    assert torch.equal(masks.float(), expected)
    assert losses(cfg, data) == first  # the cached masks give the same run


def test_weight_average_follows_the_weights_with_its_decay():
    from fmnist.train import WeightAverage

    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    average = WeightAverage(model, decay=0.9)
    start = model[0].weight.detach().clone()
    with torch.no_grad():
        model[0].weight.add_(1.0)
    model[1].num_batches_tracked += 3
    average.update(model)  # first update: decay ramps to min(0.9, 2/11)
    expected = start + (1 - 2 / 11) * 1.0
    assert torch.allclose(average.state["0.weight"], expected)
    assert average.state["1.num_batches_tracked"] == 3  # counters are copied, not averaged
    for _ in range(200):
        average.update(model)
    assert torch.allclose(average.state["0.weight"], model[0].weight, atol=1e-6)
    copy = average.model()
    assert copy is not model and torch.equal(copy[0].weight, average.state["0.weight"])


def test_a_run_with_weight_averaging_ends_on_the_averaged_weights(data):
    cfg = TrainConfig(model="cnn", batch_size=100, epochs=2, seed=1, device="cpu", subset=300, ema=0.9, log_every=1)
    run = prepare_run(cfg)
    records = [r for r in train_epochs(run, data) if isinstance(r, EpochRecord)]
    plain = prepare_run(TrainConfig(**{**cfg.__dict__, "ema": 0.0}))
    list(train_epochs(plain, data))
    assert [r.loss for r in records] == [r.loss for r in plain.history]  # averaging does not change training
    assert any(not torch.equal(a, b) for a, b in zip(run.model.state_dict().values(), plain.model.state_dict().values()))
    assert len(records) == 2


def test_drawings_train_deterministically_on_renderings_made_once(data):
    from fmnist import augment

    augment.dataset_hand_drawn.forget()
    cfg = TrainConfig(model="lenet", batch_size=100, epochs=1, seed=2, device="cpu", drawings=True, erase=0.5,
                      subset=300, log_every=1)
    first = losses(cfg, data)
    assert augment.dataset_hand_drawn.ready(data, 0.0)
    assert augment.dataset_hand_drawn(data, 0.0).shape == (len(data.train_labels), augment.HAND_VARIANTS, 28, 28)
    assert losses(cfg, data) == first
    assert losses(TrainConfig(**{**cfg.__dict__, "drawings": False, "augment": True}), data) != first


@pytest.mark.parametrize("field,value", [("erase", 1.5), ("erase", -0.1), ("ema", 1.0), ("ema", -0.5),
                                         ("ema", True), ("erase", "0.5"), ("shapes", "yes"), ("shapes", 1)])
def test_impossible_erase_ema_and_shapes_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})


@pytest.mark.parametrize("other", [{"augment": True}, {"drawings": True}, {"erase": 0.5}, {"garments": 0.3},
                                   {"doodles": 0.1}])
def test_shapes_alone_refuses_photos_and_drawings_beside_it(other):
    with pytest.raises(ValueError, match=f"cannot be combined with {next(iter(other))}"):
        TrainConfig(shapes=True, **other)


def test_a_shapes_run_feeds_silhouettes_and_outlines_only(data, monkeypatch):
    import fmnist.train
    from fmnist.augment import SHAPES_ONLY, sketch_augment

    asked = []

    def watch(*args, **kwargs):
        asked.append(kwargs["shares"])
        return sketch_augment(*args, **kwargs)

    monkeypatch.setattr(fmnist.train, "sketch_augment", watch)
    cfg = TrainConfig(model="lenet", batch_size=100, epochs=1, seed=2, device="cpu", shapes=True, subset=300)
    first = losses(cfg, data)
    assert asked == [SHAPES_ONLY] * 3 and losses(cfg, data) == first
    asked.clear()
    losses(TrainConfig(**{**cfg.__dict__, "shapes": False, "augment": True}), data)
    assert asked and SHAPES_ONLY not in asked


def watched_training(cfg, data, monkeypatch):
    """Train one run while recording what the network was fed: (losses, inputs (N, 784), loss targets)."""
    import fmnist.train

    targets, inputs = [], []
    real = fmnist.train.F.cross_entropy

    def spy(logits, target, **kw):
        targets.append(target.clone())
        return real(logits, target, **kw)

    monkeypatch.setattr(fmnist.train.F, "cross_entropy", spy)
    run = prepare_run(cfg)
    run.model.register_forward_pre_hook(lambda m, args: inputs.append(args[0].clone()) if m.training else None)
    first = [r.loss for r in train_epochs(run, data)]
    return first, torch.cat(inputs).flatten(1), torch.cat(targets)


def test_garments_swap_a_share_of_each_batch_images_and_labels_together(data, monkeypatch):
    import fmnist.train
    from fmnist.data import MEAN, STD

    # a bank whose drawings say their class in their brightness: image k is all (k + 1) * 20, label k
    bank = (torch.arange(10, dtype=torch.uint8).repeat_interleave(5).view(50, 1, 1).expand(50, 28, 28) + 1) * 20
    asked = []
    monkeypatch.setattr(fmnist.train, "garment_bank",
                        lambda per_class, strokes, patterns, rub, extra: asked.append(per_class) or (bank.contiguous(),
                                                                               torch.arange(10).repeat_interleave(5)))
    cfg = TrainConfig(model="lenet", batch_size=100, epochs=1, seed=3, device="cpu", garments=0.4, subset=500,
                      garments_per_class=700)
    first, flat, y = watched_training(cfg, data, monkeypatch)
    swapped = (flat.std(1) < 1e-5) & (flat[:, 0] > (0.0 - MEAN) / STD + 1e-3)  # uniform, not-black images
    assert 0.3 < swapped.float().mean() < 0.5
    level = ((flat[swapped, 0] * STD + MEAN) * 255 / 20).round().long() - 1
    assert torch.equal(level, y[swapped])  # each drawing trains with its own label
    assert asked and set(asked) == {700}  # the bank is made at the size asked for
    assert losses(cfg, data) == first
    from fmnist.garments import PER_CLASS
    assert losses(TrainConfig(**{**cfg.__dict__, "garments": 0.0, "garments_per_class": PER_CLASS}), data) != first


def test_doodles_are_taught_as_no_class_at_all(data, monkeypatch):
    import fmnist.train
    from fmnist.data import MEAN, STD

    monkeypatch.setattr(fmnist.train, "doodle_bank", lambda: torch.full((7, 28, 28), 255, dtype=torch.uint8))
    cfg = TrainConfig(model="lenet", batch_size=100, epochs=1, seed=4, device="cpu", doodles=0.25, subset=500)
    first, x, t = watched_training(cfg, data, monkeypatch)
    white = (x - (1 - MEAN) / STD).abs().amax(1) < 1e-4
    assert 0.15 < white.float().mean() < 0.35
    assert torch.allclose(t[white], torch.full((int(white.sum()), 10), 0.1))  # equal odds for every class
    assert torch.equal(t[~white].amax(1), torch.ones(int((~white).sum())))  # the rest keep their one label
    assert losses(cfg, data) == first


def test_lenet_takes_no_width():
    with pytest.raises(ValueError, match="lenet takes no options, got .'width'."):
        TrainConfig(model="lenet", width=32)


def test_a_wide_cnn_trains_in_bfloat16_and_keeps_float32_weights(data, monkeypatch):
    cfg = TrainConfig(model="cnn", width=8, bf16=True, batch_size=100, epochs=2, seed=3, device="cpu",
                      subset=400, log_every=1)
    run = prepare_run(cfg)
    assert run.model.features[0].out_channels == 8 and run.model.features[7].out_channels == 16
    from fmnist import train
    tests_in_bf16 = []

    def predict_labels(model, x):  # the per-epoch test: in bfloat16 but for the last, which the report gives
        tests_in_bf16.append(torch.is_autocast_enabled("cpu"))
        return real_predict(model, x)

    real_predict = train.predict_labels
    monkeypatch.setattr(train, "predict_labels", predict_labels)
    records = list(train_epochs(run, data))
    assert tests_in_bf16 == [True, False]
    steps = [r for r in records if isinstance(r, StepRecord)]
    assert all(math.isfinite(r.loss) for r in steps) and steps[-1].loss < steps[0].loss
    assert all(v.dtype == torch.float32 for v in run.model.state_dict().values() if v.is_floating_point())
    # bfloat16 changes the arithmetic, so the losses differ from a float32 run of the same seed, and repeat
    fp32 = [r.loss for r in train_epochs(prepare_run(TrainConfig(**{**cfg.__dict__, "bf16": False})), data)]
    again = [r.loss for r in train_epochs(prepare_run(cfg), data)]
    assert again == [r.loss for r in records] and fp32 != again


@pytest.mark.parametrize("bf16,amx,warned", [(True, False, False), (False, True, False), (False, False, True)])
def test_bf16_warns_where_the_cpu_would_emulate_it(monkeypatch, bf16, amx, warned):
    from fmnist.train import bf16_warning
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    warning = bf16_warning(torch.device("cpu"))
    assert (warning is not None) == warned
    if warned:
        assert "no AVX-512 BF16 or AMX" in warning and "leave out --bf16" in warning
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported")  # a torch without the check: no guess
    assert bf16_warning(torch.device("cpu")) is None


@pytest.mark.parametrize("field,value", [("pen_shapes", 1.0), ("pen_shapes", -0.2), ("pen_shapes", "0.3"),
                                         ("init", ""), ("init", 3), ("pen_variants", 3), ("pen_variants", 0),
                                         ("pen_variants", 18), ("pen_variants", 4.0), ("garments_per_class", 5),
                                         ("garments_per_class", 40000), ("garments_per_class", "6000"),
                                         ("colour_strokes", 1.5), ("colour_strokes", -0.1), ("colour_strokes", "0.5"),
                                         ("patterns", 1.5), ("patterns", -0.1), ("patterns", "0.5"),
                                         ("rub_details", 1.2), ("rub_details", -0.5), ("rub_details", "1"),
                                         ("extra_styles", 1.01), ("extra_styles", -0.1), ("extra_styles", True)])
def test_impossible_pen_shapes_and_init_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})


def test_pen_shapes_swap_in_the_images_own_silhouette_with_its_own_label(data, monkeypatch):
    import fmnist.train
    from fmnist import augment

    # a bank whose drawings say which training image they belong to: image i's are all (i % 250) + 1
    n = len(data.train_labels)
    tag = (torch.arange(n) % 250 + 1).to(torch.uint8)
    monkeypatch.setattr(fmnist.train, "dataset_pen_shapes",
                        lambda d, variants, strokes: tag.view(n, 1, 1, 1).expand(n, variants, 28, 28).contiguous())
    cfg = TrainConfig(model="lenet", batch_size=100, epochs=1, seed=3, device="cpu", pen_shapes=0.4)
    first, flat, y = watched_training(cfg, data, monkeypatch)
    from fmnist.data import MEAN, STD

    raw = flat * STD + MEAN
    swapped = raw.std(1) < 1e-6  # a uniform picture: a pen shape from the bank (the photos are noisy)
    assert 0.3 < swapped.float().mean() < 0.5
    index = (raw[swapped, 0] * 255).round().long() - 1  # which image's pen shape (mod 250)
    labels_by_tag = {int(t): {int(l) for l in data.train_labels[torch.arange(n) % 250 == t]} for t in range(250)}
    assert all(int(lab) in labels_by_tag[int(i)] for i, lab in zip(index, y[swapped]))  # trained with its own label
    assert losses(cfg, data) == first
    assert losses(TrainConfig(**{**cfg.__dict__, "pen_shapes": 0.0}), data) != first


@pytest.mark.parametrize("bank,share", [({"pen_variants": 6}, "pen_shapes"), ({"garments_per_class": 100}, "garments")])
def test_a_bank_size_without_its_share_is_refused_rather_than_ignored(bank, share):
    with pytest.raises(ValueError, match=f"needs {share} above 0"):
        TrainConfig(**bank)
    assert TrainConfig(**bank, **{share: 0.3})  # with its share it is taken


def test_colour_strokes_reach_every_bank_that_colours_in_and_need_one(data, monkeypatch):
    import fmnist.train

    asked, n = {}, len(data.train_labels)

    def drawings(d, strokes):
        asked["drawings"] = strokes
        return torch.zeros((n, 2, 28, 28), dtype=torch.uint8)

    def pen_shapes(d, variants, strokes):
        asked["pen_shapes"] = strokes
        return torch.zeros((n, variants, 28, 28), dtype=torch.uint8)

    def garments(per_class, strokes, patterns, rub, extra):
        asked["garments"] = strokes
        asked["patterns"] = patterns
        asked["rub_details"] = rub
        asked["extra_styles"] = extra
        return torch.zeros((10, 28, 28), dtype=torch.uint8), torch.arange(10)

    for name, bank in (("dataset_hand_drawn", drawings), ("dataset_pen_shapes", pen_shapes),
                       ("garment_bank", garments)):
        monkeypatch.setattr(fmnist.train, name, bank)
    cfg = TrainConfig(model="lenet", batch_size=100, epochs=1, seed=3, device="cpu", drawings=True, garments=0.2,
                      pen_shapes=0.2, colour_strokes=0.4, patterns=0.7, rub_details=0.6, extra_styles=0.3, subset=200)
    losses(cfg, data)
    assert asked == {"drawings": 0.4, "pen_shapes": 0.4, "garments": 0.4, "patterns": 0.7, "rub_details": 0.6,
                     "extra_styles": 0.3}
    with pytest.raises(ValueError, match="colour_strokes .* needs one of them"):
        TrainConfig(colour_strokes=0.5)
    assert TrainConfig(colour_strokes=1.0, garments=0.3).colour_strokes == 1.0
    with pytest.raises(ValueError, match="patterns prints on the garments bank.*needs garments above 0"):
        TrainConfig(patterns=0.5, drawings=True, pen_shapes=0.3)
    assert TrainConfig(patterns=1.0, garments=0.3).patterns == 1.0
    with pytest.raises(ValueError, match="rub_details changes the garments bank.*needs garments above 0"):
        TrainConfig(rub_details=0.5, drawings=True)
    assert TrainConfig(rub_details=1.0, garments=0.3).rub_details == 1.0
    with pytest.raises(ValueError, match="extra_styles draws more kinds of the garments bank.*needs garments above 0"):
        TrainConfig(extra_styles=0.5, drawings=True)
    assert TrainConfig(extra_styles=1.0, garments=0.3).extra_styles == 1.0


def test_every_pen_variant_of_the_bank_is_trained_on(data, monkeypatch):
    import fmnist.train

    # a bank whose drawings say which variant they are: variant v of every image is all 40 * (v + 1)
    n, asked = len(data.train_labels), []

    def bank(d, variants, strokes):
        asked.append(variants)
        return (torch.arange(1, variants + 1, dtype=torch.uint8) * 40).view(1, variants, 1, 1).expand(
            n, variants, 28, 28).contiguous()

    monkeypatch.setattr(fmnist.train, "dataset_pen_shapes", bank)
    cfg = TrainConfig(model="lenet", batch_size=100, epochs=1, seed=5, device="cpu", pen_shapes=0.5,
                      pen_variants=6, subset=1000)
    first, flat, _ = watched_training(cfg, data, monkeypatch)
    from fmnist.data import MEAN, STD

    raw = flat * STD + MEAN
    swapped = raw.std(1) < 1e-6
    variant = (raw[swapped, 0] * 255 / 40).round().long() - 1
    assert set(asked) == {6} and set(variant.tolist()) == set(range(6))  # all six, not only the first two
    counts = torch.bincount(variant, minlength=6).float()
    assert counts.min() > 0.5 * counts.mean()  # each about as often as the others
    assert losses(cfg, data) == first


def test_a_run_can_start_from_a_checkpoint_of_the_same_shape_and_only_that(data, tmp_path):
    from fmnist.checkpoint import make_checkpoint, save_checkpoint
    from fmnist.models import build_model

    start = build_model("cnn", seed=11, width=8)
    save_checkpoint(make_checkpoint(start, "cnn"), tmp_path / "start.pt")
    cfg = TrainConfig(model="cnn", width=8, batch_size=100, epochs=1, seed=0, device="cpu", subset=200,
                      init=str(tmp_path / "start.pt"), lr=1e-3)
    run = prepare_run(cfg)
    assert all(torch.equal(a, b) for a, b in zip(run.model.state_dict().values(), start.state_dict().values()))
    assert run.model.training and run.started_from["file"] == cfg.init and len(run.started_from["sha256"]) == 64
    fresh = prepare_run(TrainConfig(**{**cfg.__dict__, "init": None}))
    assert not torch.equal(fresh.model.features[0].weight, start.features[0].weight) and fresh.started_from is None
    assert losses(cfg, data) == losses(cfg, data)
    for wrong, words in ((dict(width=16), r"is a cnn \(width 8\), but this run trains a cnn \(width 16\)"),
                         (dict(model="lenet", width=None), r"is a cnn \(width 8\), but this run trains a lenet")):
        with pytest.raises(ValueError, match=words):
            prepare_run(TrainConfig(**{**cfg.__dict__, **wrong}))
    with pytest.raises(ValueError, match="no such file"):
        prepare_run(TrainConfig(**{**cfg.__dict__, "init": str(tmp_path / "missing.pt")}))


def test_a_run_stopped_between_epochs_goes_on_to_the_same_losses_and_weights(data, tmp_path):
    from fmnist.train import resume_run

    cfg = TrainConfig(model="cnn", width=8, batch_size=50, epochs=3, seed=3, device="cpu", subset=300, augment=True,
                      erase=0.5, cosine=True, label_smoothing=0.1, ema=0.9, lr=2e-3, log_every=2)
    whole = prepare_run(cfg)
    assert whole.resume_state is None
    straight = [r for r in train_epochs(whole, data) if isinstance(r, EpochRecord)]
    assert whole.resume_state is None  # a finished run has nothing to go on with

    first = prepare_run(cfg)
    records = train_epochs(first, data)
    for record in records:
        if isinstance(record, EpochRecord):
            break
    saved = first.resume_state()  # a snapshot: the steps after it must not leak into it
    for _ in range(3):
        next(records)
    records.close()
    path = tmp_path / "resume.pt"
    torch.save(saved, path)  # what the CLI writes after each epoch
    assert first.resume_state is None

    state = torch.load(path, weights_only=True)
    again = resume_run(state)
    rest = [r for r in train_epochs(again, data, resume=state) if isinstance(r, EpochRecord)]
    assert [r.epoch for r in rest] == [2, 3] and [r.epoch for r in again.history] == [1, 2, 3]
    assert [r.loss for r in again.history] == [r.loss for r in straight]
    assert [r.test_acc for r in again.history] == [r.test_acc for r in straight]
    assert all(torch.equal(a, b) for a, b in zip(again.model.state_dict().values(), whole.model.state_dict().values()))
    assert rest[-1].elapsed_s >= state["elapsed_s"]


def test_a_saved_run_goes_on_only_with_its_own_options_and_data(data, tmp_path):
    from fmnist.train import check_resume_state, resume_run

    cfg = TrainConfig(batch_size=100, epochs=2, seed=1, device="cpu", subset=200)
    run = prepare_run(cfg)
    records = train_epochs(run, data)
    state = next(r for r in records if isinstance(r, EpochRecord)) and run.resume_state()
    records.close()
    with pytest.raises(ValueError, match=r"other options \(lr\)"):
        list(train_epochs(prepare_run(TrainConfig(**{**cfg.__dict__, "lr": 0.01})), data, resume=state))
    with pytest.raises(ValueError, match="trained on 200 images, this data has 300"):
        list(train_epochs(prepare_run(TrainConfig(**{**cfg.__dict__, "subset": 300})), data,
                          resume={**state, "config": {**state["config"], "subset": 300}}))
    other = dataclasses.replace(data, train_images=data.train_images.flip(-1))  # as many images, other ones
    with pytest.raises(ValueError, match=r"trained on other images than these \(another --data-dir\?\)"):
        list(train_epochs(prepare_run(cfg), other, resume=state))
    with pytest.raises(ValueError, match="stopped after epoch 2 of 2: nothing to go on with"):
        list(train_epochs(resume_run({**state, "epoch": 2}), data, resume={**state, "epoch": 2}))
    for broken in ({"model": {}}, {**state, "version": 99}, [1, 2]):
        with pytest.raises(ValueError, match="saved training run"):
            check_resume_state(broken)
    with pytest.raises(ValueError, match="options this version does not know"):
        resume_run({**state, "config": {**state["config"], "warp_drive": True}})
    older = {**state, "config": {k: v for k, v in state["config"].items() if k != "patterns"}}  # saved before it existed
    assert [r.epoch for r in train_epochs(resume_run(older), data, resume=older) if isinstance(r, EpochRecord)] == [2]


@pytest.mark.slow  # the drawing banks of 1,000 images and 12,000 doodles: about half a minute
def test_the_default_recipes_options_go_on_exactly_too(data, tmp_path):
    from fmnist.train import resume_run

    cfg = TrainConfig(model="cnn", width=8, stages=3, bf16=True, batch_size=64, epochs=2, lr=2e-3, cosine=True,
                      label_smoothing=0.1, drawings=True, erase=0.5, garments=0.3, garments_per_class=10,
                      doodles=0.1, pen_shapes=0.3, ema=0.99, colour_strokes=0.1, patterns=0.3, rub_details=0.5,
                      extra_styles=0.3, seed=5, subset=256, device="cpu", log_every=1)
    whole = prepare_run(cfg)
    list(train_epochs(whole, data))
    first = prepare_run(cfg)
    records = train_epochs(first, data)
    next(r for r in records if isinstance(r, EpochRecord))
    torch.save(first.resume_state(), tmp_path / "resume.pt")
    records.close()
    state = torch.load(tmp_path / "resume.pt", weights_only=True)
    again = resume_run(state)
    list(train_epochs(again, data, resume=state))
    assert [r.loss for r in again.history] == [r.loss for r in whole.history]
    assert all(torch.equal(a, b) for a, b in zip(again.model.state_dict().values(), whole.model.state_dict().values()))
