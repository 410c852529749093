import subprocess
import sys


def test_register_is_cheap_and_adds_the_kind():
    code = ("import sys, synthscape_finance; synthscape_finance.register();"
            "synthscape_finance.register();"  # a second call is harmless
            "heavy = [m for m in ('torch', 'matplotlib', 'sklearn', 'networkx')"
            " if m in sys.modules]; print(heavy);"
            "from synthscape.scenarios import KINDS; print('transactions' in KINDS.names())")
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True,
                         text=True, check=True)
    assert out.stdout.split() == ["[]", "True"]


def test_the_core_does_not_import_the_pack():
    code = ("import synthscape, synthscape.scenarios, synthscape.generators, sys;"
            "print(any(m.startswith('synthscape_finance') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
