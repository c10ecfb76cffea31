"""Wrong versions of extract_answer and format_reward: each leaves a loophole a policy would find."""
import re

from exercises.framework import mutant
from r1mini.rewards import format_reward as _right_format


@mutant("extract_answer")
def first_answer_block(completion):
    """Takes the first <answer>…</answer> anywhere: several blocks, text after it, an open think all pass."""
    match = re.search(r"<answer>(.*?)</answer>", completion, re.DOTALL)
    return match[1] if match else None


@mutant("extract_answer")
def last_answer_block(completion):
    """Takes the last block's content without checking that it ends the completion or stands alone."""
    blocks = re.findall(r"<answer>(.*?)</answer>", completion, re.DOTALL)
    return blocks[-1] if blocks else None


@mutant("extract_answer")
def open_think_ignored(completion):
    """Right, except that an answer inside a still-open <think> is accepted."""
    text = completion.rstrip(" \t\r\n").removesuffix("<|endoftext|>").rstrip(" \t\r\n")
    if "<|endoftext|>" in text or text.count("<answer>") != 1 or text.count("</answer>") != 1 or not text.endswith("</answer>"):
        return None
    content = text[text.index("<answer>") + len("<answer>"):-len("</answer>")]
    return None if "<think>" in content or "</think>" in content else content


@mutant("format_reward")
def search_not_fullmatch(completion, summary=False, empty_think=False):
    """Looks for the pattern anywhere (re.search): any text may come before <think> or after </answer>."""
    return float(bool(re.search(r"<think>.*?[^\W_].*?</think>\s*<answer>.*?[^\W_].*?</answer>", completion, re.DOTALL)))


@mutant("format_reward")
def empty_think_accepted(completion, summary=False, empty_think=False):
    """Accepts an empty think even with empty_think=False: the policy stops reasoning and keeps the reward."""
    return _right_format(completion, summary, True)


@mutant("format_reward")
def any_unicode_whitespace(completion, summary=False, empty_think=False):
    """Strips with str.strip(): invisible separators (\\x1c, \\u3000, ...) around the tags pass."""
    return _right_format(completion.strip(), summary, empty_think)


@mutant("format_reward")
def summary_always_allowed(completion, summary=False, empty_think=False):
    """Allows text between </think> and <answer> even when summary=False (R1-Zero's strict template)."""
    return _right_format(completion, True, empty_think)


@mutant("format_reward")
def duplicate_tags_allowed(completion, summary=False, empty_think=False):
    """Matches the template lazily without checking that each tag appears once: a second block hides in the answer."""
    text = completion.rstrip(" \t\r\n").removesuffix("<|endoftext|>").rstrip(" \t\r\n")
    m = re.fullmatch(r"[ \t\r\n]*<think>(.*?)</think>(.*?)<answer>(.*)</answer>[ \t\r\n]*", text, re.DOTALL)
    if not m or not any(c.isalnum() for c in m[3]):
        return 0.0
    think_ok = any(c.isalnum() for c in m[1]) or (empty_think and not m[1].strip(" \t\r\n"))
    return float(think_ok and (summary or not m[2].strip(" \t\r\n")))
