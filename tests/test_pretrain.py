"""Pretraining's recipe: Muon for the hidden matrices beside AdamW for the rest, a warmup-stable-decay
schedule, and a killed run that resumes to the uninterrupted one's exact weights with both optimizers."""
import pytest
import torch

from r1mini import sft
from r1mini.pretrain import RECIPES, encoded_stream
from r1mini.rundir import RunDir
from r1mini.sft import SFTConfig, cosine_lr, train_sft, wsd_lr
from r1mini.train_utils import MuonAdamW, hidden_matrices, set_lr

from conftest import crash_at, make_tiny_model


def test_wsd_warms_up_holds_the_peak_then_decays_linearly_to_the_floor():
    lrs = [wsd_lr(step, 100, 1.0, 10, 0.1, 0.3) for step in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)        # linear warmup
    assert all(lr == 1.0 for lr in lrs[10:70])                                  # stable: 70% of the run
    decay = lrs[70:]
    assert all(a > b for a, b in zip(decay, decay[1:]))                         # strictly down
    assert decay[-1] == pytest.approx(0.1)                                      # ends at min_ratio * peak
    assert all(b - a == pytest.approx(decay[1] - decay[0]) for a, b in zip(decay, decay[1:]))  # linear
    # it holds the peak where the cosine has long started down
    assert sum(lrs) > sum(cosine_lr(step, 100, 1.0, 10, 0.1) for step in range(100))


def test_muon_takes_the_hidden_matrices_and_adamw_everything_else():
    model = make_tiny_model()
    optimizer = MuonAdamW(model, lr=1e-3, weight_decay=0.1)
    muon = {id(p) for g in optimizer.muon.param_groups for p in g["params"]}
    adamw = {id(p) for g in optimizer.adamw.param_groups for p in g["params"]}
    assert not muon & adamw and muon | adamw == {id(p) for p in model.parameters()}   # each exactly once
    names = {id(p): name for name, p in model.named_parameters()}
    muon_names = sorted(names[i] for i in muon)
    assert muon_names and all(torch.is_tensor(p) and p.dim() == 2 for p in hidden_matrices(model))
    assert not any(part in name for name in muon_names for part in ("embed", ".gate.", ".experts.", "norm"))
    assert any("attn.wqkv" in n for n in muon_names) and any("shared_experts" in n for n in muon_names)
    no_decay = [p for g in optimizer.adamw.param_groups if g["weight_decay"] == 0 for p in g["params"]]
    assert no_decay and all(p.dim() == 1 for p in no_decay)                    # norms and such: no decay
    set_lr(optimizer, 0.5)                                                     # one schedule for both
    assert {g["lr"] for g in optimizer.param_groups} == {0.5} and len(optimizer.param_groups) == 3


def test_a_muon_step_changes_every_trained_parameter(tokenizer):
    model = make_tiny_model().train()
    optimizer = MuonAdamW(model, lr=1e-2, weight_decay=0.0)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    tokens = torch.randint(0, tokenizer.n_vocab, (4, 12))
    logits = model(tokens)
    torch.nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1), tokens[:, 1:].flatten()).backward()
    optimizer.step()
    unchanged = [n for n, p in model.named_parameters() if p.grad is not None and torch.equal(p, before[n])]
    assert unchanged == []


def test_killed_muon_pretraining_resumes_to_the_uninterrupted_weights(tmp_path, tokenizer, monkeypatch):
    cfg = SFTConfig(steps=6, batch_size=4, lr=3e-3, warmup_steps=2, resume_every=2, optimizer="muon", schedule="wsd",
                    bucket_batches=2)

    def run(out):
        model = make_tiny_model().train()
        with RunDir(out, {"x": 1}) as rundir:
            train_sft(model, encoded_stream(tokenizer, 0), cfg, "cpu", rundir, tokenizer.pad_id, seed=0)
        return model

    whole = run(tmp_path / "whole")
    crash_at(monkeypatch, sft, "sft_step", 5)   # killed during step 5; resume file at step 4
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "resumed")
    assert (tmp_path / "resumed" / "resume.pt").exists()
    monkeypatch.undo()
    resumed = run(tmp_path / "resumed")
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


def test_the_cpu_recipe_is_muon_on_wsd():
    assert RECIPES["cpu"][1:] == ("muon", "wsd")
    with pytest.raises(ValueError, match="optimizer"):
        sft.make_sft_optimizer(make_tiny_model(), SFTConfig(optimizer="sgd"))
