"""Open a GGUF with llama.cpp in a child process first, so that a native crash is a message.

llama.cpp asserts instead of reporting on some damaged files (a repeated token string, say),
and an assertion aborts the whole process: a GUI would vanish, a terminal would print nothing.
``run_probe`` opens the file in a child process the way the app will (weights memory-mapped on
the CPU, no copies), reads its vocabulary back (every token detokenised, a text in many scripts
tokenised), creates a small context and evaluates one token. A file larger than
FULL_LOAD_LIMIT_BYTES gets a vocabulary-only load instead (a full load would read every weight
from disk first); its hyper-parameters and tensor table are left to the Python check. The
child's log and any assertion arrive on its standard error, so whatever happens the caller gets
a verdict with llama.cpp's own last words: "ok", "refused" (llama.cpp reported an error),
"crashed", "hung", "cancelled", or "unavailable" (the check itself could not run).

Child side: ``python -m quantize.gguf_probe FILE [--vocab-only]``; in the packaged app
``qwq-desktop quantize probe-gguf FILE`` (the quantisation tool's command line dispatches it).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PROBE_TIMEOUT_S = 120.0
FULL_LOAD_LIMIT_BYTES = 2 << 30  # larger files: vocabulary only (a full load reads it all)
REFUSED_EXIT = 65
# A text in many scripts: tokenising it walks the byte fallbacks and merges of most vocabularies.
SAMPLE_TEXT = (
    "Hello, world! The year 2025: 3.14 × 2 = 6.28.\n\t  Ünïcödé façade — naïve café.\n"
    "Привет мир. Γειά σου. שלום. مرحبا. नमस्ते. こんにちは世界。안녕하세요. 你好，世界！"
    " ✓ 🙂🚀 \u0378\u2028\ufeff~`|\\{}[]<>"
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n</think>"
    "<start_of_turn>user\nhi<end_of_turn>\n<s>[INST] hi [/INST]</s>"
)
_CHILD_ENV = {
    "GGML_NO_BACKTRACE": "1",  # no debugger attached to print a backtrace
    "CUDA_VISIBLE_DEVICES": "",  # the check runs on the CPU only
    "HIP_VISIBLE_DEVICES": "",
    "GGML_VK_VISIBLE_DEVICES": "",
}
_CRASH_LINE = re.compile(
    r"llama\.cpp stopped the program|GGML_ASSERT|GGML_ABORT|terminate called|what\(\):"
)


@dataclass(frozen=True)
class ProbeResult:
    """What happened when llama.cpp opened the file in a child process."""

    verdict: str  # "ok", "refused", "crashed", "hung", "cancelled" or "unavailable"
    stage: str | None = None  # the child's last step: "load", "vocab", "context", "decode"
    message: str = ""  # llama.cpp's error, the failed assertion or how the child ended
    log_tail: tuple[str, ...] = ()  # llama.cpp's last log lines (and the child's last words)
    returncode: int | None = None
    seconds: float = 0.0
    info: dict = field(default_factory=dict)  # on success: n_vocab, full (weights loaded)

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"

    def summary(self, name: str) -> str:
        """One sentence about the verdict on the file called ``name``."""
        doing = _DOING.get(self.stage or "start", "opening")
        if self.verdict == "crashed":
            how = _signal_name(self.returncode)
            return f"llama.cpp crashed ({how}) while {doing} {name}: {self.message}"
        if self.verdict == "hung":
            return f"llama.cpp hung while {doing} {name}: it {self.message}"
        if self.verdict == "refused":
            return f"llama.cpp could not open {name}: {self.message}"
        if self.verdict == "ok":
            return f"llama.cpp opened {name} in {self.seconds:.1f} s"
        return f"{name}: {self.message or self.verdict}"

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "stage": self.stage,
            "message": self.message,
            "log_tail": list(self.log_tail),
            "returncode": self.returncode,
            "seconds": round(self.seconds, 3),
            "info": self.info,
        }

    @classmethod
    def from_dict(cls, data: dict) -> ProbeResult:
        return cls(
            verdict=str(data["verdict"]),
            stage=data.get("stage"),
            message=str(data.get("message", "")),
            log_tail=tuple(data.get("log_tail", ())),
            returncode=data.get("returncode"),
            seconds=float(data.get("seconds", 0.0)),
            info=dict(data.get("info") or {}),
        )


def probe_command(
    path: str | os.PathLike[str],
    *,
    vocab_only: bool,
    executable: str | None = None,
    frozen: bool | None = None,
) -> list[str]:
    """The command line of the child: this module from source, the quantisation tool's
    ``probe-gguf`` command in the packaged app (whose executable is the app itself)."""
    executable = executable or sys.executable
    frozen = getattr(sys, "frozen", False) if frozen is None else frozen
    args = [str(path), *(["--vocab-only"] if vocab_only else [])]
    if frozen:
        return [executable, "quantize", "probe-gguf", *args]
    return [executable, "-m", "quantize.gguf_probe", *args]


def run_probe(
    path: str | os.PathLike[str],
    *,
    vocab_only: bool | None = None,
    timeout: float = PROBE_TIMEOUT_S,
    should_stop: Callable[[], bool] | None = None,
    command: Sequence[str] | None = None,
) -> ProbeResult:
    """Open ``path`` with llama.cpp in a child process and say how it went (never raises for
    anything the child does). ``vocab_only`` defaults to files over FULL_LOAD_LIMIT_BYTES;
    ``should_stop`` is polled while waiting (True: the child is killed, verdict "cancelled")."""
    path = Path(path)
    if vocab_only is None:
        vocab_only = path.stat().st_size > FULL_LOAD_LIMIT_BYTES
    argv = list(command) if command else probe_command(path, vocab_only=vocab_only)
    started = time.perf_counter()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **_CHILD_ENV},
        )
    except OSError as exc:
        return ProbeResult("unavailable", message=f"the check process did not start: {exc}")
    out, err, ending = _wait(proc, started + timeout, should_stop)
    seconds = time.perf_counter() - started
    return _verdict(proc.returncode, out, err, ending, seconds, timeout)


def _wait(proc: subprocess.Popen, deadline: float, should_stop) -> tuple[bytes, bytes, str]:
    """Wait for the child, polling ``should_stop``; (stdout, stderr, "exited"/"hung"/...)."""
    while True:
        try:
            out, err = proc.communicate(timeout=0.1)
            return out, err, "exited"
        except subprocess.TimeoutExpired:
            ending = None
            if time.perf_counter() > deadline:
                ending = "hung"
            elif should_stop is not None and should_stop():
                ending = "cancelled"
            if ending:
                proc.kill()
                out, err = proc.communicate()
                return out, err, ending


def _verdict(rc, out: bytes, err: bytes, ending: str, seconds: float, timeout: float):
    from .llama_log import ABORT_PREFIX, useful_lines

    events = [_json(line) for line in out.decode("utf-8", "replace").splitlines()]
    events = [e for e in events if e]
    stages = [e["stage"] for e in events if "stage" in e]
    stage = stages[-1] if stages else None
    result = next((e for e in reversed(events) if "result" in e), None)
    tail = tuple(useful_lines(err.decode("utf-8", "replace").splitlines())[-12:])
    common = {"stage": stage, "log_tail": tail, "returncode": rc, "seconds": seconds}
    if ending == "hung":
        return ProbeResult("hung", message=f"did not finish within {timeout:.0f} s", **common)
    if ending == "cancelled":
        return ProbeResult("cancelled", message="the check was cancelled", **common)
    if result is not None and result["result"] == "ok" and rc == 0:
        common["log_tail"] = ()
        return ProbeResult("ok", info=result.get("info", {}), **common)
    if result is not None and result["result"] == "refused":
        return ProbeResult("refused", message=str(result.get("error", "")), **common)
    if stage is None:  # our code never ran in the child (e.g. an older packaged app)
        last = tail[-1] if tail else f"exit status {rc}"
        return ProbeResult("unavailable", message=f"the check could not run: {last}", **common)
    if _is_crash(rc):
        crash = next((line for line in reversed(tail) if _CRASH_LINE.search(line)), None)
        message = crash.replace(ABORT_PREFIX, "") if crash else f"ended by {_signal_name(rc)}"
        return ProbeResult("crashed", message=message, **common)
    last = tail[-1] if tail else f"exit status {rc}"
    return ProbeResult("unavailable", message=f"the check failed: {last}", **common)


_DOING = {
    "start": "starting on",
    "load": "loading",
    "vocab": "reading the vocabulary of",
    "context": "creating a context for",
    "decode": "evaluating a token with",
}


def _json(line: str) -> dict | None:
    with contextlib.suppress(ValueError):
        data = json.loads(line)
        return data if isinstance(data, dict) else None
    return None


def _is_crash(rc: int | None) -> bool:
    """Ended by a signal (POSIX), by an NTSTATUS exception or abort() (Windows: exit 3)."""
    return rc is not None and (rc < 0 or rc >= 0xC0000000 or (sys.platform == "win32" and rc == 3))


def _signal_name(rc: int | None) -> str:
    if rc is not None and rc < 0:
        with contextlib.suppress(ValueError):
            return signal.Signals(-rc).name
    return f"exit status {rc:#x}" if rc and rc >= 0xC0000000 else f"exit status {rc}"


# ---- the child ---------------------------------------------------------------------------------


def _say(**event) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def _to_stderr(line: str) -> None:
    with contextlib.suppress(OSError):
        os.write(2, line.encode("utf-8", "replace"))


def main(argv: Sequence[str] | None = None) -> int:
    """The child: open the file as the app will and report on stdout (JSON lines)."""
    parser = argparse.ArgumentParser(prog="probe-gguf", description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--vocab-only", action="store_true", help="load the vocabulary only")
    args = parser.parse_args(argv)
    for key, value in _CHILD_ENV.items():
        os.environ.setdefault(key, value)
    _say(stage="start")
    from .llama_log import captured_llama_log, install_abort_reporter, recent_llama_log
    from .llama_runtime import load_llama_backends

    load_llama_backends()
    install_abort_reporter(with_log=False)
    with captured_llama_log(_to_stderr, debug=False):
        error = _probe(args.path, full=not args.vocab_only)
    if error is not None:
        errors = [ln for ln in recent_llama_log(40) if "error" in ln.lower()]
        detail = errors[-1].split("error loading model:")[-1].strip() if errors else ""
        _say(result="refused", error=f"{error}: {detail}" if detail else error)
        return REFUSED_EXIT
    return 0


def _probe(path: str, full: bool) -> str | None:
    """The steps; an error sentence when llama.cpp refused one, None when all went well."""
    import llama_cpp

    _say(stage="load")
    params = llama_cpp.llama_model_default_params()
    params.n_gpu_layers = 0
    params.use_extra_bufts = False  # no repacked copies of the weights
    params.vocab_only = not full
    model = llama_cpp.llama_model_load_from_file(os.fsencode(path), params)
    if not model:
        return "llama.cpp could not load the model"
    _say(stage="vocab")
    vocab = llama_cpp.llama_model_get_vocab(model)
    n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
    buf = ctypes.create_string_buffer(256)
    for token in range(n_vocab):
        llama_cpp.llama_token_to_piece(vocab, token, buf, len(buf), 0, True)
    text = SAMPLE_TEXT.encode("utf-8")
    ids = (llama_cpp.llama_token * (len(text) + 8))()
    for special in (True, False):
        n = llama_cpp.llama_tokenize(vocab, text, len(text), ids, len(ids), special, special)
        if n < 0:
            return "llama.cpp could not tokenise a sample text"
    if full:
        error = _one_token(model, vocab, n_vocab)
        if error:
            return error
    llama_cpp.llama_model_free(model)
    _say(result="ok", info={"n_vocab": n_vocab, "full": full})
    return None


def _one_token(model, vocab, n_vocab: int) -> str | None:
    """Create a small context and evaluate one token (an error sentence, or None)."""
    import llama_cpp

    _say(stage="context")
    cparams = llama_cpp.llama_context_default_params()
    cparams.n_ctx, cparams.n_batch, cparams.n_ubatch = 64, 8, 8
    cparams.n_threads = cparams.n_threads_batch = 1
    ctx = llama_cpp.llama_init_from_model(model, cparams)
    if not ctx:
        return "llama.cpp could not create a context for the model"
    _say(stage="decode")
    bos = llama_cpp.llama_vocab_bos(vocab)
    one = (llama_cpp.llama_token * 1)(bos if 0 <= bos < n_vocab else 0)
    status = llama_cpp.llama_decode(ctx, llama_cpp.llama_batch_get_one(one, 1))
    llama_cpp.llama_free(ctx)
    if status != 0:
        return f"llama.cpp could not evaluate a token (status {status})"
    return None


if __name__ == "__main__":
    sys.exit(main())
