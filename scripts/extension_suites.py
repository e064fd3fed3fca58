"""Run popular Flask extensions' own test suites on Flask and on gateway.

Gateway's Flask compatibility switch (``GATEWAY_FLASK_COMPAT=1``) makes
``import flask`` resolve to gateway's own modules, so unmodified extensions
run on gateway's core. This script measures how well that works, using the
extensions' *own* tests rather than ours:

1. download each extension's sdist from PyPI at run time
   (``pip download --no-deps --no-binary :all:``) and unpack it;
2. make one virtual environment per extension holding the real Flask, the
   extension, the extra packages its tests need and gateway (editable, from
   ``--gateway``);
3. run the extension's test suite twice in that environment, once as is
   (real Flask) and once with ``GATEWAY_FLASK_COMPAT=1``; only the variable
   differs;
4. print passed / failed / errors / skipped for both columns side by side,
   and the tests whose outcome differs.

Flask itself is one more entry (``flask``): the ``tests/`` of the Flask
sdist, run as published, on the real Flask and with the switch.

Each run checks from inside pytest that it ran on what its column says: a
plug-in (``-p extension_suites_probe``, written into the venv) records at the
end whether ``flask`` was gateway's and which files of the real Flask were
loaded; a switch column that touched the real Flask is reported.

Exit status: 0 when, for every entry, every test that passes on Flask passes
with the switch too, except those listed in ``KNOWN_DIFFERENCES`` (gateway's
deliberate choices, each with its reason); 1 otherwise (an entry whose
download or install failed, or whose switch run did not run on gateway,
counts as such); 2 on a bad option.

Everything an extension needs that its sdist does not say in a machine
readable way (extra test packages, pytest options, tests needing a server
that is not running here) lives in the ``EXTENSIONS`` table below.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import typing as t
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

FLASK_VERSION = "3.1.3"
PYTEST_VERSION = "8.4.2"
TIMEOUT = 15 * 60  # seconds per pytest run; a hang never blocks for ever
SWITCH = "GATEWAY_FLASK_COMPAT"
COLUMNS = ("flask", "switch")


@dataclasses.dataclass(frozen=True)
class Extension:
    """What it takes to run one extension's own test suite."""

    dist: str  # the name on PyPI
    version: str
    deps: tuple[str, ...] = ()  # test requirements besides pytest and Flask
    pytest_args: tuple[str, ...] = ()
    deselect: tuple[str, ...] = ()  # node ids (or paths) left out
    # For a release whose sdist ships no tests: the release of the same
    # project whose sdist does; its tests run against ``version``.
    tests_from: str = ""


# One entry per extension; every choice carries its reason.
EXTENSIONS: dict[str, Extension] = {
    "flask-login": Extension(
        "Flask-Login",
        "0.6.3",
        # requirements/tests.txt: pytest, asgiref, blinker, semantic-version.
        deps=("asgiref", "blinker", "semantic-version"),
    ),
    "flask-wtf": Extension(
        "Flask-WTF",
        "1.3.0",
        # dependency groups "test" and "test-babel" (tox's default env);
        # email_validator is the "email" extra some form tests use.
        deps=("Flask-Babel", "flask-reuploaded", "email_validator"),
    ),
    "flask-sqlalchemy": Extension(
        "Flask-SQLAlchemy",
        "3.1.1",
        # requirements/tests.in (pytest-cov and coverage are not needed to run).
        # SQLAlchemy 2.1 rejects 3.1.1's dataclass models ("already a
        # dataclass"), failing ~150 tests on Flask too; 3.1.1 was made on 2.0:
        # requirements/dev.txt locks 2.0.20; later 2.0 releases fail two
        # test_explicit_table cases on Flask too.
        deps=("blinker", "sqlalchemy==2.0.20"),
    ),
    "flask-caching": Extension(
        "Flask-Caching",
        "2.5.1",
        # dependency group "tests". pylibmc is left out (it compiles against
        # libmemcached); python-memcached stands in as the memcached client
        # that test_init's MemcachedCache needs. The redis and memcached
        # server tests skip themselves: no server executable here.
        deps=(
            "asgiref",
            "pytest-asyncio",
            "pytest-xprocess",
            "redis",
            "python-memcached",
        ),
    ),
    "flask-cors": Extension(
        "flask-cors",
        "6.0.5",
        # The "dev" group only adds linters and docs tools to pytest.
        # tests/typecheck holds files for mypy, not tests.
        pytest_args=("--ignore=tests/typecheck",),
    ),
    "flask-limiter": Extension(
        "Flask-Limiter",
        "4.1.1",
        # dependency group "test"; conftest.py imports the redis, pymemcache
        # and pymongo clients; rich is the "cli" extra test_commands uses.
        # lovely-pytest-docker is left out (see the deselected tests).
        deps=(
            "asgiref",
            "flask-restful",
            "flask-restx",
            "redis",
            "pymemcache",
            "pymongo",
            "hiro",
            "pytest-check",
            "pytest-mock",
            "rich",
        ),
        # pytest.ini's addopts ask for coverage and --capture=no.
        pytest_args=("-o", "addopts="),
        # These use the redis/memcached/mongodb fixtures, which start servers
        # with docker compose (no docker here), or a redis at localhost:46379
        # (test_fallback_to_memory).
        deselect=(
            "tests/test_storage.py",
            "tests/test_commands.py::test_clear_limits",
            "tests/test_configuration.py::test_constructor_arguments_over_config",
            "tests/test_error_handling.py::test_fallback_to_memory",
            "tests/test_error_handling.py::test_fallback_to_memory_config",
            "tests/test_error_handling.py::test_fallback_to_memory_backoff_check",
            "tests/test_error_handling.py::test_fallback_to_memory_with_global_override",
            "tests/test_flask_ext.py::test_reset_unsupported",
            "tests/test_flask_ext.py::test_custom_key_prefix",
            "tests/test_regressions.py::test_redis_request_slower_than_fixed_window",
            "tests/test_regressions.py::test_redis_request_slower_than_moving_window",
            "tests/test_regressions.py::test_custom_key_prefix_with_headers",
        ),
    ),
    "flask-migrate": Extension(
        "Flask-Migrate",
        "4.1.0",
        # tox.ini: Flask-SQLAlchemy and alembic come with it; pytest -p no:logging.
        # Its tests run the ``flask`` command: the venv's bin goes first on PATH.
        # SQLAlchemy < 2.1 for Flask-SQLAlchemy 3.1.1 (see flask-sqlalchemy).
        deps=("sqlalchemy<2.1",),
        pytest_args=("-p", "no:logging"),
    ),
    "flask-babel": Extension(
        "flask-babel",
        "4.0.0",
        # No sdist since 3.0.0 ships tests (nor does 4.0.0's wheel). 2.0.0's sdist
        # is the newest that does, and 2.0.0 itself cannot run on Flask 3
        # (it imports flask.helpers.locked_cached_property, gone in Flask
        # 2.3): its tests run against 4.0.0. Those written for 2.0's API (the
        # selector decorators, refresh, list_translations outside an app
        # context) or the older CLDR data of their day fail on Flask too.
        tests_from="2.0.0",
        # pytest-mock is the "dev" extra of 2.0.0's setup.py.
        deps=("pytest-mock",),
    ),
    "flask-session": Extension(
        "flask-session",
        "0.8.0",
        # No sdist since 0.6.0 ships tests (nor does 0.8.0's wheel); 0.5.0's
        # sdist is the newest that does (test_session.py): its tests run
        # against 0.8.0. test_null_session fails on Flask too (SESSION_TYPE
        # "null" is gone since 0.6). The sqlalchemy ones need Flask-SQLAlchemy
        # (SQLAlchemy < 2.1, see flask-sqlalchemy).
        tests_from="0.5.0",
        deps=("flask-sqlalchemy", "sqlalchemy<2.1"),
        # These need a redis, memcached or mongodb server (none here).
        deselect=(
            "test_session.py::FlaskSessionTestCase::test_redis_session",
            "test_session.py::FlaskSessionTestCase::test_memcached_session",
            "test_session.py::FlaskSessionTestCase::test_mongodb_session",
            "test_session.py::FlaskSessionTestCase::test_session_use_signer",
        ),
    ),
    "flask": Extension(
        "Flask",
        FLASK_VERSION,
        # Flask's own tests/, from its sdist; the "tests" dependency group.
        # pyproject.toml's pytest options (warnings are errors) apply as
        # published, since pytest runs in the unpacked sdist.
        deps=("asgiref", "greenlet", "python-dotenv"),
    ),
}

#: Tests of an entry that pass on Flask and not with the switch, on purpose:
#: node id (as the junit report names it) -> why. docs/flask-compat.md lists
#: the same, at more length.
KNOWN_DIFFERENCES: dict[str, dict[str, str]] = {
    "flask": {
        "tests.test_cli::test_get_version": (
            "--version says what runs: 'Gateway X' in place of the"
            " 'Flask X' line the test looks for"
        ),
        "tests.test_templating::test_template_loader_debugging": (
            "EXPLAIN_TEMPLATE_LOADING's log is worded by gateway (its hint"
            " names the fix); the test matches Flask's sentences"
        ),
    },
}


@dataclasses.dataclass
class Result:
    """The outcome of one pytest run: test id -> outcome."""

    outcomes: dict[str, str] = dataclasses.field(default_factory=dict)
    note: str = ""  # why there are no (or incomplete) results
    probe: str = ""  # "" when the run was on what its column says (read_probe)

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes.values() if o == outcome)


def say(message: str) -> None:
    print(f"extension-suites: {message}", file=sys.stderr, flush=True)


def run(cmd: list[str], log: Path, **kwargs) -> subprocess.CompletedProcess:
    """Run a setup command, its output appended to ``log``; raise on failure."""
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        proc = subprocess.run(
            cmd, stdout=out, stderr=subprocess.STDOUT, check=False, **kwargs
        )
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd[:4])} ... failed; see {log}")
    return proc


# -- sources and environments ------------------------------------------------


def fetch_sdist(dist: str, version: str, work: Path, log: Path, name: str) -> Path:
    """Download the sdist of ``dist==version`` (once) into ``work`` and
    unpack it afresh into ``work/name``; return the unpacked directory.

    Unpacking on every run means files a previous run's tests left behind
    (databases, migration folders) never leak into this one.
    """
    downloads = work / ("download" if name == "source" else f"download-{name}")
    archives = list(downloads.glob("*")) if downloads.is_dir() else []
    if len(archives) != 1:
        shutil.rmtree(downloads, ignore_errors=True)
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary"]
        spec = f"{dist}=={version}"
        run([*pip, ":all:", spec, "-d", str(downloads)], log)
        archives = list(downloads.iterdir())
    (archive,) = archives
    return unpack(archive, work / name)


#: What of another release's sdist makes its test tree: the tests and what
#: configures pytest. Its package stays out, so the tests import the release
#: under test (installed in the venv), not the copy beside them.
TEST_TREE_FILES = ("conftest.py", "pytest.ini", "tox.ini", "setup.cfg")


def test_tree(source: Path, into: Path) -> Path:
    """Copy the tests of an unpacked sdist into ``into`` (made afresh)."""
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    for path in source.iterdir():
        if path.is_dir() and path.name in ("tests", "test"):
            shutil.copytree(path, into / path.name)
        elif path.is_file() and (
            path.name in TEST_TREE_FILES
            or (path.name.startswith("test") and path.suffix == ".py")
        ):
            shutil.copy2(path, into / path.name)
    return into


def unpack(archive: Path, into: Path) -> Path:
    shutil.rmtree(into, ignore_errors=True)
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(into)
    else:
        with tarfile.open(archive) as tf:
            tf.extractall(into, filter="data")
    (top,) = into.iterdir()
    return top


def make_venv(ext: Extension, work: Path, source: Path, gateway: Path, log: Path):
    """Create (or reuse) the extension's venv; return its python."""
    venv = work / "venv"
    python = venv / "bin" / "python"
    wanted = "\n".join(
        [ext.dist, ext.version, FLASK_VERSION, PYTEST_VERSION, *ext.deps, str(gateway)]
    )
    stamp = venv / "extension-suites.stamp"
    if stamp.exists() and stamp.read_text() == wanted:
        return python
    shutil.rmtree(venv, ignore_errors=True)
    run([sys.executable, "-m", "venv", str(venv)], log)
    pip = [
        str(python),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    # Flask's own entry: its sdist is the Flask that flask==FLASK_VERSION
    # installs anyway.
    package = [] if ext.dist.lower() == "flask" else [str(source)]
    run(
        [
            *pip,
            f"flask=={FLASK_VERSION}",
            f"pytest=={PYTEST_VERSION}",
            *package,
            *ext.deps,
        ],
        log,
    )
    # gateway last, editable: it writes gateway-flask-compat.pth into the venv.
    run([*pip, "-e", str(gateway)], log)
    # gateway's own requirements must not have moved Flask off the pinned one.
    run([*pip, f"flask=={FLASK_VERSION}"], log)
    stamp.write_text(wanted)
    return python


def switch_active(python: Path) -> str:
    """Whether ``import flask`` gives gateway's App with the variable set."""
    probe = "import flask, gateway; print(flask.Flask is gateway.App)"
    env = {**os.environ, SWITCH: "1"}
    proc = subprocess.run(
        [str(python), "-c", probe], env=env, capture_output=True, text=True
    )
    if proc.returncode:
        return "probe failed: " + (proc.stderr.strip().splitlines() or ["?"])[-1]
    return "on" if proc.stdout.strip() == "True" else "off (flask is the real Flask)"


#: A pytest plug-in written into each venv and loaded by every run
#: (``-p``). At the end of the session it records, without importing
#: anything itself, what ``flask`` was and which modules were loaded from the
#: real Flask's files: the proof that a column ran on what it says.
PROBE_MODULE = "extension_suites_probe"
PROBE_SOURCE = '''"""Written by scripts/extension_suites.py: what flask was in this run."""

import json
import os
import sys


def pytest_unconfigure(config):
    out = os.environ.get("EXTENSION_SUITES_PROBE")
    if not out:
        return
    from importlib import metadata

    real = os.path.realpath(metadata.distribution("flask").locate_file("flask"))
    loaded = []
    for name, module in list(sys.modules.items()):
        try:
            path = os.path.realpath(getattr(module, "__file__", None) or "")
        except Exception:
            continue
        if path.startswith(real + os.sep):
            loaded.append(name)
    flask = sys.modules.get("flask")
    gateway = sys.modules.get("gateway")
    is_gateway = (
        flask is not None
        and gateway is not None
        and getattr(flask, "Flask", None) is getattr(gateway, "App", None)
    )
    with open(out, "w") as f:
        json.dump(
            {"imported": flask is not None, "gateway": is_gateway, "real": sorted(loaded)},
            f,
        )
'''


def write_probe(python: Path) -> None:
    """Put the probe plug-in into the venv's site-packages."""
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{python}: no site-packages: {proc.stderr.strip()}")
    (Path(proc.stdout.strip()) / f"{PROBE_MODULE}.py").write_text(PROBE_SOURCE)


def read_probe(path: Path, column: str) -> str:
    """The probe's verdict on one run: "" when it ran on what the column
    says, otherwise what went wrong."""
    try:
        probe = json.loads(path.read_text())
    except (OSError, ValueError):
        return "no probe record"
    if not probe["imported"]:
        return "flask never imported"
    if column == "switch":
        if not probe["gateway"]:
            return "RAN ON THE REAL FLASK"
        if probe["real"]:
            return "real Flask loaded: " + ", ".join(probe["real"])
    elif probe["gateway"] or "flask" not in probe["real"]:
        return "flask was not the real Flask"
    return ""


# -- running and reading pytest ----------------------------------------------


def has_tests(source: Path) -> bool:
    return (
        any(source.glob("tests/**/test*.py"))
        or any(source.glob("test*/*.py"))
        or any(source.glob("test*.py"))
    )


def run_suite(ext: Extension, python: Path, source: Path, work: Path, column: str):
    """One pytest run of the extension's suite; the switch on for "switch"."""
    xml = work / f"{column}.xml"
    xml.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k != SWITCH}
    if column == "switch":
        env[SWITCH] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # Commands the tests start (``flask db ...``) come from the venv.
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(python.parent.parent)
    # pytest's cache goes to the work dir: pytest-xprocess needs the plug-in.
    probe = work / f"{column}.probe.json"
    probe.unlink(missing_ok=True)
    env["EXTENSION_SUITES_PROBE"] = str(probe)
    cmd = [str(python), "-m", "pytest", "-q", "-rA", "-o", f"cache_dir={work}/.pytest"]
    cmd += ["-p", PROBE_MODULE]
    cmd += [f"--junitxml={xml}", "-o", "junit_family=xunit1", *ext.pytest_args]
    cmd += [deselect_option(node) for node in ext.deselect]
    # A temporary directory of its own: some suites keep files in
    # tempfile.gettempdir() and prune it (Flask-Session's filesystem test,
    # through cachelib, deletes other programs' files there and blocks on a
    # FIFO it finds).
    scratch = work / f"{column}.tmp"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    env["TMPDIR"] = str(scratch)
    log = work / f"{column}.log"
    note = ""
    with log.open("w") as out:
        try:
            subprocess.run(
                cmd,
                cwd=source,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            note = f"timed out after {TIMEOUT}s"
    result = read_junit(xml) if xml.exists() else Result(note="no junit report")
    result.note = note or result.note
    result.probe = read_probe(probe, column)
    return result


def deselect_option(node: str) -> str:
    return f"--deselect={node}" if "::" in node else f"--ignore={node}"


def read_junit(path: Path) -> Result:
    """Map each test case of a junit XML report to its worst outcome."""
    result = Result()
    rank = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}
    for case in ET.parse(path).getroot().iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        outcome = case_outcome(case)
        previous = result.outcomes.get(name, "passed")
        result.outcomes[name] = max(previous, outcome, key=rank.__getitem__)
    return result


def case_outcome(case: ET.Element) -> str:
    tags = {child.tag for child in case}
    if "error" in tags:
        return "error"
    if "failure" in tags:
        return "failed"
    if "skipped" in tags:
        return "skipped"
    return "passed"


# -- one extension -------------------------------------------------------------


@dataclasses.dataclass
class Report:
    name: str
    ext: Extension
    results: dict[str, Result] = dataclasses.field(default_factory=dict)
    note: str = ""
    switch: str = ""
    seconds: float = 0.0

    def lost(self) -> list[str]:
        """Tests that pass on Flask but not with the switch, and are not
        among the known, deliberate differences."""
        flask, switch = (self.results[c].outcomes for c in COLUMNS)
        known = KNOWN_DIFFERENCES.get(self.name, {})
        return [
            test
            for test, outcome in flask.items()
            if outcome == "passed"
            and switch.get(test) != "passed"
            and test not in known
        ]

    def ok(self) -> bool:
        if not self.results:
            return not self.note.startswith("setup failed")
        if any(result.probe for result in self.results.values()):
            return False
        return not self.lost()


def measure(name: str, ext: Extension, cache: Path, gateway: Path) -> Report:
    report = Report(name, ext)
    start = time.monotonic()
    work = cache / f"{ext.dist.lower()}-{ext.version}"
    work.mkdir(parents=True, exist_ok=True)
    log = work / "setup.log"
    try:
        say(f"{name} {ext.version}: sdist")
        source = fetch_sdist(ext.dist, ext.version, work, log, "source")
        tests = source
        if ext.tests_from and not has_tests(source):
            say(f"{name}: tests from the {ext.tests_from} sdist")
            other = fetch_sdist(ext.dist, ext.tests_from, work, log, "tests-source")
            tests = test_tree(other, work / "tests")
        if not has_tests(tests):
            report.note = "no tests in sdist"
            return report
        say(f"{name}: environment (Flask {FLASK_VERSION}, gateway from {gateway})")
        python = make_venv(ext, work, source, gateway, log)
        write_probe(python)
    except (RuntimeError, ValueError, OSError) as exc:
        report.note = f"setup failed: {exc}"
        return report
    report.switch = switch_active(python)
    for column in COLUMNS:
        say(f"{name}: tests, {column} (log: {work / column}.log)")
        result = run_suite(ext, python, tests, work, column)
        say(
            f"{name}: {column}: "
            + ", ".join(
                f"{n} {o}" for n, o in zip(counts(result), OUTCOMES, strict=True)
            )
        )
        report.results[column] = result
    report.seconds = time.monotonic() - start
    return report


# -- output --------------------------------------------------------------------

OUTCOMES = ("passed", "failed", "error", "skipped")


def counts(result: Result | None) -> list[int]:
    return [result.count(o) if result else 0 for o in OUTCOMES]


LABEL = 36  # width of the first column


def label(report: Report) -> str:
    if report.name == "flask":
        return f"Flask's own tests {report.ext.version}"
    tests = f" (tests of {report.ext.tests_from})" if report.ext.tests_from else ""
    return f"{report.name} {report.ext.version}{tests}"


def print_table(reports: list[Report]) -> None:
    head = "pass fail  err skip"
    flask, switch = f"Flask {FLASK_VERSION}", f"switch ({SWITCH}=1)"
    print(f"{'extension':<{LABEL}} | {flask:^19} | {'switch':^19} |")
    print(f"{'':<{LABEL}} | {head} | {head} | note")
    totals = {c: [0, 0, 0, 0] for c in COLUMNS}
    extensions = [r for r in reports if r.name != "flask"]
    for report in extensions:
        for column in COLUMNS:
            row = counts(report.results.get(column))
            totals[column] = [a + b for a, b in zip(totals[column], row, strict=True)]
        print_row(label(report), report)
    if extensions:
        cells = [" ".join(f"{n:>4}" for n in totals[c]) for c in COLUMNS]
        print(f"{'total':<{LABEL}} | {cells[0]} | {cells[1]} |")
    for report in reports:
        if report.name == "flask":
            print_row(label(report), report)
    print(f"{flask}: the real Flask; {switch}: flask is gateway")


def print_row(text: str, report: Report) -> None:
    cells = [
        " ".join(f"{n:>4}" for n in counts(report.results.get(c))) for c in COLUMNS
    ]
    print(f"{text:<{LABEL}} | {cells[0]} | {cells[1]} | {row_note(report)}")


def row_note(report: Report) -> str:
    notes = [report.note] if report.note else []
    for column in COLUMNS:
        result = report.results.get(column)
        if result and result.note:
            notes.append(f"{column}: {result.note}")
        if result and result.probe:
            notes.append(f"{column}: {result.probe}")
    if report.switch and report.switch != "on":
        notes.append(f"switch {report.switch}")
    if report.seconds:
        notes.append(f"{report.seconds:.0f}s")
    if report.results and not report.ok():
        notes.insert(0, "FEWER PASS" if report.lost() else "NOT VERIFIED")
    return "; ".join(notes)


def print_differences(reports: list[Report]) -> None:
    lines = []
    for report in reports:
        if not report.results:
            continue
        flask, switch = (report.results[c].outcomes for c in COLUMNS)
        known = KNOWN_DIFFERENCES.get(report.name, {})
        for test in sorted(set(flask) | set(switch)):
            before, after = flask.get(test, "absent"), switch.get(test, "absent")
            if before != after:
                lines.append(f"  {report.name}: {test}: {before} -> {after}")
                if test in known:
                    lines.append(f"      known: {known[test]}")
    print()
    if lines:
        print("Tests whose outcome differs (Flask -> switch):")
        print("\n".join(lines))
    else:
        print("No test's outcome differs between the two columns.")
    probes = [r for r in reports if r.results]
    if probes and not any(res.probe for r in probes for res in r.results.values()):
        print(
            "Every switch run imported flask as gateway and loaded no file of"
            " the real Flask; every Flask run used the real Flask."
        )


# -- command line --------------------------------------------------------------


def add_common_options(parser: argparse.ArgumentParser, kind: str, cached: str) -> None:
    """--only, --release, --gateway, --cache and --keep, shared with
    scripts/app_suites.py; ``kind`` names what the table lists."""
    here = Path(__file__).resolve().parent.parent
    parser.add_argument(
        "--only",
        metavar="NAME[,NAME]",
        help=f"run only these {kind}s (names as listed below)",
    )
    parser.add_argument(
        "--release",
        action="append",
        default=[],
        metavar="NAME==VER",
        help=f"test another release of an {kind} (repeatable)",
    )
    parser.add_argument(
        "--gateway",
        type=Path,
        default=here,
        metavar="PATH",
        help="gateway checkout installed (editable) into the venvs "
        "(default: the checkout this script is in)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        metavar="DIR",
        help=f"where {cached} go; kept and reused between runs "
        "(default: a temporary directory, removed at the end unless --keep)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary work directory (logs, junit XML, venvs)",
    )


T = t.TypeVar("T")


def choose(
    table: dict[str, T], args: argparse.Namespace, fixed: str = ""
) -> dict[str, T]:
    """The entries of ``table`` that --only and --release ask for; ``fixed``
    names an entry whose release cannot change."""
    chosen = dict(table)
    for spec in args.release:
        name, _, version = spec.partition("==")
        key = name.lower()
        if key not in chosen or not version:
            raise UsageError(f"--release {spec}: expected NAME==VER, NAME one of ours")
        if key == fixed:
            raise UsageError(f"--release {spec}: {fixed} stays at {FLASK_VERSION}")
        chosen[key] = dataclasses.replace(chosen[key], version=version)
    if args.only:
        names = [n.strip().lower() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in chosen]
        if unknown:
            raise UsageError(f"--only: unknown {', '.join(unknown)}")
        chosen = {n: chosen[n] for n in names}
    return chosen


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/extension-suites",
        description=(
            "Run Flask extensions' own test suites (from their PyPI sdists), "
            f"and Flask {FLASK_VERSION}'s own, on the real Flask and with "
            f"{SWITCH}=1 (gateway's Flask compatibility switch), and compare. "
            "Exits 0 when every test that passes on Flask passes with the "
            "switch too (but the known, deliberate differences), 1 otherwise."
        ),
        epilog="Extensions: "
        + ", ".join(f"{n} {e.version}" for n, e in EXTENSIONS.items()),
    )
    add_common_options(parser, "extension", "sdists, venvs and logs")
    return parser.parse_args(argv)


def selected(args: argparse.Namespace) -> dict[str, Extension]:
    return choose(EXTENSIONS, args, fixed="flask")


class UsageError(Exception):
    """A bad option value; exit status 2."""


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        return compare(args)
    except UsageError as exc:
        print(f"scripts/extension-suites: {exc}", file=sys.stderr)
        return 2


def compare(args: argparse.Namespace) -> int:
    """Measure the chosen extensions, print the tables; the exit status."""
    extensions = selected(args)
    gateway = args.gateway.resolve()
    if not (gateway / "pyproject.toml").exists():
        raise UsageError(f"--gateway {gateway}: not a gateway checkout")
    cache = args.cache or Path(tempfile.mkdtemp(prefix="extension-suites-"))
    cache = cache.resolve()
    reports = [measure(n, e, cache, gateway) for n, e in extensions.items()]
    print(f"gateway: {gateway}   work: {cache}")
    print_table(reports)
    print_differences(reports)
    if args.cache is None and not args.keep:
        shutil.rmtree(cache, ignore_errors=True)
    return 0 if all(report.ok() for report in reports) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
