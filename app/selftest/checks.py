"""The self-test's checks, each returning a CheckResult; `run_self_test` prints the report."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from app import __version__
from app.paths import HOME_ENV

WINDOW_FLAG = "--self-test-window"


@dataclass
class CheckResult:
    """One line of the report: a name, passed or not, a sentence, and facts for --json."""

    name: str
    ok: bool
    summary: str
    details: dict = field(default_factory=dict)


def check_llama() -> CheckResult:
    """llama.cpp loads, with the CPU variant (or built-in CPU backend) it chose."""
    import llama_cpp

    from quantize.llama_runtime import load_llama_backends

    runtime = load_llama_backends()
    system_info = llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip()
    backends = ["cpu", *runtime.other_backends]
    summary = (
        f"llama-cpp-python {runtime.version}, CPU variant {runtime.cpu_variant}, "
        f"backends: {', '.join(backends)}"
    )
    details = {
        "version": runtime.version,
        "cpu_variant": runtime.cpu_variant,
        "variants_available": list(runtime.variants_available),
        "variant_scores": runtime.variant_scores,
        "backends": backends,
        "lib_dir": str(runtime.lib_dir),
        "system_info": system_info,
    }
    return CheckResult("llama.cpp", True, summary, details)


def check_model(workdir: Path) -> CheckResult:
    """A tiny Qwen2 model, written now, loads and answers its scripted reply."""
    from app.engine import ChatEngine, LoadOptions, SamplingParams

    from .tiny_model import ANSWER_SCRIPT, TinyModelSpec, write_tiny_gguf

    path = write_tiny_gguf(workdir / "self-test.gguf", TinyModelSpec(script=ANSWER_SCRIPT))
    engine = ChatEngine.load(path, LoadOptions(n_ctx=512, for_gui=False, seed=1))
    try:
        params = SamplingParams(temperature=0.0, max_tokens=16, seed=1)
        result = engine.chat([{"role": "user", "content": "Capital?"}], params)
    finally:
        engine.close()
    stats = result.stats
    ok = result.answer == "Paris"
    speed = f", {stats.tokens_per_s:.0f} tokens/s" if stats.tokens_per_s else ""
    summary = (
        f"a tiny Qwen2 model answered {result.answer!r} ({stats.completion_tokens} tokens{speed})"
    )
    if not ok:
        summary = f"a tiny Qwen2 model answered {result.answer!r} instead of 'Paris'"
    return CheckResult("model", ok, summary, {"answer": result.answer, **stats.to_dict()})


def check_store(workdir: Path) -> CheckResult:
    """The conversation store writes, reads back and full-text searches a conversation."""
    from app.store import ConversationStore

    store = ConversationStore.open(workdir / "self-test.sqlite3")
    try:
        conv = store.create_conversation("Self-test")
        store.add_message(conv.id, "user", "Where is the Eiffel tower?")
        store.add_message(conv.id, "assistant", "In Paris.", thinking="It is in France.")
        texts = [m.content for m in store.messages(conv.id)]
        hits = store.search("paris")
    finally:
        store.close()
    ok = texts == ["Where is the Eiffel tower?", "In Paris."] and len(hits) == 1
    summary = f"SQLite {sqlite3.sqlite_version}: wrote, read back and searched a conversation"
    if not ok:
        summary = f"the store returned {texts!r} and {len(hits)} search hit(s)"
    return CheckResult("store", ok, summary, {"sqlite": sqlite3.sqlite_version})


def check_keyring() -> CheckResult:
    """The OS keyring that keeps a Hub token or an API key, or why there is none here (not a
    failure: the secret is then kept for the session); fails only if its backend is missing."""
    from app.secrets import keyring_report

    report = keyring_report()
    if report["backend"]:
        summary = f"secrets go to the system keyring ({report['backend']})"
    else:
        summary = f"no system keyring here ({report['reason']}): secrets last one session"
    return CheckResult("keyring", report["shipped"], summary, report)


def own_command(*args: str) -> list[str]:
    """The command line that starts this same program (bundle or Python package)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, *args]
    return [sys.executable, "-m", "app", *args]


def check_window(workdir: Path, timeout_s: float = 120.0) -> CheckResult:
    """The desktop window starts and shows, in a child process on the default Qt platform."""
    env = {**os.environ, HOME_ENV: str(workdir / "home")}
    try:
        proc = subprocess.run(
            own_command(WINDOW_FLAG),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return CheckResult("window", False, f"the window did not show within {timeout_s:.0f} s")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        said = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        reason = said[-1] if said else f"exit code {proc.returncode}"
        return CheckResult("window", False, f"the window did not start: {reason}")
    shown = json.loads(lines[-1])
    summary = (
        f"Qt {shown['qt']} on platform '{shown['platform']}': main window shown "
        f"{shown['shown_after_s'] * 1000:.0f} ms after the process started"
    )
    return CheckResult("window", True, summary, shown)


def _guarded(name: str, check: Callable[[], CheckResult]) -> CheckResult:
    try:
        return check()
    except Exception as exc:  # a self-test reports every failure, whatever its type
        hint = getattr(exc, "hint", None)
        text = f"{type(exc).__name__}: {getattr(exc, 'message', exc)}"
        return CheckResult(name, False, f"{text} ({hint})" if hint else text)


def run_self_test(as_json: bool = False, window: bool = True) -> int:
    """Run every check, print the report (text or JSON); 0 when all passed, else 1."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="qwq-self-test-") as tmp:
        work = Path(tmp)
        results = [
            _guarded("llama.cpp", check_llama),
            _guarded("model", lambda: check_model(work)),
            _guarded("store", lambda: check_store(work)),
            _guarded("keyring", check_keyring),
        ]
        if window:
            results.append(_guarded("window", lambda: check_window(work)))
    ok = all(r.ok for r in results)
    header = {
        "app": f"QwQ Desktop {__version__}",
        "platform": f"{platform.system()} {platform.machine()}",
        "python": platform.python_version(),
        "bundled": bool(getattr(sys, "frozen", False)),
        "seconds": round(time.perf_counter() - started, 2),
    }
    if as_json:
        print(json.dumps({**header, "ok": ok, "checks": [asdict(r) for r in results]}, indent=2))
    else:
        kind = "bundle" if header["bundled"] else "Python package"
        print(
            f"{header['app']} self-test ({header['platform']}, Python {header['python']}, {kind})"
        )
        for r in results:
            print(f"  {'PASS' if r.ok else 'FAIL'}  {r.name:<10} {r.summary}")
        print(f"self-test {'passed' if ok else 'FAILED'} in {header['seconds']:.1f} s")
    return 0 if ok else 1
