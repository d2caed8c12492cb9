"""The Debian/Ubuntu packages the quick profile reads its real data from, what each gives, and which notebooks need it.

Standard library only, so that ``scripts/setup.sh`` can ask it before anything is pip-installed:

    python tlkit/system_packages.py missing      # one package name a line: what is not on this machine
    python tlkit/system_packages.py affected flite espeak-ng
                                                 # one line a package: the notebooks it affects

``python -m tlkit doctor`` prints the same table with every notebook's state.
"""
from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SystemPackage:
    """One Debian package: ``check`` is a file or folder it installs, or ``cmd:<program>`` on PATH."""

    name: str
    check: str
    gives: str
    notebooks: tuple[str, ...]

    def present(self) -> bool:
        """True when what the package provides is on this machine."""
        if self.check.startswith("cmd:"):
            return shutil.which(self.check[4:]) is not None
        return Path(self.check).exists()


_SOUNDS = "/usr/share/asterisk/sounds"
PACKAGES: tuple[SystemPackage, ...] = (
    SystemPackage("dataset-fashion-mnist", "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz",
                  "Fashion-MNIST (the zoo CNN of `python -m tlkit pretrain` and the unit tests)", ()),
    SystemPackage("tuxpaint-stamps-default", "/usr/share/tuxpaint/stamps/animals",
                  "the Tux Paint photos (10 topics)", ("00", "01", "02", "08", "12")),
    SystemPackage("gcompris-qt-data", "/usr/share/gcompris-qt/rcc/paintings.rcc",
                  "22 public-domain paintings (GCompris jigsaw boards)", ("12",)),
    SystemPackage("espeak-ng", "cmd:espeak-ng", "the espeak-ng speech synthesiser (training voices)", ("10",)),
    SystemPackage("flite", "cmd:flite", "the flite speech synthesiser (the unseen engine)", ("10",)),
    SystemPackage("asterisk-core-sounds-en-wav", f"{_SOUNDS}/en_US_f_Allison/digits",
                  "real recorded digits, English", ("10",)),
    SystemPackage("asterisk-core-sounds-ru-wav", f"{_SOUNDS}/ru_RU_f_IvrvoiceRU/digits",
                  "real recorded digits, Russian", ("10",)),
    SystemPackage("asterisk-core-sounds-fr-wav", f"{_SOUNDS}/fr_CA_f_June/digits",
                  "real recorded digits, French", ("10",)),
    SystemPackage("asterisk-core-sounds-es-wav", f"{_SOUNDS}/es_MX_f_Allison/digits",
                  "real recorded digits, Spanish", ("10",)),
    SystemPackage("asterisk-core-sounds-it-wav", f"{_SOUNDS}/it_IT_m_Carlo/digits",
                  "real recorded digits, Italian (male speaker)", ("10",)),
    SystemPackage("asterisk-prompt-it-menardi-wav", f"{_SOUNDS}/it_IT_f_Menardi/digits",
                  "real recorded digits, Italian (female speaker)", ("10",)),
)
BY_NAME = {p.name: p for p in PACKAGES}


def missing() -> list[str]:
    """Names of the packages whose files or programs are not on this machine."""
    return [p.name for p in PACKAGES if not p.present()]


def affected(names: list[str]) -> list[str]:
    """One line per package name: what it gives and the notebooks that cannot run without it."""
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown system package(s) {unknown}; expected some of {list(BY_NAME)}")
    return [f"{n}: {BY_NAME[n].gives}; needed by "
            + (f"notebook(s) {', '.join(BY_NAME[n].notebooks)} (quick profile)" if BY_NAME[n].notebooks
               else "no notebook") for n in names]


def main(argv: list[str]) -> int:
    if argv[:1] == ["missing"] and len(argv) == 1:
        for name in missing():
            print(name)
        return 0
    if argv[:1] == ["affected"]:
        try:
            print("\n".join(affected(argv[1:])))
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return 2
        return 0
    print("usage: python tlkit/system_packages.py missing | affected NAME ...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
