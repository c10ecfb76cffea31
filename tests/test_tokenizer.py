"""Tokenizer tests: exact round trips, one token per digit, special tokens, a BPE trainer that
tiktoken replays faithfully, and a vocabulary loaded from a local file only."""
import hashlib
import os
import random
import socket
import subprocess
import sys
import types
import unicodedata
from pathlib import Path

import pytest
import tiktoken

from r1mini import tokenizer as T
from r1mini.tokenizer import (PAT_STR, SPECIAL_TOKENS, Tokenizer, get_tokenizer, load_vocab,
                              save_vocab, split_pieces, train_bpe)

# A small stand-in corpus in the project's style (English + Chinese step-by-step arithmetic).
def small_corpus(n=300, seed=0):
    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        a, b = rng.randrange(10, 1000), rng.randrange(10, 1000)
        x, y = a % 10, b % 10
        if rng.random() < 0.5:
            docs.append(f"A conversation between User and Assistant. User: {a}+{b}\nAssistant: "
                        f"<think> {x}+{y}={x + y}, write {(x + y) % 10} carry {(x + y) // 10}. "
                        f"Wait, let me check. </think> <answer>{a + b}</answer>")
        else:
            docs.append(f"问题：{a}加{b}等于多少？\n解答：{x}加{y}得{x + y}，写{(x + y) % 10}进"
                        f"{(x + y) // 10}。所以答案是{a + b}。")
    return docs


@pytest.fixture(scope="module")
def tok():
    return get_tokenizer()


@pytest.fixture(scope="module")
def trained():
    texts = small_corpus()
    ranks = train_bpe(texts, 200)
    special = {s: len(ranks) + i for i, s in enumerate(SPECIAL_TOKENS)}
    return texts, ranks, tiktoken.Encoding("t", pat_str=PAT_STR, mergeable_ranks=ranks,
                                           special_tokens=special)


def random_unicode(rng, n):
    ranges = [(0x20, 0x7E), (0x00, 0x1F), (0xA0, 0x2FF), (0x300, 0x36F),  # incl. NUL, \n, combining
              (0x370, 0x4FF), (0x4E00, 0x9FFF), (0xFF00, 0xFF5F), (0x1F300, 0x1FAFF),
              (0x660, 0x669), (0x0, 0x10FFFF)]
    out = []
    while len(out) < n:
        c = rng.randint(*rng.choice(ranges))
        if not 0xD800 <= c <= 0xDFFF:  # lone surrogates are not valid text
            out.append(chr(c))
    return "".join(out)


# --- round trips ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "", "Hello, world!  Two  spaces,\ttab\nnewline\r\n", "3加9得12，写2进1。", "emoji 😀👍🏽 ok",
    "e\u0301 combining, \x00 null", "A conversation between User and Assistant. User: 348+719\n"
    "Assistant: <think> 8+9=17, write 7 carry 1. </think> <answer>1067</answer><|endoftext|>",
])
def test_roundtrip_fixed(tok, text):
    assert tok.decode(tok.encode(text)) == text


def test_roundtrip_random_unicode(tok):
    rng = random.Random(0)
    for _ in range(300):
        text = random_unicode(rng, rng.randint(0, 40))
        if rng.random() < 0.3:
            text += rng.choice(SPECIAL_TOKENS) + random_unicode(rng, 5)
        assert tok.decode(tok.encode(text)) == text


# --- digits -------------------------------------------------------------------------------------

def test_every_digit_is_one_token(tok):
    rng = random.Random(1)
    for _ in range(200):
        s = str(rng.randrange(10 ** rng.randint(1, 30)))
        for text, digits in [(s, s), (f"x{s}+{s}=", s + s), (f" {s}.", s), (f"得{s}，", s)]:
            pieces = [tok.decode([i]) for i in tok.encode(text)]
            assert [p for p in pieces if any(c.isdigit() for c in p)] == list(digits), text


def test_digits_are_split_before_bpe():
    assert split_pieces("x=12345, 得67") == ["x", "=", "1", "2", "3", "4", "5", ",", " 得", "6", "7"]
    ranks = train_bpe(["1234+5678=6912 ab12 ab12"] * 10, 20)
    assert not any(any(48 <= x <= 57 for x in t) for t in ranks if len(t) > 1)


def test_no_token_mixes_a_digit_with_anything(tok):
    for i in range(tok.n_vocab):
        b = tok.enc.decode_single_token_bytes(i)
        if any(48 <= x <= 57 for x in b):  # an ASCII digit byte only ever stands for the digit
            assert len(b) == 1, b
        text = b.decode("utf-8", "ignore")
        if any(unicodedata.category(c)[0] == "N" for c in text):  # "٣", "½", "²": alone too
            assert len(text) == 1, b


def test_split_regex_agrees_with_tiktoken():
    # Our trainer splits with the `regex` package, tiktoken with Rust. Give every piece of a text its
    # own token: then tiktoken's tokens are its own pieces, and they must equal ours. (Only assigned
    # code points: the two engines may know different Unicode versions.)
    rng = random.Random(2)
    for _ in range(300):
        text = random_unicode(rng, rng.randint(1, 30)) + " 12 ab  c\n\n x"
        text = "".join(c for c in text if unicodedata.category(c) != "Cn")
        pieces = [p.encode() for p in split_pieces(text)]
        ranks = {bytes([i]): i for i in range(256)}
        for p in pieces:
            ranks.setdefault(p, len(ranks))
        enc = tiktoken.Encoding("p", pat_str=PAT_STR, mergeable_ranks=ranks, special_tokens={})
        assert [enc.decode_single_token_bytes(t) for t in enc.encode_ordinary(text)] == pieces


# --- special tokens -----------------------------------------------------------------------------

def test_special_tokens(tok):
    ids = [tok.encode(s) for s in SPECIAL_TOKENS]
    assert all(len(i) == 1 for i in ids)
    ids = [i[0] for i in ids]
    assert ids == [tok.eot_id, tok.pad_id, tok.think_id, tok.end_think_id, tok.answer_id,
                   tok.end_answer_id]
    assert len(set(ids)) == len(ids) and min(ids) == tok.n_vocab - len(ids) and max(ids) == tok.n_vocab - 1
    assert tok.encode("a<think>b")[1] == tok.think_id  # also inside text
    assert tok.decode([tok.answer_id]) == "<answer>"


# --- the BPE trainer ----------------------------------------------------------------------------

def test_train_bpe_is_deterministic(trained):
    texts, ranks, _ = trained
    # Ties are broken by bytes, so even the order of the documents does not matter.
    assert train_bpe(list(reversed(texts)), 200) == ranks
    assert list(ranks.items())[:256] == [(bytes([i]), i) for i in range(256)]
    assert sorted(ranks.values()) == list(range(len(ranks)))
    # This corpus has ~100 pairs seen twice or more; training stops there, and a shorter run learns
    # exactly the first merges of a longer one.
    assert 256 + 50 < len(ranks) < 256 + 200
    assert list(train_bpe(texts, 30).items()) == list(ranks.items())[:256 + 30]


def test_train_bpe_by_hand():
    def learned(texts, n):
        return [t for t, r in train_bpe(texts, n).items() if r >= 256]
    assert learned(["abababab"] * 2, 5) == [b"ab", b"abab", b"abababab"]  # every occurrence merges
    assert learned(["xy", "uv"] * 3, 1) == learned(["uv", "xy"] * 3, 1) == [b"uv"]  # tie: smaller bytes
    assert learned(["ab ab xyz"], 10) == [b"ab"]  # pairs seen only once are not merged


def test_merged_tokens_are_reachable_by_tiktoken(trained):
    # tiktoken only creates a token by joining two tokens of lower rank.
    _, ranks, _ = trained
    for t, r in ranks.items():
        if r >= 256:
            assert any(ranks.get(t[:k], r) < r and ranks.get(t[k:], r) < r for k in range(1, len(t))), t


def test_tiktoken_replays_the_training(trained):
    texts, ranks, enc = trained
    merges = sorted((r, t) for t, r in ranks.items() if r >= 256)
    for piece in {p.encode() for t in texts for p in split_pieces(t)}:
        toks = [bytes([b]) for b in piece]   # apply the merges in the order they were learned
        for _, m in merges:
            i = 0
            while i < len(toks) - 1:
                if toks[i] + toks[i + 1] == m:
                    toks[i:i + 2] = [m]
                i += 1
        assert [enc.decode_single_token_bytes(i) for i in enc.encode_ordinary(piece.decode())] == toks


def test_merges_shorten_frequent_words(trained):
    texts, ranks, enc = trained
    for word in [" carry", " conversation", "Assistant", "等于多少"]:
        assert len(enc.encode(word)) == 1, word
    assert not any(b"think" in t for t in ranks)  # special-token text is not trained on
    n_bytes = sum(len(t.encode()) for t in texts)
    assert sum(len(enc.encode(t, allowed_special="all")) for t in texts) < 0.5 * n_bytes


def test_tokens_never_straddle_characters(tok, trained):
    merged = [t for ranks in (load_vocab(T.VOCAB_PATH), trained[1]) for t, r in ranks.items() if r >= 256]
    for b in merged:
        try:
            b.decode()
        except UnicodeDecodeError as e:  # only allowed: the first bytes of one character
            assert e.start == 0 and e.reason == "unexpected end of data", b


# --- the vocabulary file ------------------------------------------------------------------------

def test_vocab_file_roundtrip_and_validation(tmp_path, trained):
    _, ranks, _ = trained
    save_vocab(ranks, tmp_path / "v.tiktoken")
    assert load_vocab(tmp_path / "v.tiktoken") == ranks
    assert not list(tmp_path.glob("*.tmp"))
    (tmp_path / "bad.tiktoken").write_text("YQ== 0\nYg== 2\n")
    with pytest.raises(ValueError):
        load_vocab(tmp_path / "bad.tiktoken")


def test_get_tokenizer_loads_offline_with_stable_fingerprint(monkeypatch, tmp_path):
    def no_network(*a, **k):
        raise AssertionError("the tokenizer must never touch the network")
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    get_tokenizer.cache_clear()
    tok = get_tokenizer()
    assert get_tokenizer() is tok and tok.n_vocab > 256 + len(SPECIAL_TOKENS)
    assert tok.fingerprint == Tokenizer(T.VOCAB_PATH).fingerprint
    assert len(tok.fingerprint) == 64 and tok.fingerprint[:8] in tok.name
    # A different vocabulary gives a different fingerprint.
    ranks = load_vocab(T.VOCAB_PATH)
    save_vocab(dict(list(ranks.items())[:-1]), tmp_path / "v.tiktoken")
    assert Tokenizer(tmp_path / "v.tiktoken").fingerprint != tok.fingerprint


def test_missing_vocab_says_how_to_build_it(monkeypatch, tmp_path):
    monkeypatch.setattr(T, "VOCAB_PATH", tmp_path / "none.tiktoken")
    get_tokenizer.cache_clear()
    try:
        with pytest.raises(FileNotFoundError, match="python -m r1mini.tokenizer --train"):
            get_tokenizer()
    finally:
        get_tokenizer.cache_clear()


RETRAIN = """
import sys
from pathlib import Path
from r1mini import tokenizer
tokenizer.VOCAB_PATH = Path(sys.argv[1])  # the CLI exactly as a student runs it, writing elsewhere
tokenizer.main(["--train"])
"""


@pytest.mark.parametrize("hash_seed", ["0", "4242"])
def test_train_cli_reproduces_the_committed_vocab_byte_for_byte(tmp_path, hash_seed):
    """`python -m r1mini.tokenizer --train` rebuilds the committed vocab.tiktoken exactly, in a fresh
    interpreter, whatever its hash seed: a student who retrains gets the same tokenizer (and the same
    fingerprint, so checkpoints still load). It once gave 430 ranks against 433: the file had been
    trained before the corpus changed, by a trainer that broke ties differently. Change the corpus
    or the trainer, and this fails until the vocabulary is retrained and committed."""
    out = tmp_path / "vocab.tiktoken"
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    subprocess.run([sys.executable, "-c", RETRAIN, str(out)], check=True, env=env, capture_output=True,
                   cwd=Path(T.__file__).parents[1])
    assert out.read_bytes() == T.VOCAB_PATH.read_bytes()


def test_cli_train_and_show(monkeypatch, tmp_path, capsys):
    corpus = types.ModuleType("r1mini.corpus")
    corpus.tokenizer_training_texts = lambda: small_corpus(50)
    monkeypatch.setitem(sys.modules, "r1mini.corpus", corpus)
    monkeypatch.setattr(T, "VOCAB_PATH", tmp_path / "vocab.tiktoken")
    get_tokenizer.cache_clear()
    try:
        T.main(["--train", "--merges", "40", "--show", "348+719"])
        assert len(load_vocab(tmp_path / "vocab.tiktoken")) == 296
        out = capsys.readouterr().out
        assert "7 tokens" in out and all(f"'{c}'" in out for c in "348+719")
    finally:
        get_tokenizer.cache_clear()
