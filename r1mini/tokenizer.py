"""The tokenizer: a tiktoken Encoding built from r1mini's own byte-level BPE vocabulary.

Nothing is ever downloaded. The vocabulary is made here, in three layers:

  1. 256 single bytes (rank = byte value), so any string -- any language, emoji, a null byte --
     can be encoded and decoded exactly;
  2. a few hundred BPE merges learned from our own synthetic corpus (`train_bpe`), so frequent
     words like " Assistant" or " carry" become one token and sequences get shorter;
  3. six special tokens (`SPECIAL_TOKENS`) for the end of a document, padding, and the R1
     template's <think> </think> <answer> </answer> tags.

Layers 1-2 live in `vocab.tiktoken` (tiktoken's standard format: one `base64(bytes) rank` per
line); layer 3 and the pre-tokenization regex `PAT_STR` live in this file. Before BPE, text is cut
into pieces by `PAT_STR` and merges never cross a piece boundary. Our regex makes EVERY DIGIT ITS
OWN PIECE: if "12" or "345" could be single tokens, the model would have to learn the sum of every
pair of multi-digit tokens instead of ten-by-ten digit facts plus carries -- arithmetic becomes
much harder to learn (LLaMA and DeepSeek LLM split numbers into single digits for this reason).

Reading order: PAT_STR -> train_bpe -> save_vocab / load_vocab -> Tokenizer -> get_tokenizer
-> the command line (`python -m r1mini.tokenizer --train` rebuilds the vocabulary from the corpus,
byte for byte the committed file, whatever the hash seed: a test checks it, so a corpus change must
come with a retrained vocabulary; `--show "text"` prints how a text is cut into tokens).
"""
from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import os
import re
from collections import Counter
from pathlib import Path
from typing import Iterable

import tiktoken

# Ids of these come right after the mergeable ranks, in this order.
SPECIAL_TOKENS = ("<|endoftext|>", "<|pad|>", "<think>", "</think>", "<answer>", "</answer>")

# Pre-tokenization, alternatives tried in this order at each position:
#   ` ?\p{L}+`             a word: a run of letters (Latin, CJK, ...) with an optional leading space
#   `\p{N}`                one digit (any numeric character) -- always a piece on its own
#   ` ?[^\s\p{L}\p{N}]+[\r\n]*`  a run of punctuation / symbols (e.g. "+", "=", "，", "</")
#   `\s*[\r\n]+`           newlines (with the spaces before them)
#   `\s+(?!\S)|\s+`        other whitespace; the lookahead leaves the last space of a run to be the
#                          leading space of the next word, as in GPT-2/GPT-4
PAT_STR = r""" ?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

VOCAB_PATH = Path(__file__).with_name("vocab.tiktoken")
DEFAULT_MERGES = 300


# ----------------------------------------------------------------------------------------------
# Training: byte-level BPE
# ----------------------------------------------------------------------------------------------

def split_pieces(text: str) -> list[str]:
    """Cut text into pre-tokenization pieces with PAT_STR (special-token text is dropped: it is
    never BPE-encoded, so merges spent on "<think" would be wasted)."""
    parts = re.split("|".join(map(re.escape, SPECIAL_TOKENS)), text)
    return [p for part in parts for p in _pattern().findall(part)]


@functools.lru_cache(maxsize=None)
def _pattern():
    # Python's `re` has no \p{L}, and tiktoken's Rust core splits internally without exposing the
    # pieces. The `regex` package is a declared dependency of tiktoken (installed with it; tiktoken's
    # own `_encode_only_native_bpe` splits with it), so using it adds no dependency.
    # tests/test_tokenizer.py checks that its split agrees with tiktoken's.
    import regex

    return regex.compile(PAT_STR)


def train_bpe(texts: Iterable[str], n_merges: int) -> dict[bytes, int]:
    """Learn `n_merges` BPE merges; returns mergeable ranks {token bytes: rank}.

    Ranks 0..255 are the single bytes; each merge adds the next rank. tiktoken encodes a piece by
    repeatedly merging the adjacent pair whose *concatenation* has the lowest rank, so recording
    merges in the order we learn them makes tiktoken replay our training.
    """
    ranks = {bytes([i]): i for i in range(256)}
    # A corpus repeats the same words over and over: train on {piece: count}, not on the text.
    piece_counts = Counter(p.encode("utf-8") for t in texts for p in split_pieces(t))
    words = [[[bytes([b]) for b in piece], n] for piece, n in piece_counts.items()]

    while len(ranks) < 256 + n_merges:
        pairs = Counter()
        for toks, n in words:
            for pair in zip(toks, toks[1:]):
                if _whole_chars_or_char_start(pair[0] + pair[1]):
                    pairs[pair] += n
        if not pairs:
            break
        # Most frequent pair; ties go to the smallest bytes, so the result never depends on the
        # order of the texts.
        (a, b), count = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        if count < 2:  # merging something seen once only memorises it
            break
        # The same bytes may already be a token reached by another split ("ab"+"c" vs "a"+"bc");
        # tiktoken only looks at the bytes, so it keeps its first rank.
        ranks.setdefault(a + b, len(ranks))
        for w in words:
            toks, out, i = w[0], [], 0
            while i < len(toks):
                if i + 1 < len(toks) and toks[i] == a and toks[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(toks[i])
                    i += 1
            w[0] = out
    return ranks


def _whole_chars_or_char_start(tok: bytes) -> bool:
    """True if `tok` is whole UTF-8 characters, or the first bytes of one character.

    Plain byte-level BPE happily learns tokens like the last byte of one Chinese character plus the
    first byte of the next. With only a few hundred merges we cannot afford such fragments: this
    rule makes every character complete before it joins its neighbours, and keeps tokens readable.
    """
    try:
        tok.decode("utf-8")
        return True
    except UnicodeDecodeError as e:  # a proper prefix fails only at its end, and only there
        return e.start == 0 and e.reason == "unexpected end of data"


# ----------------------------------------------------------------------------------------------
# The vocabulary file (tiktoken's format; our own tiny reader so that nothing can touch a network)
# ----------------------------------------------------------------------------------------------

def save_vocab(ranks: dict[bytes, int], path: str | Path = VOCAB_PATH) -> None:
    path = Path(path)
    text = "".join(f"{base64.b64encode(tok).decode()} {r}\n"
                   for tok, r in sorted(ranks.items(), key=lambda kv: kv[1]))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="ascii")
    os.replace(tmp, path)  # atomic: a reader never sees half a vocabulary


def load_vocab(path: str | Path = VOCAB_PATH) -> dict[bytes, int]:
    ranks = {}
    for line in Path(path).read_text(encoding="ascii").splitlines():
        if line:
            tok, rank = line.split()
            ranks[base64.b64decode(tok)] = int(rank)
    if sorted(ranks.values()) != list(range(len(ranks))):
        raise ValueError(f"{path}: ranks must be exactly 0..{len(ranks) - 1}")
    return ranks


# ----------------------------------------------------------------------------------------------
# The tokenizer
# ----------------------------------------------------------------------------------------------

class Tokenizer:
    """tiktoken Encoding + named special-token ids + a fingerprint of the vocabulary."""

    def __init__(self, vocab_path: str | Path = VOCAB_PATH):
        raw = Path(vocab_path).read_bytes()
        ranks = load_vocab(vocab_path)
        specials = {s: len(ranks) + i for i, s in enumerate(SPECIAL_TOKENS)}
        # Stored in checkpoints so that a model is never run with another vocabulary. The regex and
        # the special tokens are hashed too: changing either also changes what the ids mean.
        h = hashlib.sha256(raw)
        h.update("\n".join((PAT_STR,) + SPECIAL_TOKENS).encode())
        self.fingerprint = h.hexdigest()
        self.name = f"r1mini-{self.fingerprint[:8]}"
        self.enc = tiktoken.Encoding(self.name, pat_str=PAT_STR, mergeable_ranks=ranks,
                                     special_tokens=specials)
        self.n_vocab = self.enc.n_vocab
        (self.eot_id, self.pad_id, self.think_id, self.end_think_id,
         self.answer_id, self.end_answer_id) = (specials[s] for s in SPECIAL_TOKENS)

    def encode(self, text: str) -> list[int]:
        # Our own data contains the tags on purpose, so their text always becomes the special token.
        return self.enc.encode(text, allowed_special="all")

    def decode(self, ids: list[int]) -> str:
        return self.enc.decode(list(ids))

    def pieces(self, text: str) -> list[str]:
        """The tokens of `text` as strings, for display (a piece may be part of a character)."""
        return [self.enc.decode_single_token_bytes(i).decode("utf-8", "replace")
                for i in self.encode(text)]


@functools.lru_cache(maxsize=None)
def get_tokenizer() -> Tokenizer:
    """The project's tokenizer, loaded from the committed vocab file (no network, ever)."""
    if not VOCAB_PATH.exists():
        raise FileNotFoundError(f"{VOCAB_PATH} is missing; build it with "
                                "`python -m r1mini.tokenizer --train`")
    return Tokenizer(VOCAB_PATH)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", action="store_true",
                    help="rebuild vocab.tiktoken from r1mini.corpus.tokenizer_training_texts()")
    ap.add_argument("--merges", type=int, default=DEFAULT_MERGES)
    ap.add_argument("--show", metavar="TEXT", help="print how TEXT is cut into tokens")
    args = ap.parse_args(argv)
    if args.train:
        # a deliberate lazy import: only a rebuild of the vocabulary needs the corpus
        from r1mini.corpus import tokenizer_training_texts

        ranks = train_bpe(tokenizer_training_texts(), args.merges)
        save_vocab(ranks, VOCAB_PATH)
        get_tokenizer.cache_clear()
        tok = get_tokenizer()
        print(f"wrote {VOCAB_PATH}: {len(ranks)} ranks, n_vocab {tok.n_vocab}, "
              f"fingerprint {tok.fingerprint[:16]}")
    if args.show is not None:
        tok = get_tokenizer()
        ids = tok.encode(args.show)
        print(f"{len(ids)} tokens")
        for i, p in zip(ids, tok.pieces(args.show)):
            print(f"{i:6d}  {p!r}")
    if not (args.train or args.show is not None):
        ap.print_help()


if __name__ == "__main__":
    main()
