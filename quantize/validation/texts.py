"""Built-in texts for validation: a tokenizer stress sample and an evaluation text."""

from __future__ import annotations

# Pieces that tend to expose tokenizer differences: several scripts, digits, code with
# indentation, emoji, odd whitespace and every kind of special and added token.
TOKENIZER_SAMPLES = [
    "Hello world! It's a test, isn't it? I'll see; we've done.",
    "Bonjour à tous, ça va très bien. Grüße aus München: Straße, Übermaß.",
    "你好，世界。今天天气很好，我们去公园散步吧。",
    "こんにちは、世界。カタカナとひらがな、漢字も混ぜます。",
    "Привет, мир! Съешь же ещё этих мягких французских булок.",
    "مرحبا بالعالم. नमस्ते दुनिया। 안녕하세요 세계.",
    "Numbers 0 1 12 123 1234 12345 3.14159 -42 1e-5 2024-06-01.",
    "def fibonacci(n: int) -> int:\n    if n < 2:\n        return n\n"
    "    return fibonacci(n - 1) + fibonacci(n - 2)\n\n\n"
    "print([fibonacci(i) for i in range(10)])\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i] * b[i];\t// dot\n}\r\n",
    "Emoji 🙂👍🏽🚀 and symbols ∑ ∫ √ ≠ ≤ → ✓ «quoted» “curly” — dash… ellipsis",
    "   leading spaces, trailing spaces   \n\n\n  \t mixed\twhitespace \u00a0nbsp",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
    "<|im_start|>assistant\n<think>\nThe user greets me.\n</think>\n\nHello!<|im_end|>"
    "<|endoftext|>",
]
TOKENIZER_SAMPLE = "\n".join(TOKENIZER_SAMPLES)

# Ordinary prose, a little code and some other languages: what a chat model reads every day.
EVALUATION_TEXT = """\
The river town woke slowly. Fishermen pulled their boats onto the gravel while the baker \
opened his shutters and the smell of fresh bread drifted over the square. Children ran past \
the fountain on their way to school, and an old man fed the pigeons as he did every morning.

Mathematics is the study of patterns. When we add two even numbers the result is always even, \
because each of them is twice some whole number, and the sum of two doubles is again a double. \
A proof like this one explains why a statement holds instead of only showing that it holds.

To make a good cup of tea, boil fresh water, warm the pot, add one spoon of leaves per cup and \
let it steep for three to five minutes. Pour it through a strainer and drink it while it is hot.

def mean(values):
    \"\"\"Return the arithmetic mean of a non-empty list of numbers.\"\"\"
    if not values:
        raise ValueError("mean of an empty list")
    return sum(values) / len(values)

print(mean([2, 4, 6, 8]))

La ville se réveillait lentement. Les pêcheurs tiraient leurs bateaux sur le gravier et le \
boulanger ouvrait ses volets. Die Stadt erwachte langsam, und der Duft von frischem Brot zog \
über den Platz. 河边的小镇慢慢醒来，渔夫们把船拉上岸，面包师打开了窗户。

Question: If a train leaves at nine and travels for two and a half hours, when does it arrive?
Answer: It arrives at half past eleven, because nine plus two and a half hours is eleven thirty.
"""
