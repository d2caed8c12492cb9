"""Where the course lives: one GitHub repository and one ref (branch, tag or commit), in one place.

Everything that points at the course's own repository is generated from :data:`REPOSITORY` and :data:`REF`:

* the first code cell of every notebook (:func:`setup_cell`) - on Colab it fetches the course at that ref and
  installs it, and stops with one sentence naming the address, the ref and how to change them when it cannot;
* the "Open in Colab" badges of the notebooks and of the README (:func:`colab_badge`);
* the address of the course's data files when the repository's ``data/`` folder is absent (:func:`raw_data_url`).

``python -m tlkit course --check`` says whether the notebooks and the README match; ``python -m tlkit course
--write [--repository OWNER/NAME] [--ref REF]`` rewrites them (e.g. a fork, or a lecturer pinning a class to a
tag: ``--ref v2026.12``). At run time ``TLKIT_COURSE_REPO`` / ``TLKIT_COURSE_REF`` override both (the first cell
reads them too), and so do the two form fields of the first cell on Colab.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

REPOSITORY = "transfer-learning-course/transfer-learning-course"   # owner/name on GitHub
REF = "main"                                                        # branch, tag or full commit id
ENV_REPOSITORY = "TLKIT_COURSE_REPO"
ENV_REF = "TLKIT_COURSE_REF"
ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
README = ROOT / "README.md"
_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
_REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]*$")


def check_repository(repository: str) -> str:
    """``owner/name`` (a GitHub repository), else ValueError."""
    if not isinstance(repository, str) or not _REPO_RE.match(repository) or ".." in repository:
        raise ValueError(f"repository must be 'owner/name' on GitHub, e.g. {REPOSITORY!r}, got {repository!r}")
    return repository


def check_ref(ref: str) -> str:
    """A branch, tag or commit id (letters, digits, ``_ . / -``), else ValueError."""
    if not isinstance(ref, str) or not _REF_RE.match(ref) or ".." in ref or ref.endswith((".", "/")):
        raise ValueError(f"ref must be a branch, tag or commit id, e.g. 'main', got {ref!r}")
    return ref


def repository() -> str:
    """The course repository in effect: ``TLKIT_COURSE_REPO`` (``owner/name`` or a github.com address), else
    :data:`REPOSITORY`."""
    value = os.environ.get(ENV_REPOSITORY, "").strip()
    if not value:
        return REPOSITORY
    value = re.sub(r"^https?://github\.com/", "", value).removesuffix(".git").strip("/")
    return check_repository(value)


def ref() -> str:
    """The ref in effect: ``TLKIT_COURSE_REF``, else :data:`REF`."""
    return check_ref(os.environ.get(ENV_REF, "").strip() or REF)


def raw_data_url() -> str:
    """Base address of the course's ``data/`` folder on GitHub (used only where the repository is absent)."""
    return f"https://raw.githubusercontent.com/{repository()}/{ref()}/data"


def colab_url(notebook: str, repository_: str | None = None, ref_: str | None = None, lang: str = "en") -> str:
    """The Colab address that opens ``notebooks/<notebook>.ipynb`` of the course at its ref (``lang="ru"``: the
    Russian edition, ``notebooks/ru/<notebook>.ipynb``)."""
    repo, r = check_repository(repository_ or REPOSITORY), check_ref(ref_ or REF)
    if lang not in ("en", "ru"):
        raise ValueError(f"lang must be 'en' or 'ru', got {lang!r}")
    folder = "notebooks" if lang == "en" else f"notebooks/{lang}"
    return f"https://colab.research.google.com/github/{repo}/blob/{r}/{folder}/{_stem(notebook)}.ipynb"


def colab_badge(notebook: str, repository_: str | None = None, ref_: str | None = None) -> str:
    """The Markdown "Open in Colab" badge of a notebook."""
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"({colab_url(notebook, repository_, ref_)})")


def _stem(notebook: str) -> str:
    if not isinstance(notebook, str) or not re.match(r"^\d\d[a-z]?_[a-z0-9_]+$", Path(notebook).stem):
        raise ValueError(f"notebook must be a course notebook name such as '00_setup_and_idea', got {notebook!r}")
    return Path(notebook).stem


SETUP_CELL = '''\
# Setup. On Colab this cell fetches the course and installs it (a few minutes); elsewhere it does nothing,
# because `bash scripts/setup.sh` has done it. A fork or another version: change the fields (or set the
# environment variables TLKIT_COURSE_REPO / TLKIT_COURSE_REF), then run the cell again.
COURSE_REPO = "https://github.com/{repository}"  # @param {{type:"string"}}
COURSE_REF = "{ref}"  # @param {{type:"string"}}
CACHE_ON_DRIVE = False  # @param {{type:"boolean"}}
import os, subprocess, sys
if "google.colab" in sys.modules:
    repo = os.environ.get("TLKIT_COURSE_REPO") or COURSE_REPO
    ref = os.environ.get("TLKIT_COURSE_REF") or COURSE_REF
    here = os.environ.get("TLKIT_COURSE_DIR", "/content/tlc")
    if CACHE_ON_DRIVE:   # downloads, prepared data sets and trained models kept in your Google Drive
        from google.colab import drive
        drive.mount("/content/drive")
        for var, sub in (("TLKIT_CACHE", "tlkit-cache"), ("TFDS_DATA_DIR", "tensorflow_datasets"),
                         ("KERAS_HOME", "keras"), ("KAGGLEHUB_CACHE", "kagglehub"), ("TFHUB_CACHE_DIR", "tfhub")):
            os.environ[var] = f"/content/drive/MyDrive/transfer-learning-course/{{sub}}"
    steps = [["git", "init", "-q", here], ["git", "-C", here, "fetch", "-q", "--depth", "1", repo, ref],
             ["git", "-C", here, "checkout", "-q", "--force", "FETCH_HEAD"]]
    for cmd in steps:
        got = subprocess.run(cmd, capture_output=True, text=True)
        if got.returncode:
            raise RuntimeError(f"Could not fetch the course from {{repo}} at ref {{ref!r}}: "
                               f"{{(got.stderr or got.stdout).strip()[-300:]}}. Check the address and the ref (a "
                               f"branch, tag or commit) in the fields above, or set TLKIT_COURSE_REPO / "
                               f"TLKIT_COURSE_REF, then run this cell again.")
    got = subprocess.run(["bash", f"{{here}}/scripts/setup.sh", "--colab"], capture_output=True, text=True)
    print(got.stdout[-3000:])
    if got.returncode:
        raise RuntimeError(f"The course's set-up failed (bash {{here}}/scripts/setup.sh --colab, exit "
                           f"{{got.returncode}}): {{got.stderr.strip()[-1500:]}}")
    sys.path.insert(0, here)
'''


COLAB_NOTE = """\
> **On Colab:** run the cells from the top. The first code cell fetches and installs the course (a few minutes);
> its fields choose the course's address and version, and `CACHE_ON_DRIVE` keeps downloads, prepared data sets and
> trained models in your Google Drive, so the next notebook does not fetch or prepare them again. The cell after it
> prints which profile runs — `quick` (small, offline, minutes on a CPU) or `full` (real data and larger models,
> meant for a GPU). To choose one, run `%env TLKIT_PROFILE=quick` (or `full`) in a new cell before the setup cell.
> For a GPU: *Runtime → Change runtime type → T4 GPU*, then run again from the top."""


def setup_cell(repository_: str | None = None, ref_: str | None = None) -> str:
    """The first code cell of every notebook (identical in all of them), for the course at ``repository_``
    (``owner/name``) and ``ref_``."""
    return SETUP_CELL.format(repository=check_repository(repository_ or REPOSITORY), ref=check_ref(ref_ or REF))


def _notebook_paths() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]*.ipynb"))


_BADGE_RE = re.compile(r"\[!\[Open In Colab\]\(https://colab\.research\.google\.com/assets/colab-badge\.svg\)\]"
                       r"\(https://colab\.research\.google\.com/github/[^)]*?/notebooks/([^/)]+)\.ipynb\)")
_README_BADGE_RE = re.compile(r"\[!\[Colab\]\(https://colab\.research\.google\.com/assets/colab-badge\.svg\)\]"
                              r"\(https://colab\.research\.google\.com/github/[^)]*?/notebooks/([^/)]+)\.ipynb\)")


def _readme_badge(notebook: str, repository_: str | None, ref_: str | None) -> str:
    return (f"[![Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"({colab_url(notebook, repository_, ref_)})")


def generated_notebook(nb: dict, repository_: str | None = None, ref_: str | None = None) -> dict:
    """``nb`` (a parsed notebook) with its badge and first code cell generated; ValueError when the notebook
    has no badge in its first cell or no code cell."""
    out = json.loads(json.dumps(nb))
    cells = out.get("cells") or []
    if not cells or cells[0].get("cell_type") != "markdown":
        raise ValueError("a course notebook starts with a markdown title cell holding the Colab badge")
    title = "".join(cells[0]["source"])
    new_title, n = _BADGE_RE.subn(lambda m: colab_badge(m.group(1), repository_, ref_), title)
    if n != 1:
        raise ValueError(f"the title cell must hold exactly one Colab badge, found {n}")
    new_title = _with_note(new_title, _notebook_name(title))
    cells[0]["source"] = new_title.splitlines(keepends=True)
    code = next((c for c in cells if c.get("cell_type") == "code"), None)
    if code is None:
        raise ValueError("a course notebook needs a code cell (the setup cell)")
    code["source"] = setup_cell(repository_, ref_).rstrip("\n").splitlines(keepends=True)
    return out


def _notebook_name(title: str) -> str:
    badge = _BADGE_RE.search(title)
    return badge.group(1) if badge else ""


def _with_note(title: str, notebook: str) -> str:
    """The title cell with :data:`COLAB_NOTE` and the lecturer's note (:func:`tlkit.syllabus.lecturer_note`) as
    the paragraphs after the badge (replacing older ones)."""
    from .syllabus import lecturer_note

    notes = COLAB_NOTE + "\n>\n" + lecturer_note(notebook)
    start = title.find("> **On Colab:**")
    if start >= 0:
        end = title.find("\n\n", start)
        return title[:start] + notes + (title[end:] if end >= 0 else "")
    badge = _BADGE_RE.search(title)
    end = title.find("\n", badge.end())
    end = len(title) if end < 0 else end
    return title[:end] + "\n\n" + notes + title[end:]


def generated_readme(text: str, repository_: str | None = None, ref_: str | None = None) -> str:
    """The README with every notebook's Colab badge generated."""
    return _README_BADGE_RE.sub(lambda m: _readme_badge(m.group(1), repository_, ref_), text)


def stale(repository_: str | None = None, ref_: str | None = None) -> list[str]:
    """Files whose first cell or badges differ from what :func:`write` would produce (empty: all generated)."""
    out = []
    for path in _notebook_paths():
        nb = json.loads(path.read_text(encoding="utf-8"))
        try:
            if generated_notebook(nb, repository_, ref_) != nb:
                out.append(str(path.relative_to(ROOT)))
        except ValueError as exc:
            out.append(f"{path.relative_to(ROOT)} ({exc})")
    text = README.read_text(encoding="utf-8")
    if generated_readme(text, repository_, ref_) != text:
        out.append("README.md")
    return out


def write(repository_: str | None = None, ref_: str | None = None) -> list[str]:
    """Regenerate the first cell and badge of every notebook and the README's badges; returns the files changed."""
    changed = []
    for path in _notebook_paths():
        nb = json.loads(path.read_text(encoding="utf-8"))
        new = generated_notebook(nb, repository_, ref_)
        if new != nb:
            path.write_text(json.dumps(new, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            changed.append(str(path.relative_to(ROOT)))
    text = README.read_text(encoding="utf-8")
    new_text = generated_readme(text, repository_, ref_)
    if new_text != text:
        README.write_text(new_text, encoding="utf-8")
        changed.append("README.md")
    return changed
