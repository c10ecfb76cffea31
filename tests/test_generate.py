"""The generate CLI, run in-process on a tiny checkpoint: questions normalised or refused, per-question
token budgets, answers written batch by batch, refused and too-long questions marked per line, and
one-line errors (exit 2) for bad flags, files and questions — found before the model is loaded or
anything is sampled."""
import json
import os
import tempfile

import pytest

from r1mini import generate as cli
from r1mini.checkpoint import save_checkpoint
from r1mini.corpus import render_prompt
from r1mini.tokenizer import get_tokenizer
from tests.conftest import make_tiny_model

MAX_SEQ_LEN = 64


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "model.pt"
    save_checkpoint(path, make_tiny_model(max_seq_len=MAX_SEQ_LEN))
    return str(path)


def prompt_tokens(question: str) -> int:
    return len(get_tokenizer().encode(render_prompt(question)))


def question_of_length(n_tokens: int) -> str:
    """A question whose rendered prompt is exactly n_tokens long (an addition with a long operand:
    one token per digit)."""
    for k in range(1, 200):
        question = "1" * k + "+1"
        if prompt_tokens(question) == n_tokens:
            return question
    raise AssertionError(f"no question of {n_tokens} prompt tokens")


def write_questions(path, questions, extra=None):
    path.write_text("".join(json.dumps({"question": q, **(extra or {})}) + "\n" for q in questions))
    return str(path)


def read_answers(path):
    return [json.loads(line) for line in open(path, encoding="utf-8")]


def run(argv, capsys):
    """(exit code, stdout, stderr) of the CLI (flag-type errors exit through argparse)."""
    try:
        code = cli.main(argv + ["--device", "cpu"])
    except SystemExit as exit_info:
        code = exit_info.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *fragments):
    assert code == 2
    assert err.startswith("error: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


@pytest.fixture
def generate_calls(monkeypatch):
    """Records (prompt lengths, max_new_tokens) of every sampler call, then samples for real."""
    calls, real_generate = [], cli.generate

    def spy(model, prompts, max_new_tokens, **kwargs):
        calls.append(([len(p) for p in prompts], max_new_tokens))
        return real_generate(model, prompts, max_new_tokens, **kwargs)

    monkeypatch.setattr(cli, "generate", spy)
    return calls


@pytest.fixture
def no_model_loaded(monkeypatch):
    """Fails the test if the checkpoint is loaded: bad input must be refused before that."""
    loads = []
    monkeypatch.setattr(cli, "load_checkpoint", lambda *a, **k: loads.append(a) or pytest.fail("model loaded"))
    yield
    assert loads == []


# ---------------------------------------------------------------- the public behaviour

def test_question_prints_the_thinking(ckpt, capsys):
    code, out, err = run(["--ckpt", ckpt, "--question", "12+34", "--max-new-tokens", "6", "--samples", "3"], capsys)
    assert code == 0 and err == ""
    assert out.count(render_prompt("12+34")) == 3 and out.count("--> answer: ") == 3


def test_in_out_adds_response_and_answer_in_input_order(ckpt, tmp_path, capsys):
    questions = ["12+34", "4817*6", "T and F", "99+1"]
    inp = write_questions(tmp_path / "q.jsonl", questions, extra={"id": "x"})
    out = tmp_path / "a.jsonl"
    code, stdout, err = run(["--ckpt", ckpt, "--in", inp, "--out", str(out), "--max-new-tokens", "5"], capsys)
    assert code == 0 and "wrote 4 answers" in stdout and err == ""
    rows = read_answers(out)
    assert [r["question"] for r in rows] == questions and all(r["id"] == "x" for r in rows)
    for row in rows:
        assert isinstance(row["response"], str) and "answer" in row and "error" not in row


def test_input_lines_are_split_on_newlines_only(ckpt, tmp_path, capsys):
    inp = tmp_path / "q.jsonl"
    inp.write_bytes(b"\xef\xbb\xbf" + '{"question": "1+2"}\n\n  \n{"question": "a\u2028b\x85c"}\r\n'.encode())
    out = tmp_path / "a.jsonl"
    code, _, _ = run(["--ckpt", ckpt, "--in", str(inp), "--out", str(out), "--max-new-tokens", "2"], capsys)
    assert code == 0
    assert [r["question"] for r in read_answers(out)] == ["1+2", "a\u2028b\x85c"]


def test_questions_are_asked_as_normalised(ckpt, capsys):
    for typed, asked in [("12 + 34 =", "12+34"), ("what is 12+34", "What is 12+34?"), ("t and f", "T and F"),
                         ("T and F的结果是什么?", "T and F 的结果是什么？")]:
        code, out, err = run(["--ckpt", ckpt, "--question", typed, "--max-new-tokens", "2"], capsys)
        assert code == 0 and err == ""
        assert out.startswith(render_prompt(asked)), (typed, out)


def test_a_refused_question_is_a_one_line_error(ckpt, capsys, no_model_loaded):
    code, out, err = run(["--ckpt", ckpt, "--question", "12-3"], capsys)
    assert_one_line_error(code, err, "unsupported question '12-3'", "supported: 57+384")
    assert out == ""


def test_refused_lines_get_an_error_and_the_run_goes_on(ckpt, tmp_path, capsys, generate_calls):
    questions = ["12 + 34", "12*34", "What is 5+6?", "T nand F"]
    inp, out = write_questions(tmp_path / "q.jsonl", questions), tmp_path / "a.jsonl"
    code, stdout, _ = run(["--ckpt", ckpt, "--in", inp, "--out", str(out), "--max-new-tokens", "3"], capsys)
    assert code == 0 and "2 questions refused or too long" in stdout
    assert generate_calls == [([prompt_tokens("12+34"), prompt_tokens("What is 5+6?")], 3)]  # only these asked
    rows = read_answers(out)
    assert [r["question"] for r in rows] == questions  # as typed
    for row, refused in zip(rows, (False, True, False, True)):
        if refused:
            assert row["response"] is None and row["answer"] is None
            assert row["error"].startswith(f"unsupported question {row['question']!r}; supported: ")
        else:
            assert isinstance(row["response"], str) and "error" not in row


# ---------------------------------------------------------------- budgets

def test_every_question_gets_its_own_budget(ckpt, tmp_path, capsys, generate_calls):
    long_question = question_of_length(MAX_SEQ_LEN - 4)      # room for 4 new tokens
    too_long = question_of_length(MAX_SEQ_LEN + 6)
    edge = question_of_length(MAX_SEQ_LEN - 1)               # room for exactly one token
    questions = ["12+34", long_question, too_long, "56+78", edge]
    inp, out = write_questions(tmp_path / "q.jsonl", questions), tmp_path / "a.jsonl"
    code, stdout, _ = run(["--ckpt", ckpt, "--in", inp, "--out", str(out), "--max-new-tokens", "20",
                           "--temperature", "0"], capsys)
    assert code == 0 and "1 questions refused or too long" in stdout
    short = prompt_tokens("12+34")
    assert sorted(generate_calls, key=lambda c: -c[1]) == [
        ([short, prompt_tokens("56+78")], 20), ([MAX_SEQ_LEN - 4], 4), ([MAX_SEQ_LEN - 1], 1)]
    rows = read_answers(out)
    assert [r["question"] for r in rows] == questions
    assert rows[2] == {"question": too_long, "response": None, "answer": None,
                       "error": f"question too long for this model ({MAX_SEQ_LEN + 6} tokens, limit {MAX_SEQ_LEN - 1})"}
    assert all(isinstance(r["response"], str) and "error" not in r for i, r in enumerate(rows) if i != 2)


def test_short_answers_are_as_long_as_alone_next_to_a_long_question(ckpt, tmp_path, capsys):
    """Greedy answers to a short question are the same with or without a long one in the batch."""
    answers = {}
    for name, questions in {"alone": ["12+34"], "with long": ["12+34", question_of_length(MAX_SEQ_LEN - 2)]}.items():
        inp, out = write_questions(tmp_path / f"{name}.jsonl", questions), tmp_path / f"{name}.out"
        assert run(["--ckpt", ckpt, "--in", inp, "--out", str(out), "--max-new-tokens", "12",
                    "--temperature", "0"], capsys)[0] == 0
        answers[name] = read_answers(out)[0]["response"]
    assert answers["alone"] == answers["with long"]
    assert len(get_tokenizer().encode(answers["alone"])) > 2


def test_a_single_question_too_long_is_an_error(ckpt, capsys):
    question = question_of_length(MAX_SEQ_LEN)
    code, out, err = run(["--ckpt", ckpt, "--question", question], capsys)
    expected = f"question too long for this model ({MAX_SEQ_LEN} tokens, limit {MAX_SEQ_LEN - 1})"
    assert_one_line_error(code, err, expected)
    assert out == ""


# ---------------------------------------------------------------- writing as it goes

def test_answers_are_written_batch_by_batch(ckpt, tmp_path, capsys, monkeypatch):
    questions = [f"{i}+{i}" for i in range(10, 17)]
    inp, out = write_questions(tmp_path / "q.jsonl", questions), tmp_path / "a.jsonl"
    seen, real_generate = [], cli.generate

    def killed_on_third_batch(model, prompts, max_new_tokens, **kwargs):
        seen.append(len(read_answers(out)))  # what a kill at this moment would leave
        if len(seen) == 3:
            raise KeyboardInterrupt
        return real_generate(model, prompts, max_new_tokens, **kwargs)

    monkeypatch.setattr(cli, "generate", killed_on_third_batch)
    with pytest.raises(KeyboardInterrupt):
        cli.main(["--ckpt", ckpt, "--in", inp, "--out", str(out), "--batch-size", "3", "--max-new-tokens", "3",
                  "--device", "cpu"])
    assert seen == [0, 3, 6]
    assert [r["question"] for r in read_answers(out)] == questions[:6]


def test_progress_bar_only_with_several_batches(ckpt, tmp_path, capsys):
    inp, out = write_questions(tmp_path / "q.jsonl", ["1+1", "2+2", "3+3"]), str(tmp_path / "a.jsonl")
    code, _, err = run(["--ckpt", ckpt, "--in", inp, "--out", out, "--max-new-tokens", "2"], capsys)
    assert code == 0 and err == ""
    code, _, err = run(["--ckpt", ckpt, "--in", inp, "--out", out, "--max-new-tokens", "2", "--batch-size", "2"],
                       capsys)
    assert code == 0 and "3/3" in err and "question" in err


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("flags, fragment", [
    (["--question", "1+1", "--out", "a.jsonl"], "--out needs --in"),
    (["--in", "q.jsonl", "--out", "a.jsonl", "--samples", "2"], "--samples"),
    (["--in", "q.jsonl", "--out", "a.jsonl", "--samples", "1"], "--samples"),
    (["--in", "q.jsonl"], "--in needs --out"),
    (["--in", "q.jsonl", "--out", "q.jsonl"], "--out must not be the --in file"),
    (["--question", "1+1", "--temperature", "inf"], "--temperature"),
    (["--question", "1+1", "--temperature", "nan"], "--temperature"),
    (["--question", "1+1", "--temperature", "1e-45"], "--temperature"),
    (["--question", "1+1", "--temperature", "0.0009"], "--temperature"),
    (["--question", "1+1", "--temperature", "-0.5"], "--temperature"),
    (["--question", "1+1", "--top-p", "0"], "--top-p"),
    (["--question", "1+1", "--top-p", "1.01"], "--top-p"),
    (["--question", "1+1", "--top-p", "nan"], "--top-p"),
    (["--question", "1+1", "--seed", "-1"], "--seed"),
    (["--question", "1+1", "--seed", str(2 ** 32)], "--seed"),
    (["--question", "1+1", "--max-new-tokens", "0"], "--max-new-tokens"),
    (["--question", "1+1", "--samples", "0"], "--samples"),
    (["--question", "1+1", "--batch-size", "0"], "--batch-size"),
])
def test_bad_flags_are_one_line_errors(flags, fragment, tmp_path, monkeypatch, capsys, no_model_loaded):
    monkeypatch.chdir(tmp_path)
    write_questions(tmp_path / "q.jsonl", ["1+1"])
    code, out, err = run(["--ckpt", "model.pt"] + flags, capsys)
    assert_one_line_error(code, err, fragment)
    assert not (tmp_path / "a.jsonl").exists()


@pytest.mark.parametrize("flags", [["--temperature", "0"], ["--temperature", "0.001"], ["--top-p", "1"],
                                   ["--seed", str(2 ** 32 - 1)], ["--seed", "0"], ["--max-new-tokens", "1"]])
def test_edge_values_of_flags_are_accepted(ckpt, capsys, flags):
    assert run(["--ckpt", ckpt, "--question", "1+1", "--max-new-tokens", "2"] + flags, capsys)[0] == 0


def test_non_utf8_input_names_the_file_and_line(ckpt, tmp_path, capsys, no_model_loaded):
    inp = tmp_path / "q.jsonl"
    inp.write_bytes(b'{"question": "1+1"}\n{"question": "caf\xe9"}\n')
    code, _, err = run(["--ckpt", ckpt, "--in", str(inp), "--out", str(tmp_path / "a.jsonl")], capsys)
    assert_one_line_error(code, err, f"{inp}:2:", "UTF-8")


def test_missing_input_file(ckpt, tmp_path, capsys, no_model_loaded):
    code, _, err = run(["--ckpt", ckpt, "--in", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "a.jsonl")],
                       capsys)
    assert_one_line_error(code, err, "no such file", "nope.jsonl")


def test_invalid_json_line(ckpt, tmp_path, capsys, no_model_loaded):
    inp = tmp_path / "q.jsonl"
    inp.write_text('{"question": "1+1"}\n{"question": 3}\n')
    code, _, err = run(["--ckpt", ckpt, "--in", str(inp), "--out", str(tmp_path / "a.jsonl")], capsys)
    assert_one_line_error(code, err, f"{inp}:2:")


@pytest.mark.parametrize("where, reason", [("missing directory", "does not exist"), ("parent is a file", "is not a directory"),
                                           ("out is a directory", "it is a directory")])
def test_unwritable_output_fails_before_loading(ckpt, tmp_path, capsys, no_model_loaded, where, reason):
    inp = write_questions(tmp_path / "q.jsonl", ["1+1"])
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    out = {"missing directory": tmp_path / "nowhere" / "a.jsonl", "parent is a file": tmp_path / "file" / "a.jsonl",
           "out is a directory": tmp_path / "dir"}[where]
    code, _, err = run(["--ckpt", ckpt, "--in", inp, "--out", str(out)], capsys)
    assert_one_line_error(code, err, f"cannot write --out {out}: ", reason)


def test_read_only_directory_fails_before_loading(ckpt, tmp_path, capsys, no_model_loaded, monkeypatch):
    """The write probe's failure becomes a one-line error (simulated: as root, chmod does not stop writes)."""
    inp = write_questions(tmp_path / "q.jsonl", ["1+1"])

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    code, _, err = run(["--ckpt", ckpt, "--in", inp, "--out", str(tmp_path / "a.jsonl")], capsys)
    assert_one_line_error(code, err, "cannot write", "Permission denied")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions and a non-root user")
def test_really_read_only_directory(ckpt, tmp_path, capsys, no_model_loaded):
    inp = write_questions(tmp_path / "q.jsonl", ["1+1"])
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, _, err = run(["--ckpt", ckpt, "--in", inp, "--out", str(locked / "a.jsonl")], capsys)
    finally:
        locked.chmod(0o700)
    assert_one_line_error(code, err, "cannot write")


def test_existing_output_survives_a_failed_start(tmp_path, capsys):
    """The writability check neither truncates an existing --out nor leaves a new file behind."""
    inp = write_questions(tmp_path / "q.jsonl", ["1+1"])
    out = tmp_path / "a.jsonl"
    out.write_text("earlier answers\n")
    code, _, err = run(["--ckpt", str(tmp_path / "missing.pt"), "--in", inp, "--out", str(out)], capsys)
    assert_one_line_error(code, err, "no checkpoint")
    assert out.read_text() == "earlier answers\n"
    fresh = tmp_path / "fresh.jsonl"
    run(["--ckpt", str(tmp_path / "missing.pt"), "--in", inp, "--out", str(fresh)], capsys)
    assert not fresh.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jsonl", "q.jsonl"]
