"""Where a py-spy profile's time goes: the top functions by self and by cumulative share of samples.

    py-spy record --format raw --subprocesses -o profile.txt -- python bench/ingest.py --only service ...
    python bench/stack_summary.py profile.txt [--top 5] [--within FUNCTION] [--without FUNCTION]

`--format raw` writes one line per distinct stack ("frame;frame;... count"), outermost frame first.
Self time is the innermost frame's; cumulative time counts a function once per stack it appears in.
`--within` keeps only stacks passing through that function (e.g. the request handler, so the bench's
own client and setup drop out), and shares are of those stacks. `--without` drops stacks passing
through a function (e.g. the encoder, to see where the rest goes). The last line printed is JSON.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

# "name (path/to/file.py:123)": the line number changes along a function; it is dropped.
_FRAME = re.compile(r"^(?P<name>.*?) \((?P<path>[^()]*?)(?::\d+)?\)$")


def frame_name(frame: str) -> str:
    found = _FRAME.match(frame.strip())
    if not found:
        return frame.strip()
    path = found["path"]
    for marker in ("site-packages/", "/wt-perf/", "/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{found['name']} ({path})"


def summarise(
    lines: list[str],
    within: str | None = None,
    top: int = 5,
    without: str | None = None,
    cumulative_in: str | None = None,
) -> dict[str, object]:
    own: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [frame_name(f) for f in stack.split(";") if f.strip()]
        if within is not None and not any(within in f for f in frames):
            continue
        if without is not None and any(without in f for f in frames):
            continue
        n = int(count)
        total += n
        own[frames[-1]] += n
        for name in set(frames):
            cumulative[name] += n

    def share(counter: Counter[str], only: str | None = None) -> list[tuple[str, float]]:
        # Frames in every stack (the thread's and the bench's outermost ones) say nothing.
        ranked = [(k, n) for k, n in counter.most_common() if n < total and (only is None or only in k)]
        return [(name, round(100 * n / max(total, 1), 1)) for name, n in ranked[:top]]

    return {"samples": total, "self": share(own), "cumulative": share(cumulative, cumulative_in)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--within", default=None)
    parser.add_argument("--without", default=None)
    parser.add_argument(
        "--cumulative-in", default=None, help="cumulative rows only from this path, e.g. app/"
    )
    parser.add_argument("--cumulative-top", type=int, default=None, help="more rows for cumulative")
    args = parser.parse_args()
    lines = args.profile.read_text().splitlines()
    result = summarise(lines, args.within, args.top, args.without, args.cumulative_in)
    if args.cumulative_top:
        more = summarise(lines, args.within, args.cumulative_top, args.without, args.cumulative_in)
        result["cumulative"] = more["cumulative"]
    scope = (f" within {args.within}" if args.within else "") + (
        f" without {args.without}" if args.without else ""
    )
    print(f"{result['samples']} samples{scope}")
    for kind in ("self", "cumulative"):
        print(f"top {kind}:")
        for name, pct in result[kind]:  # type: ignore[attr-defined]
            print(f"  {pct:5.1f} %  {name}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
