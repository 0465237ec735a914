"""LightGBM for serving loads without the optional libraries it would import, and leaves them importable."""

import subprocess
import sys

import pytest


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_the_booster_loads_without_scikit_learn_or_pandas_and_they_still_import_after():
    pytest.importorskip("sklearn")  # only then is there anything to leave out
    out = _run(
        "import sys\n"
        "from qa import boosting\n"
        "lgb = boosting.lightgbm()\n"
        "print('sklearn' in sys.modules, 'pandas' in sys.modules, lgb.compat.SKLEARN_INSTALLED, hasattr(lgb, 'Booster'))\n"
        "import sklearn.isotonic\n"
        "print(sys.modules['sklearn'] is not None, boosting.lightgbm() is lgb)\n")
    assert out.splitlines() == ["False False False True", "True True"]


def test_already_imported_interfaces_are_kept():
    pytest.importorskip("sklearn")
    out = _run("import sklearn\nfrom qa import boosting\nprint(boosting.lightgbm().compat.SKLEARN_INSTALLED)")
    assert out == "True"
