"""Run Synthea (MITRE's synthetic patient generator) as a subprocess and load its CSV export.

Synthea exits 0 even after bad arguments or failed patients, so success is judged from its
closing ``Records: total=N, alive=A, dead=D`` line, from exceptions in its output and from the
files it wrote; anything else raises :class:`SyntheaError` with the tail of the output.
The process runs in its own process group so that a timeout or :meth:`SyntheaRunner.cancel`
ends Synthea and every child it started.
"""
from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from synthscape.errors import ParameterError, SynthscapeError

RECORDS = re.compile(r"Records:\s*total=(\d+),\s*alive=(\d+),\s*dead=(\d+)")
EXCEPTION = re.compile(r"(Exception in thread|^\s*(?:[\w.$]+\.)?\w*(?:Exception|Error)\b[:\s])",
                       re.M)
DOWNLOAD = "https://github.com/synthetichealth/synthea/releases (synthea-with-dependencies.jar)"


class SyntheaError(SynthscapeError, RuntimeError):
    """Synthea did not produce a complete export; the message carries its output's tail."""


class SyntheaNotFoundError(SyntheaError, FileNotFoundError):
    """java or the Synthea jar is missing."""


class SyntheaTimeoutError(SyntheaError, TimeoutError):
    """Synthea ran past its timeout and was stopped."""


class SyntheaCancelled(SyntheaError):
    """The run was cancelled with :meth:`SyntheaRunner.cancel`."""


@dataclass(frozen=True)
class SyntheaResult:
    csv_dir: Path
    total: int
    alive: int
    dead: int
    seconds: float
    log_tail: str

    def load(self):
        from synthscape_healthcare.synthea import load_synthea

        return load_synthea(self.csv_dir)


class SyntheaRunner:
    """``SyntheaRunner(jar="synthea-with-dependencies.jar").run(population=100, seed=1,
    output="synthea_out")`` -> :class:`SyntheaResult`; ``result.load()`` reads the tables."""

    def __init__(self, jar: str | Path, *, java: str = "java", heap: str | None = "2g",
                 timeout: float | None = 3600.0, java_options: Sequence[str] = ()):
        self.jar = Path(jar)
        self.java = java
        self.heap = heap
        self.timeout = timeout
        self.java_options = tuple(java_options)
        self._proc: subprocess.Popen | None = None
        self._cancel = threading.Event()

    # ---- the command ---------------------------------------------------------------------
    def command(self, *, population: int, base_dir: str | Path, seed: int | None = None,
                clinician_seed: int | None = None, reference_date: str | None = None,
                age_range: tuple[int, int] | None = None, gender: str | None = None,
                modules: Sequence[str] = (), state: str | None = None, city: str | None = None,
                years_of_history: int | None = None, extra_args: Sequence[str] = ()) -> list[str]:
        """The argument list (no shell): JVM options, ``-jar``, Synthea options, state, city."""
        if isinstance(population, bool) or not isinstance(population, int) or population < 1:
            raise ParameterError(f"population must be an int >= 1, got {population!r}")
        if gender not in (None, "M", "F"):
            raise ParameterError(f"gender must be 'M', 'F' or None, got {gender!r}")
        if city and not state:
            raise ParameterError("a city needs its state (Synthea takes 'state [city]')")
        cmd = [self.java]
        if self.heap:
            cmd.append(f"-Xmx{self.heap}")
        cmd += [*self.java_options, "-jar", str(self.jar), "-p", str(population)]
        if seed is not None:
            cmd += ["-s", str(int(seed))]
        if clinician_seed is not None:
            cmd += ["-cs", str(int(clinician_seed))]
        if reference_date is not None:
            cmd += ["-r", _yyyymmdd(reference_date)]
        if age_range is not None:
            lo, hi = age_range
            if not 0 <= lo <= hi:
                raise ParameterError(f"age_range must satisfy 0 <= min <= max, got {age_range}")
            cmd += ["-a", f"{lo}-{hi}"]
        if gender:
            cmd += ["-g", gender]
        if modules:
            cmd += ["-m", ":".join(modules)]
        cmd += ["--exporter.csv.export=true", "--exporter.fhir.export=false",
                "--exporter.fhir_stu3.export=false", "--exporter.fhir_dstu2.export=false",
                "--exporter.hospital.fhir.export=false",
                "--exporter.practitioner.fhir.export=false",
                f"--exporter.baseDirectory={base_dir}"]
        if years_of_history is not None:
            cmd.append(f"--exporter.years_of_history={int(years_of_history)}")
        cmd += list(extra_args)
        if state:
            cmd.append(state)
            if city:
                cmd.append(city)
        return cmd

    def check(self) -> None:
        """Raise :class:`SyntheaNotFoundError` saying how to get java or the jar."""
        if shutil.which(self.java) is None:
            raise SyntheaNotFoundError(
                f"java executable {self.java!r} was not found on PATH; install Java 17 or "
                f"later (e.g. 'apt-get install openjdk-17-jre-headless') or pass java=<path>")
        if not self.jar.is_file():
            raise SyntheaNotFoundError(
                f"Synthea jar {self.jar} does not exist; download it from {DOWNLOAD} and pass "
                f"jar=<path>")

    # ---- running -------------------------------------------------------------------------
    def run(self, *, population: int, output: str | Path,
            on_line: Callable[[str], None] | None = None, overwrite: bool = False,
            **options) -> SyntheaResult:
        """Run Synthea into a temporary base directory; on success move ``csv/`` to
        ``output`` (which must not exist unless ``overwrite``). ``on_line`` receives each line
        of output as it arrives (progress). Options are those of :meth:`command`."""
        self.check()
        output = Path(output)
        if output.exists() and not overwrite:
            raise ParameterError(f"output folder {output} exists; pass overwrite=True")
        output.parent.mkdir(parents=True, exist_ok=True)
        base = Path(tempfile.mkdtemp(prefix=".synthea-", dir=output.parent))
        try:
            cmd = self.command(population=population, base_dir=base, **options)
            start = time.monotonic()
            code, tail, exc = self._execute(cmd, cwd=base, on_line=on_line)
            result = self._judge(code, tail, exc, base / "csv", time.monotonic() - start)
            if output.exists():
                shutil.rmtree(output)
            shutil.move(str(base / "csv"), str(output))
            return SyntheaResult(output, result.total, result.alive, result.dead,
                                 result.seconds, result.log_tail)
        finally:
            shutil.rmtree(base, ignore_errors=True)

    def cancel(self) -> None:
        """Stop a running Synthea (callable from another thread); ``run`` then raises
        :class:`SyntheaCancelled`."""
        self._cancel.set()
        self._kill()

    def _execute(self, cmd: list[str], *, cwd: Path, on_line) -> tuple[int, str, str | None]:
        self._cancel.clear()
        first_exception: str | None = None
        tail: deque[str] = deque(maxlen=60)
        lines: queue.Queue = queue.Queue()
        self._proc = proc = subprocess.Popen(
            cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            bufsize=1, start_new_session=True, errors="replace")

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put(line.rstrip("\n"))
            lines.put(None)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        try:
            while True:
                if self._cancel.is_set():
                    self._kill()
                    raise SyntheaCancelled("the Synthea run was cancelled; its process group "
                                           "was stopped\n" + "\n".join(tail))
                if deadline is not None and time.monotonic() > deadline:
                    self._kill()
                    raise SyntheaTimeoutError(
                        f"Synthea ran longer than timeout={self.timeout:g} s and was stopped; "
                        f"raise the timeout or lower the population. Last output:\n"
                        + "\n".join(tail))
                try:
                    line = lines.get(timeout=0.1)
                except queue.Empty:
                    continue
                if line is None:
                    break
                tail.append(line)
                if first_exception is None and EXCEPTION.search(line):
                    first_exception = line
                if on_line is not None:
                    on_line(line)
            code = proc.wait()
            if self._cancel.is_set():  # the output ended because cancel() stopped it
                raise SyntheaCancelled("the Synthea run was cancelled; its process group was "
                                       "stopped\n" + "\n".join(tail))
            return code, "\n".join(tail), first_exception
        finally:
            if proc.poll() is None:
                self._kill()
            reader.join(timeout=5)
            self._proc = None

    def _kill(self) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        except ProcessLookupError:
            pass

    @staticmethod
    def _judge(code: int, tail: str, exception: str | None, csv_dir: Path,
               seconds: float) -> SyntheaResult:
        def fail(why: str) -> SyntheaError:
            return SyntheaError(f"Synthea failed: {why}. Last output:\n{tail}")

        if code != 0:
            raise fail(f"java exited with status {code}")
        m = None
        for m in RECORDS.finditer(tail):  # noqa: B007 - the last match is the one wanted
            pass
        if exception is not None:
            raise fail(f"an exception was reported ({exception.strip()})")
        if m is None:
            raise fail("no closing 'Records: total=N, alive=A, dead=D' line (bad arguments?)")
        total, alive, dead = (int(x) for x in m.groups())
        if total < 1 or alive + dead != total:
            raise fail(f"implausible record counts total={total}, alive={alive}, dead={dead}")
        patients = csv_dir / "patients.csv"
        if not patients.exists():
            raise fail(f"no CSV export at {csv_dir} (was the CSV exporter switched off?)")
        with open(patients, encoding="utf-8") as f:
            rows = sum(1 for line in f if line.strip()) - 1
        if rows != total:
            raise fail(f"patients.csv has {rows} rows but Synthea reported total={total}")
        return SyntheaResult(csv_dir, total, alive, dead, seconds, tail)


def _yyyymmdd(date: str) -> str:
    digits = str(date).replace("-", "")
    if not re.fullmatch(r"\d{8}", digits):
        raise ParameterError(f"reference_date must look like 2024-01-31 or 20240131, got {date!r}")
    return digits
