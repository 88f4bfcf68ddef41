"""The command line and the grid runner, shared by every script.

- Command line: the reference flags plus --jobs, --resume, --retry-failed,
  --overwrite, --scheduler, (convex scripts) --solver and (training forms) --beta, each
  validated before any work with a one-line error naming the flag.
- Seeds: trial t of cell (n, d) draws from default_rng([seed, n, d, t]) alone, so
  results do not depend on worker count, order, machine or engine.
- What is identical where: on one machine, byte for byte (a resumed run against an
  uninterrupted one, --jobs 1 against --jobs 2, Dask against local workers); across
  machines, within the tolerances tests/test_recorded_results.py states, since the math
  libraries round along a path chosen by the CPU.
- One state per run: <run>.state.npz, a snapshot of every metric array and the
  per-trial status codes (done = has a status), and <run>.state.log, one line appended
  per finished unit of work and folded into a new snapshot (one atomic rename) at each
  checkpoint. The reference-named arrays <stem>.npy and their JSON sidecars (which name
  their array's sha256) are derived from it, so no kill can leave arrays that disagree
  with the record of which trials are done without a reader seeing it.
- A rerun never destroys work: the same command over the same run continues it, or
  derives a complete run's files again; only --overwrite discards, saying what.
- Every worker runs the code the run records: the code version is fixed when a process
  imports the suite, every unit of work returns its worker's, and a mismatch stops the
  run with one line.
- Failed trials are results: an exception inside a trial is caught in the worker,
  its metrics are NaN, its status "error: <Type>: <first line>" is counted, and
  the traceback goes to <run>.errors.log. --resume --retry-failed runs them again.
- Grids: n = 10..N by d = 10..D, or any two named axes a script passes (n by
  lambda, d by s); every unit of work runs on one BLAS thread.
- Engines: local worker processes (joblib, --jobs) or a Dask cluster
  (--scheduler, through joblib's Dask backend); the arrays are bit-identical. A lost or
  unreachable scheduler is one line.
"""

import argparse
import asyncio
import base64
import contextlib
import copy
import errno
import functools
import json
import os
import pickle
import platform
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata

import numpy as np
from threadpoolctl import ThreadpoolController

import arrangement

SEED = 97006855
GRID_STEP = 10
OPTX_CHOICES = (0, 1, 2, 3)
OPTW_SKIP = "planted linear neuron: 0 a Gaussian direction, 1 the smallest right singular vector of X"
OPTW_NORM = "planted ReLU neurons: 0 Gaussian directions, 1 e_1, ..., e_k, 2 w_2 = -w_1 (needs --neu 2)"
VERSIONED_PACKAGES = ("numpy", "scipy", "cvxpy", "clarabel", "mosek", "torch", "joblib", "threadpoolctl",
                      "dask", "distributed")
ROOT = os.path.dirname(os.path.abspath(__file__))
# The planted labels have norm about 1. Far above it the training forms' solves fail their
# check (measured: sigma 1e3, 2 of 14; 1e5, 14 of 14), and 1e300 overflows every solve.
SIGMA_MAX = 100.0


# --------------------------------------------------------------------------- command line


class DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """--help shows each flag's default, unless its help already says it ("(default: ...)",
    e.g. a default computed from other flags)."""

    def _get_help_string(self, action):
        if "(default:" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line on stderr, naming the flag, and whose --help
    shows every flag's default."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        sys.exit(f"{self.prog}: error: {message}")


def on_off(text):
    """--save_details accepts no value (on) or true/false/1/0/yes/no; the reference's
    type=bool took any value, "False" included, as True."""
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def add_run_flags(parser, details=True):
    """The flags every grid script shares: --seed, --sample, --save_folder, --jobs,
    --resume, --retry-failed, --scheduler and (details=True) --save_details."""
    parser.add_argument("--seed", type=int, default=SEED,
                        help="the run's seed: trial t of cell (n, d) draws from a generator of (seed, n, d, t)")
    parser.add_argument("--sample", type=int, default=10, help="trials per cell")
    if details:
        parser.add_argument("--save_details", type=on_off, nargs="?", const=True, default=False,
                            help="also pickle every trial's data and solution (details/ subfolder)")
    else:
        parser.set_defaults(save_details=False)
    parser.add_argument("--save_folder", default="./results/", help="where the arrays, sidecars and state go")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (1: serial)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run (a rerun of the same command does so anyway; kept for "
                             "the reference command line)")
    parser.add_argument("--retry-failed", dest="retry_failed", action="store_true",
                        help="with --resume, run again the trials that raised an error")
    parser.add_argument("--overwrite", action="store_true",
                        help="discard the run in --save_folder (saying what it held) and start afresh")
    parser.add_argument("--resume-any-version", dest="resume_any_version", action="store_true",
                        help="with --resume, continue a run made by another version of the code (the sidecar "
                             "then lists each invocation's version and says mixed_versions)")
    parser.add_argument("--scheduler", default=os.environ.get("DASK_SCHEDULER_ADDRESS"),
                        help="run the grid on this Dask scheduler (e.g. tcp://host:8786); "
                             "default $DASK_SCHEDULER_ADDRESS, else local workers (--jobs)")
    parser.add_argument("--scheduler_timeout", type=float, default=10.0,
                        help="seconds to wait for --scheduler to answer before giving up")
    return parser


def make_parser(description, optw_default=1, optw_choices=(0, 1), beta=False, noiseless=False,
                optw_help=OPTW_SKIP, d_help="largest d; grid 10, 20, ..., D"):
    """The reference command line plus the run flags (add_run_flags) and (training
    scripts, convex or not) --beta; the convex scripts add --solver themselves
    (programs.add_solver_flag). noiseless: --sigma is kept for the reference command
    line but must be 0."""
    parser = OneLineParser(description=description)
    parser.add_argument("--n", type=int, default=400, help="largest n; grid 10, 20, ..., N")
    parser.add_argument("--d", type=int, default=100, help=d_help)
    parser.add_argument("--optw", type=int, default=optw_default, help=optw_help)
    parser.add_argument("--optx", type=int, default=0, help="data: 0 Gaussian, 1 cubic, 2 Haar, 3 whitened cubic")
    parser.add_argument("--sigma", type=float, default=0.0,
                        help="label noise; this script is noiseless and takes only 0 (the flag is kept for the "
                             "reference command line) (default: 0)" if noiseless else
                        f"label noise, 0 to {SIGMA_MAX:g}: y gets sigma N(0, I_n) / sqrt(n)")
    add_run_flags(parser)
    if beta:
        parser.add_argument("--beta", type=float, default=1e-6, help="weight decay")
    parser.set_defaults(optw_choices=optw_choices)
    return parser


def make_norm_parser(description, neu_default, beta=False, noiseless=False, patterns=False):
    """The normalisation-layer command line: make_parser plus --neu, optw 0/1/2, and
    (patterns=True, scripts whose program is built over patterns) --patterns."""
    parser = make_parser(description, optw_default=0, optw_choices=(0, 1, 2), beta=beta, noiseless=noiseless,
                         optw_help=OPTW_NORM)
    parser.add_argument("--neu", type=int, default=neu_default, help="planted normalised ReLU neurons k")
    if patterns:
        parser.add_argument("--patterns", choices=arrangement.SETS, default="sampled",
                            help="the program's patterns: sampled, the max(n, 50) random directions' (the "
                                 "authors'); neighbours, those plus every pattern one flip from a planted "
                                 "neuron's; all, the whole arrangement (small instances: at most "
                                 f"{arrangement.ALL_CELLS_LIMIT} cells)")
    return parser


def validate_figure_path(parser, path):
    """--figure must name a PNG file in an existing folder (matplotlib would turn a folder
    such as /tmp into /tmp.png)."""
    if path is None:
        return
    if os.path.isdir(path) or not path.lower().endswith(".png"):
        parser.error(f"--figure must be the path of a .png file; got {path!r}")
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        parser.error(f"--figure: the folder of {path!r} does not exist")


def validate(parser, args, noiseless=False):
    """Check every flag before any work (check_flags), then create --save_folder
    (validate_run); exit with one line naming a bad flag."""
    return validate_run(parser, check_flags(parser, args, noiseless))


def check_flags(parser, args, noiseless=False):
    """Check the reference flags and --beta without touching the disk; exit with one
    line naming a bad flag."""
    for flag in ("n", "d"):
        value = getattr(args, flag)
        if value < GRID_STEP or value % GRID_STEP:
            parser.error(f"--{flag} must be a multiple of {GRID_STEP} and at least {GRID_STEP} "
                         f"(the grid is 10, 20, ..., {flag.upper()}); got {value}")
    if args.optx not in OPTX_CHOICES:
        parser.error(f"--optx must be one of {', '.join(map(str, OPTX_CHOICES))}; got {args.optx}")
    if args.optw not in args.optw_choices:
        parser.error(f"--optw must be one of {', '.join(map(str, args.optw_choices))}; got {args.optw}")
    if getattr(args, "neu", None) is not None:
        if args.neu < 1:
            parser.error(f"--neu must be at least 1; got {args.neu}")
        if args.optw == 2 and args.neu != 2:
            parser.error(f"--optw 2 (w_2 = -w_1) needs --neu 2; got --neu {args.neu}")
        if args.optw == 1 and args.neu > GRID_STEP:
            parser.error(f"--optw 1 (w_j = e_j) needs --neu at most {GRID_STEP}, the smallest d; got {args.neu}")
    if not (0 <= args.sigma <= SIGMA_MAX):
        parser.error(f"--sigma must be a number from 0 to {SIGMA_MAX:g}; got {args.sigma}")
    args.sigma += 0.0  # -0 is 0: one file name, sig0
    if getattr(args, "beta", None) is not None and (not np.isfinite(args.beta) or args.beta < 0):
        parser.error(f"--beta must be a finite number >= 0; got {args.beta}")
    if noiseless and args.sigma != 0:
        parser.error(f"--sigma must be 0 for this noiseless recovery script; got {args.sigma}")
    if getattr(args, "patterns", None) == "all":
        check_all_patterns(parser, args)
    _check_run_flags(parser, args)
    return args  # last: it creates --save_folder


def check_all_patterns(parser, args):
    """--patterns all enumerates every cell of the arrangement: refuse a grid whose largest
    run cell (n >= d) has more than arrangement.ALL_CELLS_LIMIT cells."""
    cells, n, d = max((arrangement.cell_count(n, d), n, d) for n in grid(args.n) for d in grid(args.d) if n >= d)
    if cells > arrangement.ALL_CELLS_LIMIT:
        parser.error(f"--patterns all: the arrangement of n = {n} points in d = {d} has {float(cells):.3g} cells, "
                     f"more than the {arrangement.ALL_CELLS_LIMIT} it enumerates; use --patterns neighbours "
                     f"or a smaller grid")


def study_run_args(args, study_flags, n_values, d, **settings):
    """The namespace of one run inside a study script (transition.py, failure_split.py,
    pattern_sets.py): its flags but the study's own (study_flags), a one-column grid of
    d and the n values, recorded as n (the largest), n_min and n_step so that --resume
    refuses a run of another grid, and the settings the study fixes (e.g. optw=0)."""
    run = copy.copy(args)
    for flag in study_flags:
        delattr(run, flag)
    run.n, run.d, run.n_min = int(n_values[-1]), int(d), int(n_values[0])
    run.n_step = int(n_values[1] - n_values[0]) if len(n_values) > 1 else 1
    for name, value in settings.items():
        setattr(run, name, value)
    return run


def validate_run(parser, args):
    """Check the flags of add_run_flags before any work, and then that --save_folder is
    writable (creating it): call it after every other check, so that a bad flag leaves
    nothing on disk."""
    _check_run_flags(parser, args)
    try:
        os.makedirs(args.save_folder, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=args.save_folder):
            pass
    except OSError as error:
        parser.error(f"--save_folder {args.save_folder!r} is not writable ({error.strerror or error})")
    return args


def unwritable(folder):
    """Why files cannot be written in folder (created if need be), or None; touches nothing."""
    path = os.path.abspath(folder)
    while not os.path.exists(path):
        path = os.path.dirname(path)
    if not os.path.isdir(path):
        return f"{path} is not a folder"
    if not os.access(path, os.W_OK | os.X_OK):
        return f"{path} is not writable"
    return None


def _check_run_flags(parser, args):
    """The flags of add_run_flags, without touching the disk."""
    if args.seed < 0:
        parser.error(f"--seed must be a non-negative integer; got {args.seed}")
    if args.sample < 1:
        parser.error(f"--sample must be at least 1; got {args.sample}")
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1; got {args.jobs}")
    if args.retry_failed and not args.resume:
        parser.error("--retry-failed needs --resume (it retries the failed trials of an earlier run)")
    if not (np.isfinite(args.scheduler_timeout) and args.scheduler_timeout > 0):
        parser.error(f"--scheduler_timeout must be a number of seconds > 0; got {args.scheduler_timeout}")
    if args.scheduler is not None and "://" not in args.scheduler:
        parser.error(f"--scheduler must be a Dask scheduler address such as tcp://127.0.0.1:8786; "
                     f"got {args.scheduler!r}")


def file_stem(prefix, args, with_sigma, n=None, d=None, sample=None):
    """Reference file name, e.g. dis_abs_minnrm_skip_n400_d100_w1_X0_sig0.1_sample5."""
    parts = [prefix, f"n{args.n if n is None else n}", f"d{args.d if d is None else d}"]
    for flag, tag in (("optw", "w"), ("optx", "X"), ("neu", "neu"), ("optmu", "mu")):
        if getattr(args, flag, None) is not None:
            parts.append(f"{tag}{getattr(args, flag)}")
    if with_sigma:
        parts.append(f"sig{args.sigma:g}")  # as the reference writes it: sig0, sig0.05, sig0.1
    parts.append(f"sample{args.sample if sample is None else sample}")
    if getattr(args, "patterns", "sampled") != "sampled":
        parts.append(f"patterns-{args.patterns}")  # the default keeps the reference's names
    return "_".join(parts)




# --------------------------------------------------------------------------- grid, seeds, results


def grid(largest):
    """10, 20, ..., largest."""
    return np.arange(GRID_STEP, largest + 1, GRID_STEP)


def trial_rng(seed, n, d, trial):
    """The trial's own generator, a function of (seed, n, d, trial) alone. n and d are
    the cell's two axis values; a non-integer value (a float axis such as lambda)
    enters as round(1e6 value), so refining a grid keeps the data of its old cells."""
    return np.random.default_rng([seed, seed_key(n), seed_key(d), trial])


def seed_key(value):
    """An axis value as a seed entry: an int as itself, a float as round(1e6 value)."""
    return value if isinstance(value, (int, np.integer)) else int(round(float(value) * 1e6))


def axis_values(values):
    """An axis as Python ints when every value is integral (seeded as themselves), else floats."""
    values = np.asarray(values)
    return [int(v) for v in values] if np.issubdtype(values.dtype, np.integer) else [float(v) for v in values]


def trial_mean(array):
    """Mean over the trial axis, ignoring NaN trials; NaN where a cell has none."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)  # all-NaN cells
        return np.nanmean(array, axis=2)


@dataclass
class TrialResult:
    """One trial: its metric values (NaN when the solve was not accepted), the
    status to count, what --save_details pickles, how the structured solver got
    the solution (Solution.route; counted in the sidecar's solver_routes), and the
    traceback of a trial that raised."""

    metrics: dict
    status: str
    details: dict = field(default_factory=dict)
    route: str = ""
    error: str = ""


def failed_trial(metrics, error):
    """The result of a trial that raised: NaN metrics, status error: <Type>: <first line>."""
    first_line = (str(error).strip().splitlines() or [""])[0]
    return TrialResult({metric: np.nan for metric in metrics}, f"error: {type(error).__name__}: {first_line}",
                       error=traceback.format_exc())


def _run_task(work, batched, metrics, n, d, trials, seed, args):
    """One unit of work in a worker, on one BLAS thread: a single trial, or all pending
    trials of a cell. An exception fails the unit's trials, not the grid. Returns the
    unit's results with the code version the worker imported."""
    try:
        rngs = [trial_rng(seed, n, d, t) for t in trials]
        with _blas_controller().limit(limits=1, user_api="blas"):  # threaded BLAS on busy cores: 50-100x slower
            results = work(n, d, rngs, args) if batched else [work(n, d, rngs[0], args)]
    except Exception as error:  # a failed trial is a result: recorded, never fatal
        results = [failed_trial(metrics, error) for _ in trials]
    if not args.save_details:  # a trial's data are megabytes: send back only what is kept
        for result in results:
            result.details = {}
    return n, d, trials, results, code_version()  # the source this worker imported, checked by the run


@functools.cache
def _blas_controller():
    """One scan of the loaded BLAS libraries per process (a scan per trial costs 1.4 ms)."""
    return ThreadpoolController()


# --------------------------------------------------------------------------- files


def package_versions():
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def git_commit():
    """(commit, dirty) of the checkout the code runs from, or (None, None) outside one."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        return commit, bool(dirty)
    except (OSError, subprocess.SubprocessError):
        return None, None


# The root modules no array's number depends on: figures.py (the catalog, its cost model
# and the composed PNGs) and illustrations.py (Figures 1-3). No other module imports them
# (tests/test_layers.py), so editing them leaves every run's version as it was.
PRESENTATION = ("figures.py", "illustrations.py")


def _source_version():
    """A hash of the suite's source as it is on disk now: the root-level *.py files but
    PRESENTATION, and requirements.txt (those git tracks, in a checkout)."""
    import hashlib

    try:
        names = subprocess.run(["git", "ls-files", "--", "*.py", "requirements.txt"], cwd=ROOT, capture_output=True,
                               text=True, timeout=10, check=True).stdout.split()
    except (OSError, subprocess.SubprocessError):
        names = []
    names = sorted(name for name in names if "/" not in name) or sorted(
        name for name in os.listdir(ROOT) if name.endswith(".py") or name == "requirements.txt")
    names = [name for name in names if name not in PRESENTATION]
    digest = hashlib.sha256()
    for name in names:
        with open(os.path.join(ROOT, name), "rb") as stream:
            digest.update(name.encode() + b"\0" + stream.read() + b"\0")
    return f"source-{digest.hexdigest()[:16]}"


# Computed once, when this process imports the suite (a worker with it), never read from
# disk again: a process that imported older source keeps reporting that source's version,
# so a run can refuse a worker whose code is not the code it records (_check_versions).
_IMPORTED_VERSION = _source_version()


def code_version():
    """The suite's version, what a run's numbers depend on besides its arguments: a hash
    of its source when this process imported it, the root-level *.py files but
    PRESENTATION and requirements.txt (those git tracks, in a checkout). Committed or
    not, any change to them is a new version; a commit of documentation, tests,
    figures.py or PNGs is not."""
    return _IMPORTED_VERSION


def identity(args, neutral_flags=()):
    """A run's identity, all that decides its numbers: its arguments but the run flags
    (RUN_FLAGS) and the script's own flags that change no number (neutral_flags, e.g.
    --device, --figure); the code version is compared beside it (identity_differences)."""
    ignored = RUN_FLAGS | set(neutral_flags)
    return {key: value for key, value in vars(args).items() if key not in ignored}


def identity_differences(stored, identity, with_version=False, stored_version=None):
    """How a stored run's arguments differ from this identity (runner.identity), as phrases:
    the settings as flags, and with_version, the stored code version when it is not this
    one (a run that recorded none counts as another version)."""
    differences = [f"--{key} {stored.get(key)} (not {value})" for key, value in identity.items()
                   if stored.get(key) != value]
    if with_version and stored_version != code_version():
        differences.append(f"code version {stored_version} (not {code_version()})")
    return differences


def utc_now():
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def atomic_write(path, write):
    """Write through a temporary file in the same folder, then rename over path.

    The temporary file is named .<name>.<pid>.part, so that a later run can tell
    the leftovers of a killed writer (remove_stale_parts) from a live one's."""
    folder = os.path.dirname(path) or "."
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.{os.getpid()}.",
                                         suffix=".part")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes 0600; keep the usual mode
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        os.replace(temporary, path)
    except BaseException:
        # An interruption can land after the rename, when the temporary is gone.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def save_figure(fig, path, **kwargs):
    """A matplotlib figure saved as PNG through atomic_write: a full disk or a kill leaves
    the old file or none at path, never a cut one."""
    atomic_write(path, lambda stream: fig.savefig(stream, format="png", **kwargs))


def remove_stale_parts(folder):
    """Delete the *.part files of writers that are no longer running (a kill -9
    leaves them behind); those of a live process are kept. Returns their names."""
    removed = []
    for name in os.listdir(folder) if os.path.isdir(folder) else []:
        if not name.endswith(".part"):
            continue
        try:
            pid = int(name[: -len(".part")].rsplit(".", 2)[-2])
            os.kill(pid, 0)
            alive = pid != os.getpid()
        except (ValueError, IndexError, ProcessLookupError):
            alive = False
        except PermissionError:  # someone else's live process
            alive = True
        if not alive:
            os.remove(os.path.join(folder, name))
            removed.append(name)
    return removed


# --------------------------------------------------------------------------- the run's state


class RunState:
    """Everything a run knows: the metric arrays (n, d, trial), per-trial status and
    route codes (-1: not done), the run's arguments, its provenance and the wall time
    and trial count of each invocation.

    On disk it is two files. <run>.state.npz, the snapshot, is replaced whole by one
    atomic rename (save); <run>.state.log, beside it, gets one line appended per
    finished unit of work (append), so that recording a trial costs the same however
    large the run is. The log's first line names the snapshot it continues (log_id); a
    log of another snapshot is ignored, and a last line cut by a kill is dropped, so a
    kill at any moment loses only the units in flight. save() folds the log into a new
    snapshot and starts an empty log (compaction)."""

    def __init__(self, path, metrics, shape, arguments):
        self.path, self.arguments = path, arguments
        self.arrays = {metric: np.full(shape, np.nan) for metric in metrics}
        self.status = np.full(shape, -1, dtype=np.int32)
        self.route = np.full(shape, -1, dtype=np.int32)
        self.status_names, self.route_names = [], []
        commit, dirty = git_commit()
        self.provenance = {"started_utc": utc_now(), "host": platform.node(), "git_commit": commit,
                           "git_dirty": dirty, "code_version": code_version(), "python": sys.executable}
        self.runs = []
        self._log = None

    @property
    def log_path(self):
        return self.path[: -len(".npz")] + ".log"

    @property
    def done(self):
        return self.status >= 0

    def failed(self):
        """Trials whose status is an error (they raised)."""
        errors = [code for code, name in enumerate(self.status_names) if name.startswith("error:")]
        return np.isin(self.status, errors)

    def record(self, index, result):
        for metric, array in self.arrays.items():
            array[index] = result.metrics[metric]
        self.status[index] = _code(self.status_names, result.status)
        self.route[index] = _code(self.route_names, result.route) if result.route else -1

    def counts(self, codes, names):
        return dict(Counter(names[code] for code in codes[codes >= 0].ravel()))

    def save(self):
        """A new snapshot with everything recorded, then a new empty log that continues it."""
        import secrets

        self.close()
        log_id = secrets.token_hex(8)
        meta = {"arguments": self.arguments, "status_names": self.status_names, "route_names": self.route_names,
                "provenance": self.provenance, "runs": self.runs, "log_id": log_id}
        payload = {f"metric_{metric}": array for metric, array in self.arrays.items()}
        payload.update(status=self.status, route=self.route, meta=np.array(json.dumps(meta)))
        atomic_write(self.path, lambda stream: np.savez(stream, **payload))
        # killed here, the old log names the old snapshot and is ignored: nothing is lost
        atomic_write(self.log_path, lambda stream: stream.write(json.dumps({"log_id": log_id}).encode() + b"\n"))
        self._log = open(self.log_path, "ab", buffering=0)

    def append(self, indices, results, run):
        """Record finished trials (index, TrialResult) and log them in one appended line;
        `run` is this invocation's entry of runs, whose counters the line carries."""
        for index, result in zip(indices, results):
            self.record(index, result)
        values = {metric: np.array([result.metrics[metric] for result in results], dtype=np.float64)
                  for metric in self.arrays}
        entry = {"index": [[int(i) for i in index] for index in indices],
                 # raw bytes: every value, NaN's sign included, comes back bit for bit
                 "metrics": {metric: base64.b64encode(array.tobytes()).decode() for metric, array in values.items()},
                 "status": [result.status for result in results], "route": [result.route for result in results],
                 "run": len(self.runs) - 1, "run_trials": run["trials"], "run_wall_s": run["wall_s"]}
        self._log.write(json.dumps(entry).encode() + b"\n")  # one write: a kill leaves a whole line or a cut one

    def close(self):
        if self._log is not None:
            self._log.close()
            self._log = None

    def _replay(self, log_id):
        """Apply the whole lines of the log that continues snapshot log_id."""
        try:
            with open(self.log_path, "rb") as stream:
                lines = stream.read().split(b"\n")
        except FileNotFoundError:
            return
        if not lines or _json_line(lines[0]) != {"log_id": log_id}:
            return  # the log of another snapshot: already folded into this one, or of a replaced run
        for line in lines[1:-1]:  # the last piece is b"" after a whole line, or a line cut by a kill
            entry = _json_line(line)
            if entry is None:
                break
            metrics = {metric: np.frombuffer(base64.b64decode(text), dtype=np.float64)
                       for metric, text in entry["metrics"].items()}
            for k, index in enumerate(entry["index"]):
                self.record(tuple(index), TrialResult({metric: values[k] for metric, values in metrics.items()},
                                                      entry["status"][k], route=entry["route"][k]))
            self.runs[entry["run"]].update(trials=entry["run_trials"], wall_s=entry["run_wall_s"])

    @classmethod
    def load(cls, path, metrics, shape):
        """The state saved at path (its snapshot and log); raises ValueError with a
        one-line reason when it is unreadable or not a run state's layout and types."""
        state = cls.__new__(cls)
        state.path, state._log = path, None
        # A damaged file can fail in any layer (zip, CRC, npy header, JSON, the meta's
        # keys, their types), each with its own exception type: all mean "unreadable".
        missing = []
        try:
            with np.load(path, allow_pickle=False) as stored:
                meta = json.loads(str(stored["meta"]))
                missing = [metric for metric in metrics if f"metric_{metric}" not in stored.files]
                state.arrays = {metric: stored[f"metric_{metric}"] for metric in metrics}
                state.status, state.route = stored["status"], stored["route"]
            state.arguments, state.provenance, state.runs = meta["arguments"], meta["provenance"], meta["runs"]
            state.status_names, state.route_names = meta["status_names"], meta["route_names"]
            _check_layout(state, shape)
            state._replay(meta.get("log_id"))
        except Exception as error:
            if missing:  # a whole state of a code version whose script wrote other arrays
                raise ValueError(f"{path} was made by another code version ({_stored_versions(meta)}, not "
                                 f"{code_version()}): it has no {', '.join(missing)} array"
                                 + "s" * (len(missing) > 1)) from None
            raise ValueError(f"{path} is not a readable run state ({type(error).__name__}: {error})") from None
        return state


def _stored_versions(meta):
    """The code versions a state's meta records for its runs, as text, whatever its types."""
    runs = meta.get("runs") if isinstance(meta, dict) else None
    versions = {str(run.get("code_version")) for run in runs if isinstance(run, dict)} if isinstance(runs, list) else ()
    return ", ".join(sorted(versions)) or "unrecorded"


def _json_line(line):
    try:
        return json.loads(line)
    except ValueError:
        return None


def _check_layout(state, shape):
    """Raise ValueError unless a loaded state has the types a run writes and the run's shape."""
    if state.status.shape != shape or any(array.shape != shape for array in state.arrays.values()):
        raise ValueError(f"arrays of shape {state.status.shape}, not {shape}")
    if not (isinstance(state.arguments, dict) and isinstance(state.provenance, dict)
            and isinstance(state.runs, list) and all(isinstance(run, dict) for run in state.runs)):
        raise ValueError("meta.arguments and meta.provenance must be objects and meta.runs a list of objects")
    for names, codes, what in ((state.status_names, state.status, "status"), (state.route_names, state.route, "route")):
        if not (isinstance(names, list) and all(isinstance(name, str) for name in names)):
            raise ValueError(f"meta.{what}_names must be a list of strings")
        if codes.dtype.kind != "i" or codes.size and not (-1 <= codes.min() and codes.max() < len(names)):
            raise ValueError(f"{what} codes must be integers from -1 to {len(names) - 1}")
    if any(array.dtype != np.float64 for array in state.arrays.values()):
        raise ValueError("metric arrays must be float64")
    state.status, state.route = state.status.astype(np.int32), state.route.astype(np.int32)
    state.arrays = {metric: np.array(array) for metric, array in state.arrays.items()}  # writable copies


def _code(names, name):
    if name not in names:
        names.append(name)
    return names.index(name)


# --------------------------------------------------------------------------- the grid runner

# The flags of add_run_flags that change no number (identity); optw_choices is the
# parser's own note, not a flag.
RUN_FLAGS = {"jobs", "resume", "retry_failed", "scheduler", "scheduler_timeout", "save_details", "save_folder",
             "overwrite", "resume_any_version", "optw_choices"}
# The state's snapshot and the derived arrays are rewritten together (a checkpoint) at most
# every CHECKPOINT_EVERY_S, and never more often than CHECKPOINT_SHARE of the run's time:
# a large run's checkpoints, which cost time in proportion to its size, are spaced out.
CHECKPOINT_EVERY_S = 5.0
CHECKPOINT_SHARE = 0.05
FAILED_TRIALS_EXIT = 3  # a run's exit status when it finished with failed trials
NO_RESULT_EXIT = 4  # ... when every trial it computed failed its check (NaN everywhere)
STATE_BYTES_PER_TRIAL = 8 + 8 + 4  # per metric a float64, plus status and route codes and the masks built on them


def default_axes(args):
    """The (n, d) grid: n = 10, 20, ..., N by d = 10, 20, ..., D."""
    return ("n", grid(args.n)), ("d", grid(args.d))


def every_cell(n, d, args):
    """The skip_cell of a script that runs every cell of its grid."""
    return None


# The script contract: what a grid script declares at module level, read by run_script
# and by figures.py (tests/test_contract.py checks every script):
#   WITH_SIGMA      its array names carry sig{sigma}
#   BATCHED         work(n, d, [rng, ...], args) takes every pending trial of a cell at once
#   NEUTRAL_FLAGS   its flags that change no number (left out of a run's identity)
#   TOLERANCES      the acceptance tolerances its sidecars record (None: no solve)
#   axes(args)      its grid, ((name, values), (name, values)); default_axes for (n, d)
#   skip_cell(n, d, args)  why a cell is not run, or None; every_cell runs them all
#   outputs(args)   {metric: file prefix} of the arrays a run writes
#   cost_key(args)  the entry of figures.py's cost model whose law its trials follow
CONTRACT = ("WITH_SIGMA", "BATCHED", "NEUTRAL_FLAGS", "TOLERANCES", "axes", "skip_cell", "outputs", "cost_key")


def run_script(script, args, work, details_prefix):
    """run_grid for a script module that declares the contract (CONTRACT)."""
    return run_grid(args, script.outputs(args), work, details_prefix, script.WITH_SIGMA, batched=script.BATCHED,
                    skip_cell=lambda n, d: script.skip_cell(n, d, args), axes=script.axes(args),
                    neutral_flags=script.NEUTRAL_FLAGS, tolerances=script.TOLERANCES)


def run_grid(args, outputs, work, details_prefix, with_sigma, batched=False, skip_cell=None, axes=None,
             neutral_flags=(), tolerances=None):
    """Run `work` over the (n, d, trial) grid and save one array per metric.

    outputs: {metric: file prefix}, e.g. {"rec": "rec_rate_skip"}; each array has
    shape (len(n grid), len(d grid), sample) and is saved as <stem>.npy beside a
    <stem>.json sidecar, both derived from the run's state <details stem>.state.npz
    (and its .state.log). work(n, d, rng, args) -> TrialResult, or with
    batched=True work(n, d, [rng, ...], args) -> [TrialResult, ...] for all
    pending trials of a cell at once. skip_cell(n, d) -> reason or None: such
    cells stay NaN, counted as "skipped (<reason>)". axes: ((name, values), (name,
    values)) for grids other than n = 10..N by d = 10..D (e.g. n by lambda); work
    then takes the two axis values in place of (n, d). neutral_flags: the script's flags
    that change no number (left out of the run's identity); tolerances: the acceptance
    tolerances its trials use, recorded in the sidecar.

    A folder that already holds this run (same identity) continues it, or, when it is
    complete, derives its arrays and sidecars again; only --overwrite discards it.
    """
    axes = axes or default_axes(args)
    _refuse_oversized(args, (len(axes[0][1]), len(axes[1][1]), args.sample), len(outputs))
    lock_path = os.path.join(args.save_folder, file_stem(details_prefix, args, with_sigma) + ".lock")
    try:
        with _cluster(args) as client:  # connected and checked before anything is written
            lock = _writer_lock(lock_path)  # one writer per run, released however the run ends
            try:
                return _run_grid(args, outputs, work, details_prefix, with_sigma, batched, skip_cell, axes,
                                 neutral_flags, tolerances, client)
            finally:
                lock.close()
    except OSError as error:
        if error.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        # Every file is written whole or not at all (atomic_write), and the log loses at
        # most its cut last line: freeing space and resuming loses only the work in flight.
        sys.exit(f"error: no space left on the device of --save_folder {args.save_folder} ({error.strerror}); "
                 f"free some, then --resume continues")


def _refuse_oversized(args, shape, metrics):
    """Exit with one line, before any work, when the run's state would not fit in memory."""
    needed = int(np.prod(shape, dtype=np.float64) * (STATE_BYTES_PER_TRIAL + 8 * (metrics - 1)))
    available = _available_memory()
    if available and needed > available:
        sys.exit(f"error: --sample {args.sample}: the run's state ({shape[0]} x {shape[1]} cells x {shape[2]} "
                 f"trials) would need {_gib(needed)} of memory, more than the {_gib(available)} available; "
                 f"use a smaller --sample or grid")


def _available_memory():
    """Bytes of memory available to a new allocation (MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo") as stream:
            for line in stream:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _gib(size):
    return f"{size / 2 ** 30:.3g} GiB"


def _run_grid(args, outputs, work, details_prefix, with_sigma, batched, skip_cell, axes, neutral_flags, tolerances,
              client):
    from tqdm import tqdm

    axis_names = [name for name, _ in axes]
    n_grid, d_grid = (axis_values(values) for _, values in axes)
    shape = (len(n_grid), len(d_grid), args.sample)
    stems = {metric: file_stem(prefix, args, with_sigma) for metric, prefix in outputs.items()}
    run_stem = file_stem(details_prefix, args, with_sigma)
    folder = args.save_folder
    state_path = os.path.join(folder, run_stem + ".state.npz")
    for name in remove_stale_parts(folder) + remove_stale_parts(os.path.join(folder, "details")):
        print(f"removed {name}, left behind by a killed run")
    arguments = {k: v for k, v in vars(args).items() if k != "optw_choices"}
    state = _existing_state(args, state_path, stems, outputs, shape, identity(args, neutral_flags))
    errors_path = os.path.join(folder, run_stem + ".errors.log")
    if state is None:
        state = RunState(state_path, list(outputs), shape, arguments)
        if os.path.exists(errors_path):  # the tracebacks of a discarded run, not of this one
            os.remove(errors_path)
            print(f"removed {errors_path}, the tracebacks of the run it replaces")
    else:  # this invocation's run flags: the sidecar names the folder the run lives in now
        state.arguments.update({key: value for key, value in arguments.items() if key in RUN_FLAGS})
    for i, n in enumerate(n_grid):
        for j, d in enumerate(d_grid):
            reason = skip_cell(n, d) if skip_cell else None
            if reason:
                for t in np.flatnonzero(~state.done[i, j]):
                    state.record((i, j, t), TrialResult({metric: np.nan for metric in outputs}, f"skipped ({reason})"))

    def tasks():  # made as they are dispatched: a large grid's list of units is never held whole
        for i, n in enumerate(n_grid):
            for j, d in enumerate(d_grid):
                pending = [int(t) for t in np.flatnonzero(~state.done[i, j])]
                for unit in [pending] if batched else [[t] for t in pending]:
                    if unit:
                        yield n, d, unit

    pending_total = int((~state.done).sum())
    index_n = {n: i for i, n in enumerate(n_grid)}
    index_d = {d: j for j, d in enumerate(d_grid)}
    run = {"started_utc": utc_now(), "host": platform.node(), "engine": _engine(args), "wall_s": 0.0,
           "trials": 0, "code_version": code_version()}
    state.runs.append(run)
    start = time.time()
    checkpoint_cost = [0.0]

    def checkpoint():
        """A new snapshot of the state, then the reference-named arrays and their sidecars
        derived from it (arrays first, each sidecar naming its array's sha256)."""
        begun = time.time()
        run["wall_s"] = round(begun - start, 3)
        state.save()
        for metric, stem in stems.items():
            path = os.path.join(folder, stem)
            digest = _save_array(path + ".npy", state.arrays[metric])
            sidecar = _sidecar(args, state, metric, stem, run_stem, shape, dict(zip(axis_names, (n_grid, d_grid))),
                               tolerances, errors_path, digest)
            atomic_write(path + ".json", lambda s, c=sidecar: s.write(json.dumps(c, indent=1).encode()))
        checkpoint_cost[0] = time.time() - begun

    progress = tqdm(total=pending_total, desc=details_prefix, unit="trial")
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        signal.signal(signal.SIGTERM, _terminated)  # SIGTERM ends the run as Ctrl-C does
        checkpoint()
        last_checkpoint = time.time()
        units = _execute(args, client, work, batched, list(outputs), tasks())
        while True:
            try:
                n, d, trials, results, version = next(units)
            except StopIteration:
                break
            except (Exception, asyncio.CancelledError) as error:
                if client is None:
                    raise
                raise _ClusterLost(error) from None
            if version != run["code_version"]:
                raise _StaleWorker(version)
            i, j = index_n[n], index_d[d]
            run["trials"] += len(trials)
            run["wall_s"] = round(time.time() - start, 3)
            state.append([(i, j, t) for t in trials], results, run)
            for t, result in zip(trials, results):
                if result.error:
                    with open(errors_path, "a") as log:
                        log.write(f"--- {axis_names[0]}={n} {axis_names[1]}={d} trial={t} {utc_now()}\n"
                                  f"{result.error}\n")
                if args.save_details:
                    _save_details(args, details_prefix, with_sigma, dict(zip(axis_names, (n, d))), t, result)
            since = time.time() - last_checkpoint
            if since > max(CHECKPOINT_EVERY_S, checkpoint_cost[0] / CHECKPOINT_SHARE):
                checkpoint()
                last_checkpoint = time.time()
            progress.update(len(trials))
    except (KeyboardInterrupt, _Terminated, _ClusterLost, _StaleWorker) as stop:
        for number in (signal.SIGINT, signal.SIGTERM):  # a second signal must not cut the last save
            signal.signal(number, signal.SIG_IGN)
        progress.close()
        checkpoint()
        state.close()
        done, total = int(state.done.sum()), int(state.done.size)
        if isinstance(stop, _ClusterLost):
            error = stop.args[0]
            sys.exit(f"error: lost the Dask scheduler {args.scheduler} after {done} of {total} trials "
                     f"({type(error).__name__}: {(str(error).splitlines() or [''])[0][:120]}); "
                     f"--resume continues once it is back")
        if isinstance(stop, _StaleWorker):
            sys.exit(f"error: a worker ran code version {stop.args[0]}, not this run's {run['code_version']} "
                     f"(the source changed after the worker imported it); stopped after {done} of {total} "
                     f"trials, none of its results kept; restart the workers, then --resume continues")
        print(f"interrupted after {done} of {total} trials; --resume continues", file=sys.stderr)
        sys.exit(143 if isinstance(stop, _Terminated) else 130)
    finally:
        progress.close()
        for number, handler in previous.items():
            signal.signal(number, handler)
    checkpoint()
    state.close()
    counts = state.counts(state.status, state.status_names)
    for stem in stems.values():
        print(f"saved {os.path.join(folder, stem)}.npy  shape {shape}  statuses {counts}")
    failed = int(state.failed().sum())
    if failed:  # not a success: the exit status says so, and the sidecar has complete: false
        print(f"{failed} trial(s) raised: NaN in the arrays, tracebacks in {errors_path}; "
              f"--resume --retry-failed runs them again", file=sys.stderr)
        sys.exit(FAILED_TRIALS_EXIT)
    skipped = [code for code, name in enumerate(state.status_names) if name.startswith("skipped")]
    computed = state.done & ~np.isin(state.status, skipped)
    if computed.any() and not any(np.isfinite(array[computed]).any() for array in state.arrays.values()):
        print(f"every one of the {int(computed.sum())} computed trials failed its check (statuses {counts}): "
              f"no finite value in the arrays", file=sys.stderr)
        sys.exit(NO_RESULT_EXIT)
    return state.arrays


def _save_array(path, array):
    """np.save through atomic_write; returns the sha256 of the file's bytes."""
    import hashlib

    digest = hashlib.sha256()

    class Hashing:  # not a real file, so np.save writes it in chunks: no copy of a large array
        def __init__(self, stream):
            self.stream = stream

        def write(self, data):
            digest.update(data)
            return self.stream.write(data)

    atomic_write(path, lambda stream: np.save(Hashing(stream), array))
    return digest.hexdigest()


def array_sha256(path):
    """The sha256 of a file's bytes, as a sidecar's array_sha256 records it."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Terminated(Exception):
    """SIGTERM, raised in the main thread like KeyboardInterrupt for SIGINT."""


class _ClusterLost(Exception):
    """The Dask engine failed mid-run (args[0]: its exception)."""


class _StaleWorker(Exception):
    """A unit of work came back from a worker running another code version (args[0])."""


def _terminated(signum, frame):
    raise _Terminated


def _writer_lock(path):
    """An exclusive OS lock (flock) on the run's lock file, or exit with one line naming
    the process that holds it: one writer per run. The lock dies with its process, so a
    killed run never blocks a resume; the file itself may stay."""
    import fcntl

    stream = open(path, "a+")
    try:
        fcntl.flock(stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        stream.seek(0)
        holder = stream.read().strip() or "another process"
        sys.exit(f"error: {path} is locked by PID {holder}, a run writing the same results; "
                 f"wait for it, stop it, or use another --save_folder")
    stream.seek(0)
    stream.truncate()
    stream.write(str(os.getpid()))
    stream.flush()
    return stream


def _watch_parent(parent):
    """A local worker's initializer: exit at once when the run's process `parent` is gone
    (the worker re-parented), however it died, so that a killed run leaves no workers
    behind (the resource trackers then see their pipes close and exit too). The PID is
    passed in: the parent can die before a worker has finished starting."""

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    import threading

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def _engine(args):
    return f"dask {args.scheduler}" if args.scheduler else f"joblib, {args.jobs} process(es)"


def _execute(args, client, work, batched, metrics, tasks):
    """The finished units, in completion order, from local workers or the Dask cluster
    `client` is connected to, each with the code version of the worker that ran it."""
    from joblib import Parallel, delayed, parallel_config

    calls = (delayed(_run_task)(work, batched, metrics, n, d, unit, args.seed, args) for n, d, unit in tasks)
    if client is None:
        with parallel_config(backend="loky", initializer=_watch_parent, initargs=(os.getpid(),)):
            yield from Parallel(n_jobs=args.jobs, return_as="generator_unordered")(calls)
        return
    with parallel_config(backend="dask"):
        yield from Parallel(n_jobs=-1, return_as="generator_unordered")(calls)


@contextlib.contextmanager
def _cluster(args):
    """A Dask client connected to --scheduler and checked (_check_cluster), or None for
    local workers; exits with one line when no scheduler answers within --scheduler_timeout."""
    if not args.scheduler:
        yield None
        return
    import logging

    from distributed import Client

    # Dask's own logs of a failed or lost connection (tracebacks, from its event loop's
    # thread) would bury the one line this run says instead
    logging.disable(logging.ERROR)
    try:
        try:
            client = Client(args.scheduler, timeout=f"{args.scheduler_timeout}s")
        except (OSError, TimeoutError, asyncio.TimeoutError) as error:
            sys.exit(f"error: --scheduler {args.scheduler}: no Dask scheduler answered within "
                     f"{args.scheduler_timeout:g} s ({type(error).__name__}); start it, or raise --scheduler_timeout")
        try:
            _check_cluster(client, args.scheduler)
            print(f"dask: {len(client.scheduler_info(n_workers=-1)['workers'])} workers at {args.scheduler}")
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.close(timeout=5)
    finally:
        logging.disable(logging.NOTSET)


def _worker_code_version():
    """Run on a Dask worker: the version of the suite's source that the worker imported."""
    return code_version()


def _check_cluster(client, address):
    """Exit with one line unless the scheduler and every worker can import the suite
    (Dask unpickles the tasks there, and a scheduler that cannot leaves the client
    waiting), and every worker imported the source this process did: a worker started
    before an edit keeps the modules it imported and would compute with old code."""

    def importable(root, names):
        import importlib
        import sys

        try:
            for name in names:
                importlib.import_module(name)
            return None
        except ImportError as error:
            return f"{error} (sys.path has {root}: {root in sys.path})"

    # the suite's modules this run has loaded: the script's trial functions refer to them
    names = sorted(name for name, module in list(sys.modules.items())
                   if os.path.dirname(os.path.abspath(getattr(module, "__file__", None) or "/")) == ROOT
                   and name != "__main__")
    problems = {"scheduler": client.run_on_scheduler(importable, ROOT, names), **client.run(importable, ROOT, names)}
    if not client.scheduler_info(n_workers=-1)["workers"]:
        sys.exit(f"error: --scheduler {address}: no workers are connected")
    for where, problem in problems.items():
        if problem:
            sys.exit(f"error: --scheduler {address}: {where} cannot import the suite ({problem}); "
                     f"start the scheduler and workers with PYTHONPATH={ROOT}")
    for worker, version in sorted(client.run(_worker_code_version).items()):
        if version != code_version():
            sys.exit(f"error: --scheduler {address}: worker {worker} runs code version {version}, this run is "
                     f"{code_version()} (it imported the source before it changed); restart the workers "
                     f"(stop and start each `dask worker`, or Client.restart()), then run again")


def _existing_state(args, state_path, stems, outputs, shape, run_identity):
    """The state of this run (same identity) already in the folder, to continue, or None
    to start afresh; exits with one line when the folder holds something a fresh start
    would destroy (another run, an unreadable state, arrays without their state) and
    --overwrite was not given. --overwrite says what it discards."""
    derived = [os.path.join(args.save_folder, stem + ext) for stem in stems.values() for ext in (".npy", ".json")]
    if not os.path.exists(state_path):
        found = [path for path in derived if os.path.exists(path)]
        if found and not args.overwrite:
            sys.exit(f"error: {found[0]} exists without its run state {state_path} (deleted, or written by an "
                     f"older version); --overwrite replaces it, or use another --save_folder")
        if found:
            print(f"--overwrite: replacing {found[0]}, which has no run state")
        elif args.resume:
            print("resume: nothing to resume, starting")
        return None
    try:
        state = RunState.load(state_path, list(outputs), shape)
    except ValueError as error:
        if args.overwrite:
            print(f"--overwrite: discarding {state_path}, which is unreadable")
            return None
        sys.exit(f"error: {error}; --overwrite starts it afresh, or use another --save_folder")
    done, total = int(state.done.sum()), int(state.done.size)
    differences = identity_differences(state.arguments, run_identity)
    made_by, now = state.provenance.get("code_version"), code_version()
    if args.overwrite:
        what = "; ".join(differences + [f"code version {made_by}"] * (made_by != now)) or "this run's settings"
        print(f"--overwrite: discarding {state_path}: {done} of {total} trials made with {what}; starting afresh")
        return None
    if differences:
        sys.exit(f"error: {state_path} holds a run made with {'; '.join(differences)}; "
                 f"use another --save_folder, or --overwrite to discard it and start afresh")
    if made_by != now and not args.resume_any_version:
        sys.exit(f"error: {state_path} was made by code version {made_by}, this is {now}; "
                 f"--resume-any-version continues it (the sidecar then says mixed_versions), "
                 f"--overwrite starts it afresh")
    if args.retry_failed:
        retried = state.failed()
        state.status[retried] = -1
        state.route[retried] = -1
        print(f"resume: retrying {int(retried.sum())} failed trial(s)")
    if state.done.all():
        print(f"complete: all {total} trials were done; deriving its arrays and sidecars again from {state_path}")
    else:
        print(f"resuming: {int(state.done.sum())} of {total} trials already done")
    return state


def _sidecar(args, state, metric, stem, run_stem, shape, grids, tolerances, errors_path, digest):
    failed = int(state.failed().sum())
    sidecar = {
        "script": os.path.basename(sys.argv[0]),
        "array": metric,
        "file": stem + ".npy",
        "array_sha256": digest,
        "folder": os.path.abspath(args.save_folder),
        "state": run_stem + ".state.npz",
        "shape": list(shape),
        "axes": [*grids, "trial"],
        **{f"{name}_grid": values for name, values in grids.items()},
        "args": state.arguments,
        "seed": args.seed,
        "solver": getattr(args, "solver_name", None),
        "versions": package_versions(),
        "provenance": state.provenance,
        "tolerances": tolerances,
        "runs": state.runs,
        "wall_time_s": round(sum(run["wall_s"] for run in state.runs), 3),
        "status_counts": state.counts(state.status, state.status_names),
        "solver_routes": state.counts(state.route, state.route_names),
        "trials_done": int(state.done.sum()),
        "trials_failed": failed,
        "code_version": state.provenance.get("code_version"),
        # the arrays' trials come from several versions; an invocation that computed none
        # (a resume of a finished run) is listed in runs but changes no value
        "mixed_versions": len({run.get("code_version") for run in state.runs if run.get("trials")}) > 1,
        "complete": bool(state.done.all()) and not failed,  # a failed trial is not a result to compose
    }
    if failed:
        sidecar["errors_log"] = os.path.basename(errors_path)
    return sidecar


def _save_details(args, details_prefix, with_sigma, cell, trial, result):
    """One pickle per trial under details/, named as the reference names them on
    (n, d) grids; on other axes, the run's name with the cell and trial appended."""
    folder = os.path.join(args.save_folder, "details")
    os.makedirs(folder, exist_ok=True)
    if list(cell) == ["n", "d"]:
        name = file_stem(details_prefix, args, with_sigma, n=cell["n"], d=cell["d"], sample=trial) + ".pkl"
    else:
        cell_name = "_".join(f"{axis}{value:g}" for axis, value in cell.items())
        name = f"{file_stem(details_prefix, args, with_sigma)}_{cell_name}_trial{trial}.pkl"
    payload = dict(result.details, status=result.status, **result.metrics)
    atomic_write(os.path.join(folder, name), lambda s: pickle.dump(payload, s))
