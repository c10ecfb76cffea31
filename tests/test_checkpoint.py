"""Checkpoint tests: exact round trip, clear errors for every kind of bad file, atomic writes,
weights-only loading, the tokenizer fingerprint, and resuming a run bit for bit."""
import random

import pytest
import torch

from r1mini import checkpoint
from r1mini.checkpoint import CheckpointError, load_checkpoint, read_checkpoint, save_checkpoint
from r1mini.rundir import RunDir
from r1mini.train_utils import make_optimizer

from conftest import make_tiny_model

TOKENS = torch.tensor([[5, 17, 200, 3, 99, 42, 7, 7, 1, 300]])


def logits_of(model):
    with torch.no_grad():
        return model.eval()(TOKENS)


def distinct_model(seed=0):
    """A tiny model whose expert biases (buffers, not parameters) are non-zero too."""
    model = make_tiny_model(seed)
    with torch.no_grad():
        for gate in model.gates:
            gate.expert_bias.normal_(0, 0.1)
    return model


def test_save_load_round_trip_gives_identical_logits(tmp_path, tokenizer):
    model = distinct_model()
    path = tmp_path / "sub" / "model.pt"  # parent folders are created
    save_checkpoint(path, model, meta={"stage": "test", "pass@1": 0.5})
    loaded, loaded_tokenizer, meta = load_checkpoint(path)
    assert meta == {"stage": "test", "pass@1": 0.5}
    assert loaded_tokenizer.fingerprint == tokenizer.fingerprint
    assert loaded.cfg == model.cfg and not loaded.training
    assert torch.equal(logits_of(loaded), logits_of(model))
    for gate, loaded_gate in zip(model.gates, loaded.gates):
        assert torch.equal(gate.expert_bias, loaded_gate.expert_bias)
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.pt"]  # no .tmp left behind


def test_missing_path_names_the_path(tmp_path):
    missing = tmp_path / "nowhere" / "model.pt"
    with pytest.raises(CheckpointError, match="nowhere"):
        load_checkpoint(missing)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(str(missing))
    assert str(missing) in str(info.value)
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path)  # a folder is not a checkpoint either
    assert issubclass(CheckpointError, ValueError)  # CLIs catch ValueError


def corrupt_files(tmp_path):
    """(name, path) of files that are not checkpoints."""
    good = tmp_path / "good.pt"
    save_checkpoint(good, make_tiny_model())
    data = good.read_bytes()
    files = {
        "random bytes": random.Random(0).randbytes(5000),
        "empty": b"",
        "truncated": data[: len(data) // 2],
        "truncated end": data[:-100],
        "text": b"this is not a checkpoint\n",
    }
    paths = []
    for name, content in files.items():
        path = tmp_path / f"{name.replace(' ', '_')}.pt"
        path.write_bytes(content)
        paths.append((name, path))
    for name, obj in {"plain list": [1, 2, 3], "dict without model": {"config": {}},
                      "dict without config": {"model": {}}, "tensor": torch.zeros(3)}.items():
        path = tmp_path / f"{name.replace(' ', '_')}.pt"
        torch.save(obj, path)
        paths.append((name, path))
    return paths


def test_corrupt_files_raise_checkpoint_error(tmp_path):
    for name, path in corrupt_files(tmp_path):
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(path)
        assert str(path) in str(info.value), name


class Evil:
    """Unpickling this would run code: it must never be unpickled."""
    def __reduce__(self):
        return (_mark_pwned, ("pwned",))


PWNED = []


def _mark_pwned(value):
    PWNED.append(value)
    return {"model": {}, "config": {}}


def test_load_is_weights_only(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": {}, "config": {}, "meta": Evil()}, path)
    torch.load(path, weights_only=False)  # the file really would run code with a plain load ...
    assert PWNED == ["pwned"]
    PWNED.clear()
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert PWNED == []  # ... and load_checkpoint never ran it
    torch.save(Evil(), path)
    with pytest.raises(CheckpointError):
        read_checkpoint(path)
    assert PWNED == []


def test_wrong_tokenizer_fingerprint_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    save_checkpoint(path, make_tiny_model())
    payload = torch.load(path, weights_only=True)
    payload["tokenizer"]["fingerprint"] = "0" * 64
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="vocabulary"):
        load_checkpoint(path)


def test_incompatible_checkpoints_raise_checkpoint_error(tmp_path):
    """A checkpoint from another version of the model (other config fields or weights) or without a
    tokenizer record is a user error with a clear message, not a TypeError/RuntimeError traceback."""
    path = tmp_path / "model.pt"
    save_checkpoint(path, make_tiny_model())
    original = torch.load(path, weights_only=True)
    variants = {
        "unknown config field": {**original, "config": {**original["config"], "n_mla_rank": 16}},
        "weights of another shape": {**original, "config": {**original["config"], "d_model": 64}},
        "missing weights": {**original, "model": {k: v for k, v in list(original["model"].items())[1:]}},
        "no tokenizer record": {k: v for k, v in original.items() if k != "tokenizer"},
    }
    for name, payload in variants.items():
        torch.save(payload, path)
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(path)
        assert str(path) in str(info.value), name


def test_save_is_atomic_when_the_writer_crashes(tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    first = distinct_model(0)
    save_checkpoint(path, first)
    before = path.read_bytes()

    def crashing_save(obj, f, *args, **kwargs):
        with open(f, "wb") as out:  # half a file, then the process "dies"
            out.write(b"PK\x03\x04 half written")
        raise KeyboardInterrupt("killed during save")

    monkeypatch.setattr(torch, "save", crashing_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, distinct_model(1))
    monkeypatch.undo()
    assert path.read_bytes() == before  # the previous checkpoint is intact ...
    loaded, _, _ = load_checkpoint(path)
    assert torch.equal(logits_of(loaded), logits_of(first))  # ... and still loads
    # the next successful save replaces it and leaves no temporary file
    second = distinct_model(1)
    save_checkpoint(path, second)
    assert torch.equal(logits_of(load_checkpoint(path)[0]), logits_of(second))
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_atomic_torch_save_never_writes_the_target_directly(tmp_path, monkeypatch):
    written = []
    real_save = torch.save
    monkeypatch.setattr(torch, "save", lambda obj, f, *a, **k: (written.append(str(f)), real_save(obj, f, *a, **k)))
    checkpoint.atomic_torch_save({"x": torch.ones(2)}, tmp_path / "a.pt")
    assert written == [str(tmp_path / "a.pt.tmp")]
    assert [p.name for p in tmp_path.iterdir()] == ["a.pt"]


# ---------------------------------------------------------------- resume

def train_step(model, optimizer):
    """One step on a batch drawn from the global torch RNG (so the RNG state matters)."""
    tokens = torch.randint(0, model.cfg.vocab_size, (4, 12))
    model.train()
    logits, routing = model(tokens[:, :-1], real_tokens=torch.ones(4, 11, dtype=torch.bool))
    loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), tokens[:, 1:].flatten()) + routing.balance_loss
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    model.update_expert_bias(routing.expert_counts)
    return loss.item()


def test_resume_restores_model_optimizer_and_rng(tmp_path):
    torch.manual_seed(0)
    random.seed(0)
    model = make_tiny_model(0)
    optimizer = make_optimizer(model, 3e-3, 0.1)
    for _ in range(2):
        train_step(model, optimizer)
    run = RunDir(tmp_path, {"lr": 3e-3})
    run.save_resume(model, optimizer, step=2, extra={"best": 0.25, "curriculum": {"add-2": 0.5}})
    assert [p.name for p in tmp_path.iterdir()] == ["resume.pt"]
    # what the uninterrupted run does next
    expected_draws = (random.random(), random.randint(0, 10 ** 9), torch.rand(3))
    expected_loss = train_step(model, optimizer)
    expected_params = {k: v.clone() for k, v in model.state_dict().items()}

    # a "new process": other weights, a fresh optimizer, RNGs elsewhere
    torch.manual_seed(123)
    random.seed(123)
    resumed = make_tiny_model(seed=7)
    resumed_optimizer = make_optimizer(resumed, 3e-3, 0.1)
    step, extra = RunDir(tmp_path, {"lr": 3e-3}).resume(resumed, resumed_optimizer)
    assert step == 2 and extra == {"best": 0.25, "curriculum": {"add-2": 0.5}}
    assert resumed_optimizer.state_dict()["state"][0]["step"] == 2
    draws = (random.random(), random.randint(0, 10 ** 9), torch.rand(3))
    assert draws[:2] == expected_draws[:2] and torch.equal(draws[2], expected_draws[2])
    # continuing gives bit-identical results (same batch, same Adam moments, same expert biases)
    assert train_step(resumed, resumed_optimizer) == expected_loss
    for key, value in resumed.state_dict().items():
        assert torch.equal(value, expected_params[key]), key


def test_corrupt_resume_file_gives_a_clear_error(tmp_path, tiny_model):
    (tmp_path / "resume.pt").write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match="resume file"):
        RunDir(tmp_path, {}).resume(tiny_model, make_optimizer(tiny_model, 1e-3, 0.0))


def test_resume_file_of_another_model_gives_a_clear_error(tmp_path, tiny_model):
    other = make_tiny_model(0, d_model=16)
    RunDir(tmp_path, {}).save_resume(other, make_optimizer(other, 1e-3, 0.0), step=1)
    with pytest.raises(CheckpointError, match="does not fit this model"):
        RunDir(tmp_path, {}).resume(tiny_model, make_optimizer(tiny_model, 1e-3, 0.0))


def test_resuming_on_another_thread_count_says_it_equals_the_uninterrupted_run_only_up_to_rounding(
        tmp_path, tiny_model, capsys):
    RunDir(tmp_path, {}).save_resume(tiny_model, make_optimizer(tiny_model, 1e-3, 0.0), step=1)
    threads = torch.get_num_threads()
    RunDir(tmp_path, {}).resume(tiny_model, make_optimizer(tiny_model, 1e-3, 0.0))
    assert "thread" not in capsys.readouterr().out  # the same thread count: nothing to say
    try:
        torch.set_num_threads(threads + 1)
        RunDir(tmp_path, {}).resume(tiny_model, make_optimizer(tiny_model, 1e-3, 0.0))
    finally:
        torch.set_num_threads(threads)
    assert f"was on {threads} thread(s), now {threads + 1}" in capsys.readouterr().out
