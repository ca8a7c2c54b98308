"""``make docs`` (``tools/docs_pictures.py``): it writes every picture and text of ``docs/`` that the code
draws, and the committed plan text is what the command line prints today (so a drift fails CI).

The script runs once, in this process, into a temporary folder. The readout picture needs Chromium;
without it that check is skipped with the reason.
"""

import contextlib
import importlib.util
import io
import struct
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _load_tool():
    spec = importlib.util.spec_from_file_location("docs_pictures", ROOT / "tools" / "docs_pictures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


docs_pictures = _load_tool()


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The folder the script wrote into, and what it printed."""
    out = tmp_path_factory.mktemp("docs")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert docs_pictures.main(["--out", str(out)]) == 0
    return out, printed.getvalue()


def png_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` of a PNG file, from its header."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR", f"{path.name} is not a PNG"
    return struct.unpack(">II", head[16:24])


@pytest.mark.parametrize("name", list(docs_pictures.PLAN_CHARTS))
def test_each_plan_chart_is_a_png_of_sensible_size(written, name):
    width, height = png_size(written[0] / name)
    assert 800 <= width <= 4000 and 250 <= height <= 2000 and width > height


def test_the_committed_plan_text_is_what_the_command_line_prints(written):
    fresh = (written[0] / docs_pictures.PLAN_TEXT).read_text(encoding="utf-8")
    assert "4096x4096" in fresh
    # DRIFT CHECK: docs/plan_flux_4096.txt must be exactly what `python -m dype_core plan` prints now.
    # If the command line's output changed on purpose, run `make docs` and commit the regenerated docs/.
    committed = (docs_pictures.DOCS / docs_pictures.PLAN_TEXT).read_text(encoding="utf-8")
    assert fresh == committed, "docs/plan_flux_4096.txt is stale: run `make docs` and commit docs/"


def test_the_readout_picture_is_the_node_widget_with_its_chart(written):
    out, printed = written
    if docs_pictures.find_chromium() is None:
        assert f"{docs_pictures.READOUT} skipped" in printed
        pytest.skip("no Chromium (chromium, chromium-browser or $CHROMIUM_PATH): the readout picture is not drawn")
    picture = out / docs_pictures.READOUT
    widget, margin, scale = docs_pictures.WIDGET, docs_pictures.MARGIN, docs_pictures.DEVICE_SCALE
    assert png_size(picture) == ((widget[0] + 2 * margin) * scale, (widget[1] + 2 * margin) * scale)
    assert docs_pictures.kappa_pixels(picture) > 50  # the k(t) curve: the pack's script drew the chart
