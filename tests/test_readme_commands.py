"""Every command the README prints works as printed, from the repository root (issue 15, point 4).

Which text is a command
    Each line of a fenced code block (blocks marked yaml, toml, json or python are file contents
    and are skipped), each line of an indented code block, and each inline code span, when a
    shell command in it starts with a program that brainstar ships or tells users to run:
    ``brainstar``, ``dagster``, ``dagster-webserver``, ``dagster-daemon``, ``make``,
    ``python -m benchmarks[.name]``, ``celery``, ``mlflow``, ``pip``, ``pytest``, ``curl``
    (each also as ``.venv/bin/<program>``) or ``.ci/run``. The program may follow ``VAR=value``
    assignments, ``&&``, ``||``, ``;``, ``|`` or ``$(``, so ``eval "$(brainstar env export)"`` and
    ``RUN=$(brainstar trigger ...)`` count. A program named alone (``make``, ``brainstar``) is its
    name in prose, not a command; a path (``.ci/run``) named alone is a command. Trailing
    ``# comments`` are dropped and whitespace (a span broken over two lines) is collapsed. A
    command that appears twice is checked once, where it first appears.

How each is checked
    * A synopsis (an optional ``[--flag]`` or an upper-case placeholder: DIR, N, RUN_ID) cannot
      run as printed: ``<its command> --help`` must exit 0 and name every option it shows.
    * A server (``make dev``, ``brainstar serve``, ``dagster api grpc``) is started, probed until
      it answers and stopped; ``make dev`` must also have loaded the code location, and stays up
      for the commands that talk to a webserver (``brainstar trigger``, ``brainstar watch``).
    * Any other command runs in ``bash -c`` as printed and must exit 0.
    Commands run in README order, because later ones rely on earlier ones (``brainstar new
    pipeline hello`` before ``hello_job``).

Where
    A copy of the checkout in a temporary folder: every top-level entry linked except the state
    a run leaves (``data``, ``.dagster_home``); ``pipelines/`` is copied because ``brainstar new
    pipeline`` writes there (BRAINSTAR_PIPELINES_DIR names the copy: the editable install would
    resolve the default to the real checkout). The venv is shared by every process on the
    machine, so nothing here may install into it: the copy's venv has every install stamp the
    Makefile names, fresh, so no ``make`` target installs (``_link_venv``), and a ``pip install``
    fails unless it is exempt. No BRAINSTAR_* variable or DAGSTER_HOME is set, so the defaults
    land in the copy as on a fresh clone; only PORT (``make dev``'s port) and BRAINSTAR_UI_URL
    name a free port instead of 3000. The README's premise, a finished ``make run``, is replaced
    by its cheapest part that the commands read: the neuro demo landing zone with its sessions
    registered.

Exempt
    Only through ``EXEMPT`` below, each entry with its reason; an entry whose command is no longer
    in the README fails ``test_exemptions_name_commands_the_readme_prints``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from brainstar.cli.local_dagster import background_process, free_port, wait_for_http
from tests.conftest import REPO_ROOT, VENV_BIN

README = REPO_ROOT / "README.md"

PROGRAMS = (
    r"brainstar",
    r"dagster",
    r"dagster-webserver",
    r"dagster-daemon",
    r"make",
    r"python -m benchmarks(?:\.\w+)?",
    r"celery",
    r"mlflow",
    r"pip",
    r"pytest",
    r"curl",
    r"\.ci/run",
)
_COMMAND_START = re.compile(
    r"(?:^|&&|\|\||[;|]|\$\()\s*(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*"
    rf"((?:\.venv/bin/)?(?:{'|'.join(PROGRAMS)}))(?=[\s)]|$)"
)
FILE_CONTENT_BLOCKS = {"yaml", "yml", "toml", "json", "python"}

# Normalised command text -> why it is not run here.
BENCH_EXTRA = "installs the bench extra (NEST, lightkurve) into the venv first"
EXEMPT: dict[str, str] = {
    "make run": "materializes every domain (about four minutes, most of it the astro demo); "
    "tests/test_cli.py runs its body, `brainstar run`, on a fresh landing zone (fixture demo_run)",
    "brainstar run --verbose": "`make run`'s body with more output: as long as `make run`",
    "make install GPU=1": "installs the CUDA build of torch and numba-cuda (GBs from PyPI) into the "
    "venv; for machines with an NVIDIA GPU (the device checks run on one)",
    "make test": "the whole suite, this test included",
    "make test-fast": "the suite without the slow tests: what plain pytest runs",
    "make lint": "CI's own step (.ci/run); it judges the checkout's files, not a command",
    ".ci/run": "CI itself: starts PostgreSQL and Redis, installs from nothing, runs the whole suite",
    "make bench": f"{BENCH_EXTRA}, then runs every benchmark: tens of minutes",
    "make bench BENCH=neuro_pipeline": f"{BENCH_EXTRA}; the realistic 96x96x60 session takes ~8 min",
    "make bench BENCH=startup": f"{BENCH_EXTRA}; medians over repeated webserver and daemon start-ups",
    "make bench BENCH=one_step_run": f"{BENCH_EXTRA}; three runs through a webserver and daemon",
    "make bench BENCH=serve_photometry": f"{BENCH_EXTRA}; needs trained, promoted astro models",
    "make bench BENCH=operations_queue": f"{BENCH_EXTRA}; 1,000 queued runs (about 50 min)",
    "python -m benchmarks cortex_engine": "needs NEST, which only the bench extra installs",
    "python -m benchmarks astro_lightcurves": "needs lightkurve, which only the bench extra installs",
    "python -m benchmarks astro_quality": "trains the three astro models on a demo twice the default size",
    "python -m benchmarks astro_training": "trains the three astro models on the demo: minutes",
    "python -m benchmarks cortex_digits": "trains three columns on 1,297 digits each: minutes",
    "python -m benchmarks cortex_gpu": "needs NEST (the bench extra) and a CUDA device; on a CPU "
    "its N_scaling 0.5 and 1.0 columns run for many minutes",
    "python -m benchmarks.cortex_gpu --scales 0.1 --engines numba,cuda --t-sim 200 --warmup 100 "
    "--no-nest": "the cuda engine needs a CUDA device and the gpu extra (`make install GPU=1`)",
    "brainstar cortex simulate --engine cuda": "needs a CUDA device and the gpu extra; the numba "
    "engine's forms of the command are run",
    "pip install -e '.[bench]'": "installs packages from the network into the shared venv",
    "pip install -e '.[celery]'": "installs packages from the network (make install has the extra already)",
    "mlflow ui --backend-store-uri sqlite:///data/warehouse/mlflow.db": "needs the full mlflow "
    "package, which the README says to install in another environment (brainstar has mlflow-skinny)",
    "celery -A platform_assets.operations.celery_app worker -Q heavy --concurrency 1 -n heavy@%h": (
        "needs a Redis broker; tests/operations/test_celery.py starts workers against one"
    ),
    "brainstar trigger": "the command's name in prose; its full forms are run",
    "dagster asset materialize": "the command's name in prose; its full form is run",
    "dagster dev": 'named after `eval "$(BRAINSTAR_ENV=staging brainstar env export)"`, whose '
    "profile (a PostgreSQL instance) it runs under; `make dev` is the local form and is run",
    "brainstar trigger --job brainstar_workflow --config run.yaml --tag owner=me": "run.yaml is "
    "the user's run configuration (the repository has none), and the workflow trains the column "
    "and the astro models: many minutes",
}


@dataclass(frozen=True)
class ReadmeCommand:
    text: str
    line: int

    def __str__(self) -> str:
        return f"README.md:{self.line}: {self.text}"


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"\s#\s.*$", "", text.strip()).split())


def _is_command(text: str) -> bool:
    match = _COMMAND_START.search(text)
    if match is None:
        return False
    named_alone = text == match.group(1)
    return not named_alone or "/" in text


def readme_commands(markdown: str | None = None) -> list[ReadmeCommand]:
    """The README's commands by the rule in the module docstring, first occurrence of each."""
    lines = (markdown if markdown is not None else README.read_text()).splitlines()
    found: dict[str, ReadmeCommand] = {}

    def consider(text: str, line: int) -> None:
        text = _normalise(text)
        if text and text not in found and _is_command(text):
            found[text] = ReadmeCommand(text, line)

    fence: str | None = None
    paragraph: list[tuple[int, str]] = []

    def flush_paragraph() -> None:
        joined = "\n".join(text for _, text in paragraph)
        for span in re.finditer(r"`([^`]+)`", joined):
            consider(span.group(1), paragraph[0][0] + joined.count("\n", 0, span.start()))
        paragraph.clear()

    previous_blank_or_code = True
    for number, line in enumerate(lines, start=1):
        if line.startswith("```"):
            flush_paragraph()
            fence = None if fence is not None else line[3:].strip().lower() or "text"
            previous_blank_or_code = False
        elif fence is not None:
            if fence not in FILE_CONTENT_BLOCKS:
                consider(line, number)
        elif line.startswith("    ") and previous_blank_or_code and line.strip():
            flush_paragraph()
            consider(line, number)
        elif not line.strip():
            flush_paragraph()
            previous_blank_or_code = True
        else:
            paragraph.append((number, line))
            previous_blank_or_code = False
    flush_paragraph()
    return list(found.values())


# ---------------------------------------------------------------------------------------------
# How a command is checked


def is_synopsis(text: str) -> bool:
    placeholder = any(re.fullmatch(r"[A-Z][A-Z0-9_]*", word) for word in text.split())
    return placeholder or re.search(r"(?:^|\s)\[", text) is not None


def synopsis_help(text: str) -> tuple[str, list[str]]:
    """(the command before its first long option, ``[`` or placeholder, + ``--help``; the options
    it names)."""
    words: list[str] = []
    for word in text.split():
        if word.startswith(("[", "--")) or re.fullmatch(r"[A-Z][A-Z0-9_]*", word):
            break
        words.append(word)
    return " ".join([*words, "--help"]), re.findall(r"--[a-z][a-z0-9-]*", text)


# pip run here would change the shared venv; make's installs are stopped by the copy's stamps.
_INSTALLS = re.compile(r"(?:^|[\s;&|(])(?:\.venv/bin/)?(?:python -m )?pip3? install\b")

WEBSERVER_CLIENTS = ("brainstar trigger", "brainstar watch")

LOCATION_QUERY = """
{ workspaceOrError { __typename ... on Workspace { locationEntries {
    name locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


@dataclass
class Checkout:
    """The copy of the checkout the commands run in, its environment and the servers it holds."""

    root: Path
    env: dict[str, str]
    port: int
    logs: Path
    servers: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    webserver_url: str | None = None

    def run(self, text: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", text],
            cwd=self.root,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def serve(
        self, text: str, ready: Callable[[subprocess.Popen[bytes], Path], None], keep: bool = False
    ) -> None:
        """Start ``text`` and wait until ``ready`` passes; stop it then, or at ``close`` if ``keep``."""
        log = self.logs / f"server-{len(list(self.logs.iterdir()))}.log"
        server = background_process(["bash", "-c", text], env=self.env, cwd=self.root, log_path=log)
        if keep:
            ready(self.servers.enter_context(server), log)
            return
        with server as process:
            ready(process, log)

    def webserver(self) -> str:
        """`make dev` as printed (on PORT), started once; its URL once the code location loaded."""
        if self.webserver_url is None:
            url = f"http://127.0.0.1:{self.port}"

            def ready(process: subprocess.Popen[bytes], log: Path) -> None:
                wait_for_http(f"{url}/server_info", process, log, timeout=240)
                assert_location_loaded(url)

            self.serve("make dev", ready, keep=True)
            self.webserver_url = url
        return self.webserver_url

    def close(self) -> None:
        self.servers.close()


def assert_location_loaded(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        reply = requests.post(f"{url}/graphql", json={"query": LOCATION_QUERY}, timeout=60)
        entries = reply.json()["data"]["workspaceOrError"]["locationEntries"]
        states = {entry["name"]: entry["locationOrLoadError"] for entry in entries}
        errors = {name: s["message"] for name, s in states.items() if s and s["__typename"] == "PythonError"}
        assert not errors, f"code location failed to load: {errors}"
        if entries and all(states.values()):
            return
        assert time.monotonic() < deadline, f"code locations still loading after {timeout:.0f} s: {states}"
        time.sleep(1)


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
            return
        time.sleep(0.5)
    raise TimeoutError(f"nothing listened on port {port} within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def _option(text: str, names: tuple[str, ...], default: int) -> int:
    words = text.split()
    for index, word in enumerate(words[:-1]):
        if word in names:
            return int(words[index + 1])
    return default


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def check_brainstar_serve(checkout: Checkout, text: str) -> None:
    port = _option(text, ("--port",), 8000)
    assert _port_is_free(port), f"port {port} is taken by another process: cannot run it as printed"

    def ready(process: subprocess.Popen[bytes], log: Path) -> None:
        wait_for_http(f"http://127.0.0.1:{port}/health", process, log, timeout=180)

    checkout.serve(text, ready)


def check_code_server(checkout: Checkout, text: str) -> None:
    port = _option(text, ("-p", "--port"), 4000)
    assert _port_is_free(port), f"port {port} is taken by another process: cannot run it as printed"

    def ready(process: subprocess.Popen[bytes], log: Path) -> None:
        wait_for_port(port, process, log)
        health = checkout.run(f"dagster api grpc-health-check -p {port}", timeout=60)
        assert health.returncode == 0, health.stdout + health.stderr

    checkout.serve(text, ready)


SERVERS: dict[str, Callable[[Checkout, str], None]] = {
    "make dev": lambda checkout, _text: checkout.webserver(),
    "brainstar serve": check_brainstar_serve,
    "dagster api grpc": check_code_server,
}


def check_command(checkout: Checkout, command: ReadmeCommand) -> None:
    """Run ``command`` by the rules in the module docstring; raise AssertionError saying why not."""
    text = command.text
    assert not _INSTALLS.search(text), "installs into the venv every process here shares: exempt it"
    if is_synopsis(text):
        help_command, options = synopsis_help(text)
        result = checkout.run(help_command, timeout=120)
        assert result.returncode == 0, f"`{help_command}` exited {result.returncode}: {result.stderr[-2000:]}"
        missing = [option for option in options if option not in result.stdout]
        assert not missing, f"`{help_command}` does not name {missing}"
        return
    server = next((check for prefix, check in SERVERS.items() if text.startswith(prefix)), None)
    if server is not None:
        server(checkout, text)
        return
    if any(client in text for client in WEBSERVER_CLIENTS):
        checkout.webserver()
    result = checkout.run(text)
    assert result.returncode == 0, (
        f"exited {result.returncode}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    )


# ---------------------------------------------------------------------------------------------
# The copy of the checkout, in the state the commands need

STATE_ENTRIES = {".dagster_home", "data", "test-artifacts", "mlruns", "mlflow.db", "rates.json"}
# What make compares with the install stamps: copied, so that an edit in the checkout during the
# test cannot make a target in the copy reinstall.
INSTALL_INPUTS = {"pyproject.toml", "constraints.txt"}


def install_stamps() -> set[str]:
    """Every install stamp the Makefile names (``STAMP := $(VENV)/.brainstar-installed``, the
    extras' ``GPU_STAMP``, ``BENCH_STAMP`` ...)."""
    makefile = (REPO_ROOT / "Makefile").read_text()
    return set(re.findall(r"^\w*STAMP\s*:=\s*\$\(VENV\)/(\S+)", makefile, re.MULTILINE))


def _link_checkout(root: Path) -> None:
    root.mkdir()
    stamps = install_stamps()
    for entry in REPO_ROOT.iterdir():
        if entry.name in STATE_ENTRIES or entry.name.startswith(".tmp_dagster_home_"):
            continue
        if entry.name == "pipelines":
            shutil.copytree(entry, root / entry.name, ignore=shutil.ignore_patterns("__pycache__"))
        elif entry.name in INSTALL_INPUTS:
            shutil.copy(entry, root / entry.name)
        elif entry.name == ".venv":
            _link_venv(entry, root / entry.name, stamps)
        else:
            (root / entry.name).symlink_to(entry)
    # The copied inputs a minute old, every stamp new: make finds every install done.
    past = time.time() - 60
    for name in INSTALL_INPUTS:
        os.utime(root / name, (past, past))
    for stamp in stamps:
        (root / ".venv" / stamp).touch()


def _link_venv(venv: Path, copy: Path, stamps: set[str]) -> None:
    """The venv's contents linked, without its install stamps: the copy gets its own, all of them,
    so that no `make` target run in the copy installs anything. pip would change the venv that
    every process here shares (``make install GPU=1`` swaps in the CUDA build of torch) and write
    the copy's temporary path into its console scripts."""
    copy.mkdir()
    for entry in venv.iterdir():
        if entry.name not in stamps:
            (copy / entry.name).symlink_to(entry)


def _fresh_shell_environment(root: Path, port: int) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("BRAINSTAR_", "DAGSTER_")) and key not in {"PORT", "HOST", "MAKEFLAGS"}
    }
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        PWD=str(root),
        PORT=str(port),
        BRAINSTAR_UI_URL=f"http://127.0.0.1:{port}",
        BRAINSTAR_PIPELINES_DIR=str(root / "pipelines"),
    )
    return env


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Checkout]:
    base = tmp_path_factory.mktemp("readme")
    root = base / "brainstar"
    _link_checkout(root)
    logs = base / "logs"
    logs.mkdir()
    port = free_port()
    checkout = Checkout(root, _fresh_shell_environment(root, port), port, logs)
    installed = checkout.run("make -q install", timeout=60)
    assert installed.returncode == 0, "make would reinstall in the copy: see _link_venv"
    for step in (".venv/bin/brainstar demo-data --domain neuro", ".venv/bin/brainstar sessions register"):
        result = checkout.run(step, timeout=300)
        assert result.returncode == 0, f"{step}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    try:
        yield checkout
    finally:
        checkout.close()


# ---------------------------------------------------------------------------------------------
# The tests


def test_the_rule_finds_commands_in_blocks_spans_and_substitutions() -> None:
    markdown = "\n".join(
        [
            "Run `brainstar demo-data --seed 1` or `make` (a name), see `brainstar/core/errors.py`.",
            "A span over two lines: `dagster asset materialize -m x",
            "--select y`, and `.ci/run`.",
            "",
            "```bash",
            "make dev   # the UI",
            'RUN=$(brainstar trigger --select a) && brainstar watch "$RUN"',
            "export X=1",
            "```",
            "",
            "```yaml",
            "brainstar: not a command in a file's contents",
            "```",
            "",
            "    celery -A app worker",
            "",
            'then `eval "$(BRAINSTAR_ENV=prod brainstar env export)"` and `make dev` again.',
        ]
    )
    commands = readme_commands(markdown)
    assert [(c.text, c.line) for c in commands] == [
        ("brainstar demo-data --seed 1", 1),
        ("dagster asset materialize -m x --select y", 2),
        (".ci/run", 3),
        ("make dev", 6),
        ('RUN=$(brainstar trigger --select a) && brainstar watch "$RUN"', 7),
        ("celery -A app worker", 15),
        ('eval "$(BRAINSTAR_ENV=prod brainstar env export)"', 17),
    ]
    assert is_synopsis("brainstar watch RUN_ID") and is_synopsis("brainstar demo-data [--seed N]")
    assert not is_synopsis("make bench BENCH=startup")
    assert synopsis_help("brainstar metrics [--since 24h] [--json]") == (
        "brainstar metrics --help",
        ["--since", "--json"],
    )
    assert synopsis_help("python -m benchmarks.startup --baseline-tree DIR") == (
        "python -m benchmarks.startup --help",
        ["--baseline-tree"],
    )


def test_the_copy_has_every_install_stamp_the_makefile_names() -> None:
    assert {".brainstar-installed", ".brainstar-gpu-installed", ".brainstar-bench-installed"} <= (
        install_stamps()
    )


def test_exemptions_name_commands_the_readme_prints() -> None:
    printed = {command.text for command in readme_commands()}
    stale = sorted(set(EXEMPT) - printed)
    assert not stale, f"EXEMPT names commands the README no longer prints: {stale}"
    assert all(reason.strip() for reason in EXEMPT.values())


@pytest.mark.slow
def test_every_readme_command_works_as_printed(checkout: Checkout) -> None:
    failures: list[str] = []
    timings: list[str] = []
    for command in readme_commands():
        if command.text in EXEMPT:
            continue
        start = time.monotonic()
        try:
            check_command(checkout, command)
        except (AssertionError, RuntimeError, TimeoutError, subprocess.TimeoutExpired) as error:
            failures.append(f"{command}\n    {error}")
        timings.append(f"{time.monotonic() - start:7.1f} s  {command}")
    print("\n".join(timings))
    assert not failures, "README commands that do not work as printed:\n" + "\n".join(failures)
