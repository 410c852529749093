"""The Synthea runner against a stand-in jar compiled here (SyntheaStandIn.java)."""
from __future__ import annotations

import shutil
import subprocess
import threading
import uuid
from pathlib import Path

import pytest

from synthscape.errors import ParameterError
from synthscape_healthcare.synthea_runner import (
    SyntheaCancelled,
    SyntheaError,
    SyntheaNotFoundError,
    SyntheaRunner,
    SyntheaTimeoutError,
)

from ._paths import V3, need_synthea_samples

pytestmark = pytest.mark.java


@pytest.fixture(scope="module")
def standin_jar(tmp_path_factory) -> Path:
    if shutil.which("javac") is None or shutil.which("jar") is None:
        pytest.skip("javac/jar not found: the Synthea stand-in needs a JDK (Java 17+)")
    need_synthea_samples()
    out = tmp_path_factory.mktemp("standin")
    src = Path(__file__).with_name("SyntheaStandIn.java")
    subprocess.run(["javac", "-d", str(out), str(src)], check=True, capture_output=True)
    subprocess.run(["jar", "cfe", "standin.jar", "SyntheaStandIn", "SyntheaStandIn.class"],
                   cwd=out, check=True, capture_output=True)
    return out / "standin.jar"


def _runner(jar: Path, mode: str = "ok", timeout: float = 60, marker: str = "") -> SyntheaRunner:
    return SyntheaRunner(jar, heap="256m", timeout=timeout, java_options=[
        f"-Dstandin.samples={V3}", f"-Dstandin.mode={mode}", f"-Dstandin.marker={marker}"])


def _alive(marker: str) -> bool:
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker.encode() in cmdline.read_bytes():
                return True
        except OSError:
            continue
    return False


def test_command_line_is_built_from_options():
    r = SyntheaRunner("synthea.jar", heap="4g")
    cmd = r.command(population=50, base_dir="/tmp/b", seed=7, clinician_seed=8,
                    reference_date="2024-01-31", age_range=(18, 90), gender="F",
                    modules=["myocardial_infarction", "diabetes*"], state="Massachusetts",
                    city="Boston", years_of_history=5)
    assert cmd[:4] == ["java", "-Xmx4g", "-jar", "synthea.jar"]
    joined = " ".join(cmd)
    for part in ("-p 50", "-s 7", "-cs 8", "-r 20240131", "-a 18-90", "-g F",
                 "-m myocardial_infarction:diabetes*", "--exporter.csv.export=true",
                 "--exporter.fhir.export=false", "--exporter.baseDirectory=/tmp/b",
                 "--exporter.years_of_history=5"):
        assert part in joined
    assert cmd[-2:] == ["Massachusetts", "Boston"]
    with pytest.raises(ParameterError, match="population"):
        r.command(population=0, base_dir="b")
    with pytest.raises(ParameterError, match="reference_date"):
        r.command(population=1, base_dir="b", reference_date="31/01/2024")
    with pytest.raises(ParameterError, match="needs its state"):
        r.command(population=1, base_dir="b", city="Boston")


def test_missing_java_or_jar_says_how_to_get_them(tmp_path):
    with pytest.raises(SyntheaNotFoundError, match="install Java 17"):
        SyntheaRunner(tmp_path / "x.jar", java="no-such-java-binary").check()
    if shutil.which("java"):
        with pytest.raises(SyntheaNotFoundError, match="synthea-with-dependencies.jar"):
            SyntheaRunner(tmp_path / "x.jar").run(population=1, output=tmp_path / "o")


def test_success_streams_progress_and_loads_the_export(standin_jar, tmp_path):
    lines: list[str] = []
    res = _runner(standin_jar).run(population=5, seed=1, output=tmp_path / "csv",
                                   on_line=lines.append)
    assert (res.total, res.alive + res.dead) == (5, 5)
    assert any(" -- " in line for line in lines) and lines[-1].startswith("Records:")
    ex = res.load()
    assert ex.version == "3.0.0" and ex.n_patients == 5
    assert not any(p.name.startswith(".synthea-") for p in tmp_path.iterdir())


def test_bad_arguments_exit_zero_but_fail(standin_jar, tmp_path):
    with pytest.raises(SyntheaError, match="no closing 'Records") as err:
        _runner(standin_jar).run(population=2, output=tmp_path / "o", extra_args=["-x"])
    assert "Unrecognized option: -x" in str(err.value)
    assert not (tmp_path / "o").exists()


def test_exception_in_output_fails(standin_jar, tmp_path):
    with pytest.raises(SyntheaError, match="exception was reported.*NullPointerException"):
        _runner(standin_jar, mode="exception").run(population=2, output=tmp_path / "o")


def test_timeout_kills_the_process_group(standin_jar, tmp_path):
    marker = uuid.uuid4().hex
    with pytest.raises(SyntheaTimeoutError, match="timeout=3"):
        _runner(standin_jar, mode="hang", timeout=3, marker=marker).run(
            population=2, output=tmp_path / "o")
    assert not _alive(marker)


def test_cancel_from_another_thread(standin_jar, tmp_path):
    marker = uuid.uuid4().hex
    runner = _runner(standin_jar, mode="hang", marker=marker)
    started = threading.Event()

    def on_line(line: str) -> None:
        if line.startswith("Running with options"):
            started.set()

    threading.Thread(target=lambda: started.wait(30) and runner.cancel(), daemon=True).start()
    with pytest.raises(SyntheaCancelled, match="cancelled"):
        runner.run(population=2, output=tmp_path / "o", on_line=on_line)
    assert started.is_set() and not _alive(marker)
