"""Run real-world Flask applications' own test suites on Flask and on gateway.

scripts/extension-suites does this for Flask extensions; this script does it
for whole applications, which use many extensions at once and ship their
tests inside their package:

1. make one virtual environment per application, installing the
   application from PyPI at run time (``pip install NAME==VERSION``: nothing
   of it is copied into this repository) with the real Flask, the packages
   its tests need and gateway (editable, from ``--gateway``);
2. run the application's own test suite twice in that environment
   (``python -m pytest --pyargs PACKAGE.tests`` from an empty directory),
   once as is (real Flask) and once with ``GATEWAY_FLASK_COMPAT=1``; only
   the variable differs;
3. print passed / failed / errors / skipped for both columns side by side,
   and the tests whose outcome differs.

Exit status: 0 when, for every application, every test that passes on Flask
passes with the switch too; 1 otherwise (an application whose install failed
counts as such); 2 on a bad option.

What an application needs beyond its own metadata (its test requirements,
tests that cannot pass on this machine) lives in the ``APPLICATIONS`` table.
tests/compat/test_real_app.py builds its environment with :func:`make_venv`.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The machinery shared with scripts/extension_suites.py (same directory).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from extension_suites import (  # noqa: E402
    COLUMNS,
    FLASK_VERSION,
    OUTCOMES,
    SWITCH,
    TIMEOUT,
    Result,
    UsageError,
    add_common_options,
    choose,
    counts,
    deselect_option,
    read_junit,
    run,
    switch_active,
)


@dataclasses.dataclass(frozen=True)
class Application:
    """What it takes to run one application's own test suite."""

    dist: str  # the name on PyPI
    version: str
    tests: str  # the package holding its tests, run with pytest --pyargs
    pytest: str  # the pytest its developers run
    deps: tuple[str, ...] = ()  # test requirements besides pytest
    deselect: tuple[str, ...] = ()  # node ids (relative to the tests package)
    # Source of a pytest plug-in loaded by both runs (-p), for what this
    # machine lacks; written into the run's working directory.
    plugin: str = ""


#: The module name the plug-in is written and loaded as.
PLUGIN_MODULE = "app_suites_plugin"

# email_validator checks by default that an address's domain resolves (DNS);
# without a resolver every address is "undeliverable".
NO_DNS_PLUGIN = '''"""Written by scripts/app_suites.py: no DNS resolver here."""
import email_validator

email_validator.CHECK_DELIVERABILITY = False
'''


# One entry per application; every choice carries its reason.
APPLICATIONS: dict[str, Application] = {
    "ihatemoney": Application(
        # A shared budget manager: Flask-SQLAlchemy, Flask-Migrate,
        # Flask-WTF, Flask-Babel, Flask-Cors, Flask-Limiter, Flask-Mail,
        # Flask-Talisman, Flask-RESTful and SQLAlchemy-Continuum; its wheel
        # ships ihatemoney/tests.
        "ihatemoney",
        "7.2.1",
        tests="ihatemoney.tests",
        # The "dev" extra: pytest~=9.0.2 and pytest-flask~=1.3.0, whose
        # autouse fixture pushes a request context around every test (without
        # it 80 tests fail on Flask too). The rest of "dev" is linters and
        # release tools.
        pytest="pytest~=9.0.2",
        deps=("pytest-flask~=1.3.0",),
        # Its invitation form checks addresses with email_validator, which
        # looks their domain (notmyidea.org) up in the DNS: without a
        # resolver three tests (TestBudget.test_invite, test_notifications,
        # TestEmailFailure.test_invitation_email_failure) fail on Flask too.
        plugin=NO_DNS_PLUGIN,
    ),
}


def say(message: str) -> None:
    print(f"app-suites: {message}", file=sys.stderr, flush=True)


# -- environments ----------------------------------------------------------------


def gateway_fingerprint(gateway: Path) -> str:
    """What decides a gateway install: the checkout and its packaging files
    (the code itself is editable, so it needs no new install)."""
    digest = hashlib.sha256(str(gateway).encode())
    for name in ("pyproject.toml", "setup.py", "_gateway_flask_compat.py"):
        path = gateway / name
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()[:16]


def make_venv(
    app: Application, venv: Path, gateway: Path, log: Path, timeout: float = TIMEOUT
) -> Path:
    """Create (or reuse) a venv holding the application, its test
    requirements, Flask and gateway (editable); return its python.

    A venv built for the same application and requirements is reused; when
    only the gateway checkout (or its packaging files) changed, only gateway
    is installed again. Each pip run is killed after ``timeout`` seconds
    (:class:`subprocess.TimeoutExpired`); a failed one raises RuntimeError,
    its output in ``log``.
    """
    python = venv / "bin" / "python"
    requirements = [
        f"{app.dist}=={app.version}",
        f"flask=={FLASK_VERSION}",
        app.pytest,
        *app.deps,
    ]
    app_stamp = venv / "app-suites.stamp"
    gateway_stamp = venv / "app-suites.gateway"
    wanted = "\n".join(requirements)
    gateway_wanted = f"{gateway}\n{gateway_fingerprint(gateway)}"
    log.parent.mkdir(parents=True, exist_ok=True)
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    pip += ["--disable-pip-version-check"]
    if not (python.exists() and read_stamp(app_stamp) == wanted):
        shutil.rmtree(venv, ignore_errors=True)
        run([sys.executable, "-m", "venv", str(venv)], log, timeout=timeout)
        run([*pip, *requirements], log, timeout=timeout)
        app_stamp.write_text(wanted)
    if read_stamp(gateway_stamp) != gateway_wanted:
        gateway_stamp.unlink(missing_ok=True)
        # gateway last, editable: it writes gateway-flask-compat.pth into the
        # venv.
        run([*pip, "-e", str(gateway)], log, timeout=timeout)
        # gateway's own requirements must not have moved Flask off the pin.
        run([*pip, f"flask=={FLASK_VERSION}"], log, timeout=timeout)
        gateway_stamp.write_text(gateway_wanted)
    return python


def read_stamp(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def child_env(python: Path, switch: bool) -> dict[str, str]:
    """The environment without Flask's or gateway's variables; the venv's
    scripts first on PATH; ``GATEWAY_FLASK_COMPAT=1`` if ``switch``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "GATEWAY_"))
    }
    if switch:
        env[SWITCH] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(python.parent.parent)
    return env


def suite_command(app: Application, python: Path, junit: Path | None = None):
    """The pytest command line running the application's own suite, in a
    directory prepared by :func:`prepare_cwd`."""
    cmd = [str(python), "-m", "pytest", "--pyargs", app.tests, "-q", "-rA"]
    cmd += ["-p", "no:cacheprovider"]
    if app.plugin:
        cmd += ["-p", PLUGIN_MODULE]
    if junit is not None:
        cmd += [f"--junitxml={junit}", "-o", "junit_family=xunit1"]
    return cmd + [deselect_option(node) for node in app.deselect]


def prepare_cwd(app: Application, cwd: Path) -> Path:
    """Make ``cwd`` afresh: empty but for the application's plug-in
    (``python -m pytest`` puts the working directory on ``sys.path``)."""
    shutil.rmtree(cwd, ignore_errors=True)
    cwd.mkdir(parents=True)
    if app.plugin:
        (cwd / f"{PLUGIN_MODULE}.py").write_text(app.plugin)
    return cwd


# -- one application -------------------------------------------------------------


def run_suite(app: Application, python: Path, work: Path, column: str) -> Result:
    """One pytest run of the application's suite; the switch on for "switch".

    It runs in a fresh empty directory, so files the tests write in the
    working directory never reach the next run.
    """
    xml = work / f"{column}.xml"
    xml.unlink(missing_ok=True)
    cwd = prepare_cwd(app, work / f"cwd-{column}")
    log = work / f"{column}.log"
    note = ""
    with log.open("w") as out:
        try:
            subprocess.run(
                suite_command(app, python, xml),
                cwd=cwd,
                env=child_env(python, column == "switch"),
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            note = f"timed out after {TIMEOUT}s"
    result = read_junit(xml) if xml.exists() else Result(note="no junit report")
    result.note = note or result.note
    return result


@dataclasses.dataclass
class Report:
    name: str
    app: Application
    results: dict[str, Result] = dataclasses.field(default_factory=dict)
    note: str = ""
    switch: str = ""
    seconds: float = 0.0

    def lost(self) -> list[str]:
        """The tests that pass on Flask and not with the switch."""
        flask, switch = (self.results[c].outcomes for c in COLUMNS)
        return [t for t, o in flask.items() if o == "passed" and switch.get(t) != o]

    def ok(self) -> bool:
        return bool(self.results) and not self.lost()


def measure(name: str, app: Application, cache: Path, gateway: Path) -> Report:
    report = Report(name, app)
    start = time.monotonic()
    work = cache / f"{app.dist.lower()}-{app.version}"
    work.mkdir(parents=True, exist_ok=True)
    try:
        say(f"{name} {app.version}: environment (Flask {FLASK_VERSION}, gateway")
        say(f"  from {gateway}; log: {work / 'setup.log'})")
        python = make_venv(app, work / "venv", gateway, work / "setup.log")
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        report.note = f"setup failed: {exc}"
        return report
    report.switch = switch_active(python)
    for column in COLUMNS:
        say(f"{name}: tests, {column} (log: {work / column}.log)")
        result = run_suite(app, python, work, column)
        say(
            f"{name}: {column}: "
            + ", ".join(
                f"{n} {o}" for n, o in zip(counts(result), OUTCOMES, strict=True)
            )
        )
        report.results[column] = result
    report.seconds = time.monotonic() - start
    return report


# -- output ----------------------------------------------------------------------


def print_table(reports: list[Report]) -> None:
    head = "pass fail  err skip"
    flask, switch = f"Flask {FLASK_VERSION}", f"switch ({SWITCH}=1)"
    print(f"{'application':<24} | {flask:^19} | {'switch':^19} |")
    print(f"{'':<24} | {head} | {head} | note")
    for report in reports:
        cells = [
            " ".join(f"{n:>4}" for n in counts(report.results.get(column)))
            for column in COLUMNS
        ]
        label = f"{report.name} {report.app.version}"
        print(f"{label:<24} | {cells[0]} | {cells[1]} | {row_note(report)}")
    print(f"{flask}: the real Flask; {switch}: flask is gateway")


def row_note(report: Report) -> str:
    notes = [report.note] if report.note else []
    for column in COLUMNS:
        result = report.results.get(column)
        if result and result.note:
            notes.append(f"{column}: {result.note}")
    if report.switch and report.switch != "on":
        notes.append(f"switch {report.switch}")
    if report.app.deselect:
        notes.append(f"{len(report.app.deselect)} deselected")
    if report.app.plugin:
        notes.append(f"-p {PLUGIN_MODULE}")
    if report.seconds:
        notes.append(f"{report.seconds:.0f}s")
    if report.results and not report.ok():
        notes.insert(0, f"{len(report.lost())} PASS ONLY ON FLASK")
    return "; ".join(notes)


def print_differences(reports: list[Report]) -> None:
    lines = []
    for report in reports:
        if not report.results:
            continue
        flask, switch = (report.results[c].outcomes for c in COLUMNS)
        for test in sorted(set(flask) | set(switch)):
            before, after = flask.get(test, "absent"), switch.get(test, "absent")
            if before != after:
                lines.append(f"  {report.name}: {test}: {before} -> {after}")
    print()
    if lines:
        print("Tests whose outcome differs (Flask -> switch):")
        print("\n".join(lines))
    else:
        print("No test's outcome differs between the two columns.")


# -- command line ----------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/app-suites",
        description=(
            "Run real-world Flask applications' own test suites (installed "
            f"from PyPI) on the real Flask {FLASK_VERSION} and with {SWITCH}=1 "
            "(gateway's Flask compatibility switch), and compare. Exits 0 when "
            "every test that passes on Flask passes with the switch too, 1 "
            "otherwise."
        ),
        epilog="Applications: "
        + ", ".join(f"{n} {a.version}" for n, a in APPLICATIONS.items()),
    )
    add_common_options(parser, "application", "venvs and logs")
    return parser.parse_args(argv)


def selected(args: argparse.Namespace) -> dict[str, Application]:
    return choose(APPLICATIONS, args)


def compare(args: argparse.Namespace) -> int:
    """Measure the chosen applications, print the tables; the exit status."""
    applications = selected(args)
    gateway = args.gateway.resolve()
    if not (gateway / "pyproject.toml").exists():
        raise UsageError(f"--gateway {gateway}: not a gateway checkout")
    cache = args.cache or Path(tempfile.mkdtemp(prefix="app-suites-"))
    cache = cache.resolve()
    reports = [measure(n, a, cache, gateway) for n, a in applications.items()]
    print(f"gateway: {gateway}   work: {cache}")
    print_table(reports)
    print_differences(reports)
    if args.cache is None and not args.keep:
        shutil.rmtree(cache, ignore_errors=True)
    return 0 if all(report.ok() for report in reports) else 1


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        return compare(args)
    except UsageError as exc:
        print(f"scripts/app-suites: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
