"""Command line: ``python -m tlkit doctor | pretrain | run [01 02 ...] [--colab-env] | bench [01 02 ...]
[--profile quick|full] | rehearse [01 02 ...] | reference [--write DIR ...] | course [--write] | translate [--write | --todo]`` (the full
profile's code paths offline, with local stand-ins: :mod:`tlkit.rehearsal`)."""
from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tlkit", description="Transfer-learning course toolkit")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="versions, device, profile, offline data/model sources, cache state")
    p = sub.add_parser("pretrain", help="build (or verify) the quick profile's models: the converted "
                       "EfficientNet-Lite0, its TF Hub-style SavedModel and notebook 13's film-text embeddings (--zoo: also the small Fashion-MNIST CNN "
                       "some unit tests use; no notebook needs it)")
    p.add_argument("--force", action="store_true", help="rebuild even when the cache is valid")
    p.add_argument("--zoo", action="store_true", help="also pretrain the zoo CNN (about 40 s)")
    r = sub.add_parser("run", help="execute notebooks headless and write a report under runs/")
    r.add_argument("notebooks", nargs="*", help="notebook numbers or full names, e.g. 00 03b (default: all)")
    r.add_argument("--profile", choices=("quick", "full"), default=None)
    r.add_argument("--out", default="runs", help="output folder (default: runs/)")
    r.add_argument("--timeout", type=int, default=900, help="seconds per cell before it fails")
    r.add_argument("--lang", choices=("en", "ru"), default="en",
                   help="which edition: en (notebooks/, default) or ru (the Russian edition, notebooks/ru/)")
    r.add_argument("--colab-env", action="store_true",
                   help="run in the Colab-like environment (Colab's Python, TensorFlow, NumPy, ...; build it with "
                   "`bash scripts/colab_env.sh`; TLKIT_COLAB_ENV names another folder than .venv-colab), with its "
                   "own cache <env>/cache")
    b = sub.add_parser("bench", help="time notebooks: wall/CPU seconds, peak memory, speed ratios (JSON + Markdown)")
    b.add_argument("notebooks", nargs="*", help="notebook numbers, e.g. 00 03 03b (default: all)")
    b.add_argument("--profile", choices=("quick", "full"), default=None)
    b.add_argument("--out", default="runs", help="output folder (default: runs/)")
    b.add_argument("--timeout", type=int, default=900, help="seconds per cell before it fails")
    h = sub.add_parser(
        "rehearse", help="run notebooks through the FULL profile's code paths offline: local stand-in models "
        "(random weights, not pretrained), tensorflow-datasets mocks, fixture downloads from 127.0.0.1, tiny "
        "sizes; claims are printed, not asserted",
        description="Rehearse the full profile offline: the notebooks run with TLKIT_PROFILE=full through the "
        "same loaders, model classes, image sizes and sequence lengths, but ResNet50 and the keras-hub BERT "
        "presets are local STAND-INS (same architecture / scaled down, random weights - not pretrained), "
        "tensorflow-datasets is served by tfds.testing.mock_data, Yelp/RuReviews/NSMC are tiny fixture files "
        "downloaded through the real download code from a local http.server, and the budget is tiny (few "
        "examples, one epoch, one seed). Any connection other than to 127.0.0.1 is refused. Claims are "
        "computed and printed but not asserted; any other error fails the run.")
    h.add_argument("notebooks", nargs="*", help="notebook numbers or full names, e.g. 00 02 (default: all)")
    h.add_argument("--out", default="runs", help="output folder (default: runs/)")
    h.add_argument("--dir", default=None, help="rehearsal folder for fixtures and stand-in models "
                   "(default: <out>/rehearsal; stand-in models are kept there between runs)")
    h.add_argument("--timeout", type=int, default=600, help="seconds per cell before it fails")
    h.add_argument("--traced", action="store_true", help="trace TensorFlow functions as a real run does (default: "
                   "eager, faster with the rehearsal's few examples per fit)")
    sub.add_parser("kernel", help="install the quiet Jupyter kernel (tlkit-quiet)")
    rf = sub.add_parser("reference", help="check (or --write) data/reference/quick.json, the results of the "
                        "last complete quick run that notebook 09 shows where this run has none")
    rf.add_argument("--write", nargs="+", metavar="DIR", default=None,
                    help="rebuild it from the results folders of one complete quick run")
    c = sub.add_parser("course", help="where the course lives (tlkit/course.py): check or regenerate every "
                       "notebook's first cell and Colab badge and the README's badges")
    c.add_argument("--write", action="store_true", help="rewrite the files that differ (default: only check)")
    t = sub.add_parser("translate", help="the Russian edition (tlkit/translation.py): check it against the English "
                       "notebooks and README, list what to translate, or regenerate notebooks/ru/ and README.ru.md")
    t.add_argument("--lang", choices=("ru",), default="ru")
    t.add_argument("--write", action="store_true", help="regenerate the edition from the catalogues")
    t.add_argument("--todo", nargs="*", metavar="NOTEBOOK", default=None,
                   help="print the cells to translate (missing or changed), with the English text and the header "
                   "line to use; optionally only these notebooks (numbers, e.g. 06) or README")
    t.add_argument("--hash", nargs=2, metavar=("NOTEBOOK", "CELL"), default=None,
                   help="the header hash a translation of this cell (README: section) needs, given the {{table:N}} "
                   "placeholders its current entry uses")
    args = parser.parse_args(argv)

    if args.command == "translate":
        from . import translation

        if args.hash:
            print(translation.entry_hash(args.hash[0], args.hash[1], args.lang))
            return 0
        if args.todo is not None:
            text = translation.todo(args.lang, tuple(args.todo))
            print(text or "nothing to translate")
            return 0
        if args.write:
            changed = translation.write(args.lang)
            print(f"regenerated: {', '.join(changed)}" if changed else "nothing to regenerate")
        problems = translation.check(args.lang)
        if problems:
            print("\n".join(problems))
            return 1
        print(f"the {args.lang} edition is complete and current: every cell and README section translated from "
              f"the English text of today, every code cell identical")
        return 0

    if args.command == "doctor":
        from .doctor import main as doctor

        return doctor()
    if args.command == "pretrain":
        from .effnet import convert

        if args.zoo:
            from .zoo import ZOO, pretrain

            for name in ZOO:
                man = pretrain(name, force=args.force)
                print(f"{name}: ok, source test accuracy {man['source_test_accuracy']}, sha256 {man['sha256'][:12]}...")
        man = convert(force=args.force)
        print(f"efficientnet_lite0: ok, {man['source_task']}, sha256 {man['sha256'][:12]}...")
        from .hubs import export_hub_feature_vector

        print(f"TF Hub-style SavedModel (notebook 08): ok, {export_hub_feature_vector(force=args.force)}")
        from .llm import convert as convert_llm

        man = convert_llm(force=args.force)
        print(f"{man['name']} (tlkit.llm; notebook 11): ok, keras-hub preset, "
              f"{man['params_in_file']:,} parameters "
              f"from {man['source']}")
        from .recsys import prepare_title_embeddings

        print(f"film-text embeddings (notebook 13): {prepare_title_embeddings()}")
        return 0
    if args.command == "kernel":
        from .kernel import install_kernel

        print(f"installed kernel at {install_kernel()}")
        return 0
    if args.command == "reference":
        from . import reference

        if args.write:
            print(f"wrote {reference.write(args.write)}")
            return 0
        problems = reference.stale()
        if problems:
            print("reference results are out of date: " + "; ".join(problems) + f"; fix: {reference.FIX}")
            return 1
        print(f"reference results {reference.REFERENCE_FILE} match the claims every notebook makes")
        return 0
    if args.command == "course":
        from . import course

        if args.write:
            from . import translation

            changed = course.write()
            changed += translation.write("ru")      # the Russian edition's badges and setup cells follow
            print(f"regenerated: {', '.join(changed)}" if changed else "nothing to regenerate")
            return 0
        stale = course.stale()
        if stale:
            print(f"not generated from tlkit/course.py ({course.REPOSITORY} at {course.REF}): {', '.join(stale)}; "
                  f"fix: python -m tlkit course --write")
            return 1
        print(f"every notebook's first cell and every badge point at {course.REPOSITORY} at {course.REF}")
        return 0
    if args.command == "bench":
        from .bench import bench

        return bench(args.notebooks, profile=args.profile, out_root=args.out, timeout=args.timeout)
    if args.command == "rehearse":
        from .rehearsal import rehearse

        return rehearse(args.notebooks, root=args.dir, out_root=args.out, timeout=args.timeout, traced=args.traced)
    if args.colab_env:
        from .runner import ColabEnvMissing, colab_env_command

        try:
            cmd, env = colab_env_command(args.notebooks, args.profile, args.out, args.timeout)
        except ColabEnvMissing as exc:
            print(f"tlkit run --colab-env: {exc}", file=sys.stderr)
            return 2
        print(f"tlkit run --colab-env: {' '.join(cmd)}  (TLKIT_CACHE={env['TLKIT_CACHE']})", flush=True)
        sys.stderr.flush()
        os.execve(cmd[0], cmd, env)      # replaces this process: Ctrl-C and the exit code are the run's own
    from .runner import run

    notebooks = None
    if args.lang != "en":
        from .runner import find_notebooks_dir

        notebooks = str(find_notebooks_dir() / args.lang)
    return run(args.notebooks, profile=args.profile, notebooks=notebooks, out_root=args.out, timeout=args.timeout)


if __name__ == "__main__":
    sys.exit(main())
