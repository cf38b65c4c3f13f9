"""The documentation a newcomer reads: short README, working links, version in step,
and text that cites papers and versions, not the project's work log."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

import geomae_tf

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", REPO / "CHANGELOG.md", *sorted((REPO / "docs").rglob("*.md"))]
#: References a user cannot follow: a work log's sessions and issues, team-only files.
WORK_LOG = re.compile(r"\bsessions?[- ]\d|\bsession \d|\bissues? #?\d|ECOSYSTEM" r"_NOTES|"
                      r"CONTRACT\.md|\bthe contract\b|\.\./shared", re.IGNORECASE)


def test_readme_is_short_and_keeps_the_two_commands_and_the_zoo_table():
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 210
    assert "make demo" in text and "make test" in text
    assert "<!-- zoo-table:start -->" in text and "<!-- zoo-table:end -->" in text
    for page in ("docs/size.md", "docs/position.md", "docs/pca.md", "docs/atomic.md"):
        assert f"]({page})" in text


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(page):
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


def test_zoo_table_links_every_listed_entry_to_its_card():
    text = (REPO / "README.md").read_text()
    table = text.split("<!-- zoo-table:start -->")[1].split("<!-- zoo-table:end -->")[0]
    for entry in re.findall(r"^\| \[`(\w+)`\]", table, re.MULTILINE):
        assert (REPO / "docs" / "zoo" / f"{entry}.md").is_file()


def test_version_changelog_citation_and_licence_agree():
    version = geomae_tf.__version__
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert changelog.startswith("# Changelog")
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", changelog, re.M)
    assert released and released[0][0] == version      # newest first
    assert [v for v, _ in released] == sorted((v for v, _ in released),
                                              key=lambda v: tuple(map(int, v.split("."))),
                                              reverse=True)
    citation = (REPO / "CITATION.cff").read_text()
    assert re.search(rf"^version: {re.escape(version)}$", citation, re.M)
    assert "10.1007/s10851-019-00924-w" in citation and "hal-03962759" in citation
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
    assert re.search(r"^license = MIT$", (REPO / "setup.cfg").read_text(), re.M)


def test_no_work_log_references():
    files = subprocess.run(["git", "ls-files", "*.py", "*.md", "*.toml", "*.cfg", "*.ipynb"],
                           cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    hits = []
    for name in files:
        path = REPO / name
        if path.name == "test_docs.py" or not path.is_file():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if WORK_LOG.search(line):
                hits.append(f"{name}:{number}: {line.strip()[:100]}")
    assert not hits, "cite the paper, section or version instead:\n" + "\n".join(hits)


def test_api_reference_builds_without_warnings(tmp_path):
    # mkdocs + mkdocstrings (the `test` extra): the API pages come from the docstrings
    pytest.importorskip("mkdocstrings")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                             "--site-dir", str(tmp_path / "site")],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    for name in ("geomae_tf.zoo.load", "export_saved_model", "render_card", "AtomicDecoder",
                 "CodeRefinement", "atomic_autoencoder", "make_spikes", "load_recipe"):
        assert name in api


FIGURES = REPO / "docs" / "figures"
CARDS = sorted((REPO / "docs" / "zoo").glob("*.md"))


def _png_references(page):
    return set(re.findall(r"\]\(([^)\s]+\.png)\)", page.read_text()))


def test_every_referenced_png_exists_and_every_png_is_shown():
    # docs/figures/ holds exactly the PNGs that the README or a card shows
    shown = set()
    for page in [REPO / "README.md", *CARDS]:
        for target in _png_references(page):
            path = (page.parent / target).resolve()
            assert path.is_file(), f"{page.name} shows {target}, which does not exist"
            shown.add(path)
    pngs = {p.resolve() for p in FIGURES.glob("*.png")}
    assert pngs, "docs/figures/ is empty: run `geomae figures --docs`"
    assert pngs <= shown, f"not shown by the README or a card: {sorted(p.name for p in pngs - shown)}"


def test_figures_are_small_and_listed_once():
    from geomae_tf.analysis import docs_figures

    files = [f["file"] for f in docs_figures.DOC_FIGURES]
    assert len(files) == len(set(files))
    assert sorted(files) == sorted(p.name for p in FIGURES.glob("*.png"))
    for path in FIGURES.glob("*.png"):
        assert path.stat().st_size < docs_figures.MAX_BYTES, path.name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_figures_folder_is_not_ignored():
    # `.gitignore`'s /figures/ (the CLI's default output) must not hide docs/figures/
    result = subprocess.run(["git", "check-ignore", "-q", "docs/figures/x.png"], cwd=REPO)
    assert result.returncode == 1


def test_readme_links_the_examples_the_notebook_and_serving():
    text = (REPO / "README.md").read_text()
    for target in ("examples/", "examples/navigate.ipynb", "docs/serving.md"):
        assert f"]({target})" in text
    assert '"signature_name": "encode", ...' not in text


@pytest.mark.parametrize("page", sorted(p for p in (REPO / "docs").glob("*.md")),
                         ids=lambda p: p.name)
def test_docs_page_opens_with_what_it_shows_and_how_to_reproduce(page):
    head = "\n".join(page.read_text().splitlines()[:14])
    assert re.search(r"^What this page shows", head, re.M), f"{page.name}: say what it shows"
    assert re.search(r"Reproduce", head), f"{page.name}: say how to reproduce it"


@pytest.mark.parametrize("recipe", sorted((REPO / "zoo").glob("*.toml")), ids=lambda p: p.name)
def test_recipe_header_says_what_the_entry_is_in_five_lines(recipe):
    header = []
    for line in recipe.read_text().splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    assert 1 <= len(header) <= 5, f"{recipe.name}: {len(header)} header lines (history: CHANGELOG.md)"
    assert not re.search(r"\d{4}-\d{2}-\d{2}", "\n".join(header))


def test_figures_docs_mode_takes_no_entries(capsys):
    from geomae_tf import cli

    assert cli.main(["figures", "--docs", "disk_ae"]) == 2
    assert "--docs" in capsys.readouterr().err


def test_zoo_table_needs_the_readme_markers(tmp_path):
    from geomae_tf.analysis import cards

    readme = tmp_path / "README.md"
    readme.write_text("# a README without the zoo table's markers\n")
    with pytest.raises(ValueError, match="markers"):
        cards.update_readme(readme, root=REPO)
    readme.write_text("intro\n<!-- zoo-table:start -->\nold\n<!-- zoo-table:end -->\nend\n")
    cards.update_readme(readme, root=REPO)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("end\n") and "old" not in text
    assert cards.readme_table(REPO) in text
