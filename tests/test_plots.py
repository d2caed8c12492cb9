import numpy as np
import pytest

from tlkit import claims, plots


def test_plots_return_figures_and_save(tmp_path):
    claims.set_notebook("99_plots")
    rows = [{"k": k, "seed": s, "transfer": 0.8 + 0.01 * s, "scratch": 0.5} for k in (5, 10, None) for s in (0, 1)]
    figs = {
        "curve": plots.learning_curve(rows, all_per_class=100),
        "grid": plots.sample_grid(np.zeros((3, 8, 8, 1)), [0, 1, 0], ["a", "b"]),
        "bars": plots.bars({"a": 1.0, "b": 2.0}),
        "filters": plots.filters(np.random.rand(3, 3, 1, 8)),
        "maps": plots.feature_maps(np.random.rand(7, 7, 4)),
    }
    for name, fig in figs.items():
        path = plots.save(fig, name)
        assert path.exists() and path.stat().st_size > 1000
    assert len(claims.load_results("99_plots")["figures"]) == 5


def test_plot_bad_inputs():
    with pytest.raises(ValueError, match="all_per_class"):
        plots.learning_curve([{"k": None, "transfer": 1, "scratch": 0}])
    with pytest.raises(ValueError, match="no images"):
        plots.sample_grid(np.zeros((0, 8, 8, 1)))
    with pytest.raises(ValueError, match=r"\(kh, kw, in, out\)"):
        plots.filters(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="figure name"):
        plots.save(None, "bad name/")
