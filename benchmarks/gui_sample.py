"""A realistic reasoning-model exchange (thinking, code, a table) for GUI benchmarks and
screenshots, and a helper that fills a store with many conversations."""

from __future__ import annotations

QUESTION = (
    "How do I read a large CSV file in Python without running out of memory? Compare the options."
)

THINKING = (
    "The user has a CSV that may not fit in RAM, so anything that loads the whole file is out. "
    "Options: the standard csv module streams row by row; pandas.read_csv with chunksize yields "
    "DataFrames of a fixed size; polars.scan_csv builds a lazy query and streams it.\n\n"
    "The simplest answer that always works is csv.DictReader, so show that in code, then compare "
    "the three in a table: peak memory, speed, when to pick each. Keep it short."
)

ANSWER = """Stream the file instead of loading it whole. The standard library already does this:

```python
import csv

def total_by_country(path):
    totals = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            country = row["country"]
            totals[country] = totals.get(country, 0.0) + float(row["amount"])
    return totals
```

Only one row is in memory at a time, so even a 20 GB file needs a few kilobytes.

| Approach | Peak memory | Speed | Best for |
|---|---|---|---|
| `csv.DictReader` | one row | slow | simple scripts, no dependencies |
| `pandas.read_csv(chunksize=…)` | one chunk | fast | vectorised maths per chunk |
| `polars.scan_csv(…)` | streaming | fastest | group-bys and joins on big files |

If you already use **pandas**, `chunksize=100_000` is the smallest change to your code.
"""

REPLY_STATS = {
    "model": "QwQ-32B",
    "completion_tokens": 412,
    "tokens_per_s": 11.8,
    "thinking_s": 14.2,
    "stop_reason": "eos",
}

TITLES = [
    "Read a huge CSV without running out of memory",
    "Trip plan: three days in Lisbon",
    "Explain the KV cache like I'm five",
    "Regex for ISO 8601 dates",
    "Why is my sourdough so dense?",
    "Draft: email to the landlord",
    "SQL window functions cheat sheet",
    "Rust borrow checker error E0502",
    "Gift ideas for a cyclist",
    "Summarise the meeting notes",
]


def seed_sample(store) -> int:
    """Add the sample exchange as a conversation; return its id."""
    conv = store.create_conversation(TITLES[0])
    store.add_message(conv.id, "user", QUESTION)
    store.add_message(conv.id, "assistant", ANSWER, thinking=THINKING, stats=REPLY_STATS)
    return conv.id


def seed_many(store, count: int, messages_each: int = 4) -> None:
    """Add ``count`` small conversations (user/assistant pairs) to ``store``."""
    for i in range(count):
        conv = store.create_conversation(f"{TITLES[i % len(TITLES)]} #{i}")
        for j in range(messages_each // 2):
            store.add_message(conv.id, "user", f"Question {j} of chat {i}: {QUESTION}")
            store.add_message(conv.id, "assistant", ANSWER, thinking=THINKING, stats=REPLY_STATS)
