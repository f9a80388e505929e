"""`qwq-desktop info --model FILE`: the model's facts and the memory plan for this machine."""

from __future__ import annotations

import argparse
import json

from app.engine import (
    EngineError,
    InsufficientMemoryError,
    kv_bytes_per_token,
    plan_memory,
    probe_hardware,
    read_model_facts,
)
from app.sizes import format_bytes

from .support import report_error


def add_info_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info", help="show a GGUF model's facts and the memory plan for this machine"
    )
    p.add_argument("--model", required=True, help="path of a .gguf file")
    p.add_argument("--ctx", type=int, default=None, help="plan for this context size")
    p.add_argument("--kv-cache", choices=["f16", "q8_0"], default="f16")
    p.add_argument("--gpu-layers", type=int, default=None)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run_info)


def model_report(args: argparse.Namespace) -> dict:
    facts = read_model_facts(args.model)
    hw = probe_hardware()
    report = {
        "model": facts.to_dict(),
        "hardware": hw.to_dict(),
        "kv_bytes_per_token": {
            "f16": kv_bytes_per_token(facts, "f16"),
            "q8_0": kv_bytes_per_token(facts, "q8_0"),
        },
        "plan": None,
        "refusal": None,
    }
    try:
        plan = plan_memory(
            facts, hw, n_ctx=args.ctx, kv_cache_type=args.kv_cache, n_gpu_layers=args.gpu_layers
        )
        report["plan"] = plan.to_dict()
    except InsufficientMemoryError as exc:
        report["refusal"] = {
            "message": str(exc),
            # what would fit: the labels for a reader, the typed actions for a program
            "alternatives": [action.label for action in exc.actions],
            "actions": [
                {"kind": a.kind, "label": a.label, "params": dict(a.params)} for a in exc.actions
            ],
        }
    return report


def run_info(args: argparse.Namespace) -> int:
    try:
        report = model_report(args)
    except EngineError as exc:
        return report_error(exc)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    m, hw = report["model"], report["hardware"]
    print(f"Model        {m['name']} ({m['architecture']}, {m['quant_type']})")
    print(f"File         {m['path']} ({format_bytes(m['file_size'])})")
    print(f"Parameters   {m['parameters'] / 1e9:.2f} B")
    print(
        f"Layers       {m['n_layer']}, heads {m['n_head']}, KV heads {m['n_kv_head']}, "
        f"head size {m['head_dim']}"
    )
    print(f"Context      trained {m['context_length']}")
    print(
        f"Template     {'yes' if m['has_chat_template'] else 'none (plain completion)'}"
        f"{', reasoning (<think>)' if m['is_reasoning'] else ''}"
    )
    kv = report["kv_bytes_per_token"]
    f16, q8 = format_bytes(kv["f16"]), format_bytes(kv["q8_0"])
    print(f"KV cache     {f16}/token f16, {q8}/token q8_0")
    print(
        f"Machine      RAM {format_bytes(hw['ram_total'])} ({format_bytes(hw['ram_available'])} "
        f"available), {hw['physical_cores']} cores, GPU: {hw['gpu_backend'] or 'none'}"
    )
    if report["plan"]:
        plan = report["plan"]
        print(f"Weights      {format_bytes(plan['weights_bytes'])}")
        print(f"Plan         {plan['summary']}")
        print(f"             context {plan['n_ctx']}, GPU layers {plan['n_gpu_layers']}")
        for note in plan["notes"]:
            print(f"Note         {note}")
    else:
        print(f"Plan         does not fit: {report['refusal']['message']}")
    return 0
