"""`innobase print-sample` and `innobase verify-print`: the printed documents, looked at without a
running system, and a printed plan checked against the log of the running one."""
from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

CLI_PARTY = "innobase-cli"


def _print_sample(args) -> int:
    from innobase import print_samples

    render = print_samples.plan_pdf if args.document == "plan" else print_samples.letter_pdf
    content = render(draft=args.draft)
    Path(args.out).write_bytes(content)
    kind = "draft" if args.draft else ("submitted version" if args.document == "plan" else "issued letter")
    print(f"wrote {args.out}: sample {args.document} ({kind}), {len(content)} bytes")
    return 0


def _verify_print(args) -> int:
    from nameko.standalone.rpc import ClusterRpcProxy

    from shared import auth, clock, settings

    if args.file is None and args.digest is None:
        print("give the PDF file or --digest (the 64 hex digits printed after 摘要 SHA-256)", file=sys.stderr)
        return 2
    config = settings.get()
    clock.install_from_settings(config.clock_start, config.clock_file)
    arguments = {"digest": args.digest}
    if args.file is not None:
        arguments["document"] = base64.b64encode(Path(args.file).read_bytes()).decode("ascii")
    # Checking a print is an auditor's reading: it changes nothing and is open to anyone.
    token = auth.mint(CLI_PARTY, "auditor", "cli", ttl_seconds=300)
    with ClusterRpcProxy({"AMQP_URI": config.amqp_uri}, context_data={"auth_token": token},
                         timeout=args.timeout) as cluster:
        answer = cluster.intake.verify_print(**arguments)
    if args.json:
        print(json.dumps(answer, ensure_ascii=False, indent=2))
    elif answer["in_log"]:
        current = "the current submitted version" if answer["is_current"] else "not the current submitted version"
        print(f"{answer['message']} of {answer['name']} (编号 {answer['number'] or '未编号'}, application "
              f"{answer['application_id']}), submitted {answer['submitted_at']}: "
              f"{current}")
    else:
        print(f"not in the log: {answer['message']}" + (f" (digest {answer['digest']})" if answer["digest"] else ""))
    return 0 if answer["in_log"] else 1


def add_parser(commands) -> None:
    sample = commands.add_parser("print-sample", help="render a sample application's plan or letter (no system needed)")
    sample.add_argument("document", choices=("plan", "letter"))
    sample.add_argument("--out", required=True, help="the PDF file to write")
    sample.add_argument("--draft", action="store_true", help="the draft / preview, watermarked 草稿 · 非正式文本")
    sample.set_defaults(run=_print_sample)

    verify = commands.add_parser("verify-print", help="is a printed plan (PDF, or its digest) a version in the log?")
    verify.add_argument("file", nargs="?", help="the plan's PDF")
    verify.add_argument("--digest", help="the 64 hex digits printed after 摘要 SHA-256 (spaces allowed)")
    verify.add_argument("--json", action="store_true", help="the whole answer as JSON")
    verify.add_argument("--timeout", type=float, default=60, help="seconds to wait for the intake service")
    verify.set_defaults(run=_verify_print)
