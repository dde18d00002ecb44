"""How well app.routing.sentiment tells praise from complaints, from wording alone.

    python bench/praise.py --data ../shared/data [--split test]

Praise: MAMS raw-XML sentences with a positive aspect and no negative one (the labelled
CSVs hold only sentences criticising an aspect, which all praise another aspect too: the
hardest complaints there are). Complaints: MAMS dev.csv, and the complaint-only sets
(BANKING77 dev, Bitext test split, CFPB dev), where every "praise" is a false one.
The lexicon was tuned on MAMS train.xml / train.csv only.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.routing.sentiment import classify
from bench.datasets import load_dataset, mams_praise


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--split", default="val,test", help="MAMS raw splits for praise (train = tuning)")
    args = parser.parse_args(argv)
    mams = load_dataset("mams_restaurant", args.data)
    praise = [
        t
        for s in args.split.split(",")
        for t, _ in mams_praise(Path(args.data) / f"mams_restaurant/raw/{s}.xml", mams.stage_of)
    ]
    complaints = [t for t, _ in mams.test]
    hits = sum(classify(t).is_praise for t in praise)
    false = sum(classify(t).is_praise for t in complaints)
    print(f"MAMS {args.split}: {len(praise)} praise, {len(complaints)} complaint sentences")
    print(f"  praise recall {hits / len(praise):.3f}, precision {hits / max(hits + false, 1):.3f}")
    print(f"  complaints read as praise {false / len(complaints):.3f} ({false})")
    for name in ("banking77", "bitext", "cfpb_complaints"):
        texts = [t for t, _ in load_dataset(name, args.data).test]
        wrong = sum(classify(t).is_praise for t in texts)
        print(f"{name} test: {wrong} of {len(texts)} complaints read as praise ({wrong / len(texts):.4f})")


if __name__ == "__main__":
    main()
