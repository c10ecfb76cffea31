"""Checkpoint safety: a config that no longer fits its weights is refused before any model is built,
an edited config is caught by its stored hash, malformed meta/tokenizer records give clear errors,
a full disk never leaves a torn file or a .tmp behind, and CUDA generator states are saved too."""
import errno
import hashlib
import inspect
import json
import math

import pytest
import torch

import r1mini.model
from r1mini import checkpoint
from r1mini.checkpoint import (CheckpointError, atomic_torch_save, load_checkpoint, rng_state, save_checkpoint,
                               set_rng_state)
from tests.conftest import make_tiny_model

TOKENS = torch.tensor([[5, 17, 200, 3, 99, 42, 7]])


@pytest.fixture
def saved(tmp_path):
    """(path, payload) of a freshly saved tiny MoE checkpoint."""
    path = tmp_path / "model.pt"
    save_checkpoint(path, make_tiny_model(), meta={"stage": "test"})
    return path, torch.load(path, weights_only=True)


@pytest.fixture
def never_built(monkeypatch):
    """Fails the test if load_checkpoint builds a model: bad configs must be refused first."""
    built = []

    def fake_transformer(cfg):
        built.append(cfg)
        raise AssertionError("a model was built")

    monkeypatch.setattr(r1mini.model, "Transformer", fake_transformer)
    yield
    assert built == [], "the model was built before the config was checked"


def rewrite(path, payload, *, drop_hash=False, rehash=False, **config_changes):
    payload = dict(payload, config={**payload["config"], **config_changes})
    if drop_hash:  # a checkpoint written before the hash existed
        payload.pop("config_sha256")
    if rehash:  # someone who edits the config and its hash
        payload["config_sha256"] = checkpoint.config_fingerprint(payload["config"])
    torch.save(payload, path)


def refusal(path) -> str:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


# ---------------------------------------------------------------- what is saved

def test_save_stores_a_hash_of_the_canonical_config_and_nothing_for_resuming(saved):
    path, payload = saved
    canonical = json.dumps(payload["config"], sort_keys=True, separators=(",", ":"))
    assert payload["config_sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert set(payload) == {"model", "config", "config_sha256", "tokenizer", "meta"}
    assert list(inspect.signature(save_checkpoint).parameters) == ["path", "model", "meta"]
    model, _, meta = load_checkpoint(path)
    assert meta == {"stage": "test"}
    with torch.no_grad():
        assert torch.equal(model(TOKENS), make_tiny_model()(TOKENS))


def test_dense_model_round_trip(tmp_path):
    path = tmp_path / "dense.pt"
    save_checkpoint(path, make_tiny_model(n_routed_experts=0, n_dense_layers=2))
    assert load_checkpoint(path)[0].cfg.n_routed_experts == 0


# ---------------------------------------------------------------- edited configs

@pytest.mark.parametrize("change", [{"n_heads": 4}, {"n_heads": 8}, {"rope_theta": 500000.0},
                                    {"n_activated_experts": 1}, {"n_activated_experts": 3},
                                    {"max_seq_len": 512}, {"norm_eps": 1e-5}, {"n_layers": 2000}])
def test_a_config_edited_after_saving_is_refused(saved, never_built, change):
    """n_heads, rope_theta and top-K leave no trace in the tensors: only the hash can tell, and a
    model with the wrong values would load silently and produce garbage."""
    path, payload = saved
    rewrite(path, payload, **change)
    assert "config was edited after saving" in refusal(path)


def test_an_edited_hash_is_refused(saved, never_built):
    path, payload = saved
    torch.save({**payload, "config_sha256": "0" * 64}, path)
    assert "config was edited after saving" in refusal(path)
    torch.save({**payload, "config_sha256": None}, path)
    assert "config was edited after saving" in refusal(path)


def test_an_old_checkpoint_without_hash_still_loads(saved):
    path, payload = saved
    rewrite(path, payload, drop_hash=True)
    assert load_checkpoint(path)[0].cfg.n_layers == 2
    # in-range values of fields the tensors cannot check are accepted
    rewrite(path, payload, drop_hash=True, n_heads=4, max_seq_len=512, rope_theta=500000.0)
    assert load_checkpoint(path)[0].cfg.n_heads == 4


@pytest.mark.parametrize("field, value", [
    ("vocab_size", 440), ("d_model", 64), ("n_layers", 2000), ("n_layers", 1), ("dense_hidden", 65),
    ("n_routed_experts", 8), ("n_routed_experts", 3), ("n_shared_experts", 2), ("n_shared_experts", 0),
    ("expert_hidden", 8), ("n_dense_layers", 0), ("n_dense_layers", 2),
])
@pytest.mark.parametrize("hashing", ["old file", "rehashed"])
def test_config_fields_the_tensors_determine_are_checked(saved, never_built, field, value, hashing):
    path, payload = saved
    rewrite(path, payload, drop_hash=hashing == "old file", rehash=hashing == "rehashed", **{field: value})
    message = refusal(path)
    assert f"config says {field}={value} " in message and "does not belong to these weights" in message


def test_a_moe_config_over_dense_weights_is_refused(tmp_path, never_built):
    path = tmp_path / "dense.pt"
    save_checkpoint(path, make_tiny_model(n_routed_experts=0, n_dense_layers=2))
    rewrite(path, torch.load(path, weights_only=True), drop_hash=True, n_routed_experts=4, n_dense_layers=1)
    assert "no MoE layer" in refusal(path)


@pytest.mark.parametrize("field, value", [
    ("n_heads", 3), ("n_heads", 0), ("n_heads", -2), ("n_heads", 32),  # 32 / 32 = 1: odd head size, no RoPE pairs
    ("n_activated_experts", 0), ("n_activated_experts", 5), ("n_activated_experts", -1),
    ("rope_theta", math.inf), ("rope_theta", math.nan), ("rope_theta", 1.0), ("rope_theta", -10000.0),
    ("max_seq_len", 0), ("max_seq_len", 65537), ("max_seq_len", 10 ** 9),
    ("norm_eps", 0.0), ("norm_eps", -1e-6), ("norm_eps", math.nan), ("norm_eps", math.inf),
    ("bias_update_speed", math.nan), ("seq_aux_alpha", -1.0),
])
@pytest.mark.parametrize("hashing", ["old file", "rehashed"])
def test_config_values_out_of_range_are_refused(saved, never_built, field, value, hashing):
    path, payload = saved
    rewrite(path, payload, drop_hash=hashing == "old file", rehash=hashing == "rehashed", **{field: value})
    message = refusal(path)
    assert "config out of range" in message and f"{field}=" in message


def test_negative_dense_layers_in_a_dense_model_are_refused(tmp_path, never_built):
    path = tmp_path / "dense.pt"
    save_checkpoint(path, make_tiny_model(n_routed_experts=0, n_dense_layers=2))
    rewrite(path, torch.load(path, weights_only=True), rehash=True, n_dense_layers=-1)
    assert "n_dense_layers=-1" in refusal(path)


@pytest.mark.parametrize("change", [{"n_mla_rank": 16}, {"n_heads": "2"}, {"n_heads": 2.0}, {"n_layers": True},
                                    {"rope_theta": "1e4"}, {"norm_eps": None}])
def test_unknown_keys_and_wrong_types_are_refused(saved, never_built, change):
    path, payload = saved
    rewrite(path, payload, rehash=True, **change)
    message = refusal(path)
    assert "unknown config fields" in message or "right type" in message


@pytest.mark.parametrize("name, change", [
    ("config not a dict", {"config": [1, 2]}),
    ("model not a dict", {"model": [torch.zeros(2)]}),
    ("model holds a non-tensor", {"model": {"embed.weight": 3}}),
    ("no embedding", {"model": {"norm.weight": torch.ones(32)}}),
])
def test_malformed_weights_are_refused(saved, never_built, name, change):
    path, payload = saved
    payload = {k: v for k, v in payload.items() if k != "config_sha256"}
    torch.save({**payload, **change}, path)
    refusal(path)


def test_missing_layer_tensors_are_refused(saved):
    path, payload = saved
    weights = {k: v for k, v in payload["model"].items() if not k.startswith("layers.1.ffn.experts.2.")}
    torch.save({**payload, "model": weights}, path)
    refusal(path)


# ---------------------------------------------------------------- meta and tokenizer records

@pytest.mark.parametrize("name, change, expected", [
    ("no meta", {"meta": None}, "meta"),
    ("meta is a list", {"meta": ["stage"]}, "meta"),
    ("meta is a string", {"meta": "zero"}, "meta"),
    ("no tokenizer", {"tokenizer": None}, "tokenizer"),
    ("tokenizer is a string", {"tokenizer": "r1mini"}, "tokenizer"),
    ("tokenizer without fingerprint", {"tokenizer": {"name": "r1mini"}}, "tokenizer"),
    ("fingerprint not a string", {"tokenizer": {"name": "r1mini", "fingerprint": 12}}, "tokenizer"),
])
def test_malformed_meta_or_tokenizer_records_are_refused(saved, name, change, expected):
    path, payload = saved
    payload = {**payload, **change}
    for key in [k for k, v in change.items() if v is None]:  # None stands for "missing"
        del payload[key]
    torch.save(payload, path)
    assert expected in refusal(path), name


# ---------------------------------------------------------------- full disk

DISK_ERRORS = {
    "ENOSPC": OSError(errno.ENOSPC, "No space left on device"),
    "torch zip writer": RuntimeError("[enforce fail at inline_container.cc:595] . unexpected pos 4160 vs 4046\n"
                                     "Exception raised from write_record at inline_container.cc:595"),
}


@pytest.mark.parametrize("kind", list(DISK_ERRORS))
@pytest.mark.parametrize("previous", [True, False])
def test_full_disk_leaves_no_tmp_and_keeps_the_previous_file(tmp_path, monkeypatch, kind, previous):
    path = tmp_path / "model.pt"
    if previous:
        save_checkpoint(path, make_tiny_model())
    before = path.read_bytes() if previous else None

    def full_disk_save(obj, f, *args, **kwargs):
        with open(f, "wb") as out:
            out.write(b"PK\x03\x04 partial")
        raise DISK_ERRORS[kind]

    monkeypatch.setattr(torch, "save", full_disk_save)
    with pytest.raises(CheckpointError) as info:
        save_checkpoint(path, make_tiny_model(1))
    monkeypatch.undo()
    message = str(info.value)
    assert message.startswith(f"could not write {path}: disk full?") and "\n" not in message
    assert sorted(p.name for p in tmp_path.iterdir()) == (["model.pt"] if previous else [])
    if previous:
        assert path.read_bytes() == before
        load_checkpoint(path)


@pytest.mark.parametrize("error", [KeyboardInterrupt("killed"), OSError(errno.EACCES, "Permission denied"),
                                   TypeError("cannot pickle")])
def test_other_write_errors_propagate_and_leave_no_tmp(tmp_path, monkeypatch, error):
    path = tmp_path / "a.pt"
    atomic_torch_save({"x": torch.ones(2)}, path)

    def failing_save(obj, f, *args, **kwargs):
        with open(f, "wb") as out:
            out.write(b"partial")
        raise error

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(type(error)):
        atomic_torch_save({"x": torch.zeros(2)}, path)
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["a.pt"]
    assert torch.equal(torch.load(path, weights_only=True)["x"], torch.ones(2))


# ---------------------------------------------------------------- RNG states

class FakeCuda:
    """Stands in for torch.cuda on a machine without a GPU."""

    def __init__(self, monkeypatch, n_devices=2):
        self.states = [torch.full((16,), i, dtype=torch.uint8) for i in range(n_devices)]
        self.restored = []
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n_devices)
        monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: [s.clone() for s in self.states])
        monkeypatch.setattr(torch.cuda, "set_rng_state_all", lambda states: self.restored.append(list(states)))


def test_rng_state_saves_and_restores_cuda_generators(tmp_path, monkeypatch):
    cuda = FakeCuda(monkeypatch)
    path = tmp_path / "rng.pt"
    atomic_torch_save({"rng": rng_state()}, path)
    saved = torch.load(path, weights_only=True)["rng"]  # as a resume file hands it back
    assert [s.tolist() for s in saved["cuda"]] == [s.tolist() for s in cuda.states]
    set_rng_state(saved)
    assert len(cuda.restored) == 1 and [s.tolist() for s in cuda.restored[0]] == [s.tolist() for s in cuda.states]


def test_rng_state_from_more_gpus_restores_those_present(monkeypatch):
    state = rng_state()
    state["cuda"] = [torch.full((16,), i, dtype=torch.uint8) for i in range(4)]
    cuda = FakeCuda(monkeypatch, n_devices=2)
    set_rng_state(state)
    assert [s[0].item() for s in cuda.restored[0]] == [0, 1]


def test_rng_state_without_cuda_key_restores_cpu_generators(monkeypatch):
    torch.manual_seed(3)
    state = rng_state()
    state.pop("cuda", None)  # saved on a CPU machine, or by an older version
    expected = torch.rand(3)
    cuda = FakeCuda(monkeypatch)
    torch.manual_seed(4)
    set_rng_state(state)
    assert torch.equal(torch.rand(3), expected)
    assert cuda.restored == []


def test_rng_state_on_cpu_has_no_cuda_key(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert "cuda" not in rng_state()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_rng_state_round_trips_real_cuda_generators():
    torch.cuda.manual_seed_all(1)
    state = rng_state()
    expected = torch.rand(5, device="cuda")
    torch.cuda.manual_seed_all(2)
    set_rng_state(state)
    assert torch.equal(torch.rand(5, device="cuda"), expected)
