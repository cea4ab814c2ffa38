"""The `mt-aug` command line."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from typer._click import exceptions as _cx  # typer vendors click: its errors are these
from typer.core import TyperGroup


class _Commands(TyperGroup):
    """Every command: a user error (a path that cannot be written, a full disk, a cache that is
    not a database, a build already running, ...) is one line `mt-aug: error: ...` and exit
    status 2, never a traceback (mt_aug.errors.user_error_message decides what is one)."""

    def invoke(self, ctx: typer.Context):  # type: ignore[no-untyped-def]
        from mt_aug.errors import user_error_message

        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, _cx.ClickException):
            raise
        except Exception as exc:
            msg = user_error_message(exc)
            if msg is None:
                raise
            logging.getLogger("mt_aug").debug("user error", exc_info=True)
            _say_error(msg)
            raise typer.Exit(2) from None

    def main(self, *args, standalone_mode: bool = True, **kwargs):  # type: ignore[no-untyped-def,override]
        """Usage errors (an unknown option or command, a bad or missing value) as one line
        `mt-aug: error: <option>: <what>` and exit 2, instead of typer's boxed usage message.
        `--help`, and a bare group (its help, exit 2), are unchanged."""
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except _cx.NoArgsIsHelpError:
            rv = 2  # typer has printed the help
        except _cx.ClickException as exc:
            typer.echo(f"mt-aug: error: {_click_error_line(exc)}", err=True)
            rv = exc.exit_code
        except typer.Abort:
            typer.echo("Aborted!", err=True)
            rv = 1
        if not standalone_mode:
            return rv
        sys.exit(rv if isinstance(rv, int) else 0)


def _click_error_line(exc: _cx.ClickException) -> str:
    """`<option or command>: <what>` of a usage error, e.g. `--n: input should be greater than or
    equal to 1 (see 'mt-aug inspect --help')`."""
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "mt-aug"
    what = exc.format_message()
    if isinstance(exc, _cx.NoSuchOption):
        where, what = exc.option_name, "no such option"
        if exc.possibilities:
            what += f" (did you mean {', '.join(sorted(exc.possibilities))}?)"
    elif isinstance(exc, _cx.BadOptionUsage):
        where, what = exc.option_name, exc.message.replace(f"Option {exc.option_name!r} ", "")
    elif isinstance(exc, _cx.BadParameter) and exc.param is not None:
        opts = [o for o in exc.param.opts if o.startswith("-")]
        where = max(opts, key=len) if opts else (exc.param.name or "").upper()
        what = "missing" if isinstance(exc, _cx.MissingParameter) else exc.message
    what = what.strip().rstrip(".")
    if what[1:2].islower():
        what = what[:1].lower() + what[1:]
    if isinstance(exc, _cx.UsageError) and ctx is not None:
        what += f" (see '{ctx.command_path} --help')"
    return f"{where}: {what}"


app = typer.Typer(
    name="mt-aug",
    cls=_Commands,
    help="Turn English QA datasets into a decontaminated, multilingual, hybrid-batched retriever corpus.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from mt_aug import __version__

        typer.echo(f"mt-aug {__version__}")
        raise typer.Exit()


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@app.callback()
def _options(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and errors; no progress.")] = False,
    log_level: Annotated[str, typer.Option(help="DEBUG | INFO | WARNING | ERROR.")] = "INFO",
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Turn English QA datasets into a decontaminated, multilingual, hybrid-batched retriever corpus.

    Progress bars show on a terminal (plain periodic lines otherwise); errors a user can fix
    are one line `mt-aug: error: ...`, exit status 2."""
    from mt_aug import progress

    level = log_level.upper()
    if level not in LOG_LEVELS:
        _fail(f"--log-level: must be one of {', '.join(LOG_LEVELS)} (got {log_level!r})")
    if quiet:
        level = "WARNING"
    progress.setup_logging(level)
    progress.configure(quiet=quiet)
    os.environ["PREFECT_LOGGING_LEVEL"] = level  # read when Prefect is imported (build, serve)


def _say_error(msg: str) -> None:
    """`mt-aug: error: <msg>` on stderr: URL credentials redacted, terminal controls escaped."""
    from mt_aug.redact import redact_text
    from mt_aug.terminal import shown

    typer.echo(f"mt-aug: error: {shown(redact_text(msg))}", err=True)


def _fail(msg: str, code: int = 2) -> NoReturn:
    _say_error(msg)
    raise typer.Exit(code)


def _build_folder(path: Path) -> None:
    """A BUILD_DIR that is no folder at all is the user's mistake: one line, exit 2 (what is
    wrong inside a folder is the command's to say)."""
    if not path.exists():
        _fail(f"{path}: no such build folder (no manifest.json)")
    if not path.is_dir():
        _fail(f"{path}: not a build folder (not a directory)")


def _writable_report(path: Path, what: str = "the report") -> None:
    """Before any slow work: a file can be written at `path` (not a folder; its folder exists
    and is writable, or can be created). Creates nothing; one line, exit 2 if not."""
    from mt_aug.errors import check_writable_dir

    if path.is_dir():
        _fail(f"{path}: {what} is a directory (give a file name)")
    if path.exists() and not os.access(path, os.W_OK):
        _fail(f"{path}: {what} is not writable (Permission denied)")
    check_writable_dir(path.parent, f"{what}'s folder")


def _prefect_env() -> None:
    """Defaults for running Prefect offline on its ephemeral local API."""
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "mt_aug")
    os.environ.setdefault("HF_HUB_OFFLINE", os.environ.get("HF_HUB_OFFLINE", "0"))


ConfigArg = Annotated[Path, typer.Argument(help="Build config (YAML).", show_default=False)]


def _preflight(cfg, lock: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Before any slow start-up (Prefect): output_dir and cache_dir writable and (lock) no
    build of the same output_dir running. Raises UserError / BuildLocked (one line, exit 2)."""
    from mt_aug.errors import check_writable_dir
    from mt_aug.release.lock import check_free

    check_writable_dir(cfg.output_dir, "output_dir")
    check_writable_dir(cfg.cache_dir, "cache_dir")
    if lock:
        check_free(cfg.output_dir)


@app.command()
def validate(config: ConfigArg) -> None:
    """Check a config: keys, values, files, languages and backends. Exit 2 on the first problem."""
    from mt_aug.config import ConfigError, load_config
    from mt_aug.errors import UserError, check_writable_dir

    try:
        cfg = load_config(config)
    except ConfigError as exc:
        _fail(str(exc))
    try:
        check_writable_dir(cfg.output_dir, "output_dir")
        check_writable_dir(cfg.cache_dir, "cache_dir")
    except UserError as exc:
        _fail(f"{config}: {exc}")
    typer.echo(f"{config}: ok: {len(cfg.sources)} source(s), languages {' '.join(cfg.languages)}, "
               f"{len(cfg.eval_sets)} eval set(s), output {cfg.output_dir}")


@app.command()
def plan(
    config: ConfigArg,
    report: Annotated[Path | None, typer.Option("--report", help="Where to write the JSON report "
                                                "(default: <output_dir>/plan.json).")] = None,
) -> None:
    """Run everything before translation (collect, decontaminate, dedup, segment, cache look-up); report counts."""
    import json

    from mt_aug.config import ConfigError, load_config

    try:
        cfg = load_config(config)
    except ConfigError as exc:
        _fail(str(exc))
    path = report if report is not None else cfg.output_dir / "plan.json"
    _writable_report(path)  # before any work
    from mt_aug.pipeline.plan import plan as make_plan
    from mt_aug.pipeline.plan import summary_text
    from mt_aug.readers import SourceError
    from mt_aug.redact import redact
    from mt_aug.translation.base import BackendError

    try:
        result = redact(make_plan(cfg))  # the report and its summary hold no URL credentials
    except (ConfigError, SourceError, BackendError) as exc:
        _fail(str(exc))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    typer.echo(summary_text(result))
    typer.echo(f"report: {path}")


app.command("decontaminate", help="Same as `plan`: the contamination of a config's sources (and the rest of the "
            "plan report) before any translation.")(plan)


@app.command()
def build(
    config: ConfigArg,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Override output_dir.")] = None,
    cache_dir: Annotated[Path | None, typer.Option(help="Override cache_dir.")] = None,
    task_runner: Annotated[str, typer.Option(help="Where translation work units run: local | dask | ray.")] = "local",
    dask_address: Annotated[str | None, typer.Option(help="Dask scheduler, e.g. tcp://10.0.0.5:8786.")] = None,
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster, e.g. ray://10.0.0.5:10001.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Workers of a local Dask cluster (no address).")] = 2,
    executor: Annotated[str, typer.Option(help="prefect: the build-corpus flow (Prefect's ephemeral API, or "
                                          "PREFECT_API_URL); local: the same pipeline in this process, "
                                          "without Prefect.")] = "prefect",
) -> None:
    """Build the corpus (by default as the build-corpus Prefect flow) and print the build dir."""
    from mt_aug.config import ConfigError, load_config

    try:
        cfg = load_config(config, output_dir=output, cache_dir=cache_dir)  # fail fast, before Prefect starts
    except ConfigError as exc:
        _fail(str(exc))
    _preflight(cfg)
    from mt_aug.readers import SourceError
    from mt_aug.release.guard import GuardFailed
    from mt_aug.release.lock import BuildLocked
    from mt_aug.translation.base import BackendError

    if executor not in ("prefect", "local"):
        _fail(f"--executor: must be prefect or local (got {executor!r})")
    if task_runner not in ("local", "dask", "ray"):
        _fail(f"--task-runner: must be local, dask or ray (got {task_runner!r})")
    if executor == "local" and task_runner != "local":
        _fail("--task-runner dask/ray needs --executor prefect (the default)")
    try:
        if executor == "local":
            from mt_aug.pipeline import build as run_build

            build_dir = run_build(config, output_dir=output, cache_dir=cache_dir)
        else:
            from mt_aug.release.lock import BuildLock

            # the lock is this process's before Prefect starts (~15 s): a second build is refused
            # at once; the flow, run in this process, builds under it
            with BuildLock(cfg.output_dir, "(starting: Prefect)"):
                _prefect_env()
                run_flow = _executor_plugin("prefect")
                build_dir = run_flow(str(config), str(output) if output else None,
                                     str(cache_dir) if cache_dir else None, task_runner=task_runner,
                                     address=dask_address or ray_address, workers=workers, locked=True)
    except (ConfigError, SourceError, BackendError, BuildLocked, GuardFailed, ValueError) as exc:
        _fail(str(exc))
    typer.echo(build_dir)


def _executor_plugin(name: str):  # type: ignore[no-untyped-def]
    """An executor registered under the `mt_aug.executors` entry point group (the Prefect flow
    registers itself from flows/ there), so the library never imports flows/."""
    from importlib.metadata import entry_points

    found = {ep.name: ep for ep in entry_points(group="mt_aug.executors")}
    if name not in found:
        _fail(f"--executor {name}: not installed (no `mt_aug.executors` entry point {name!r}; "
              "reinstall mt-aug: pip install -e .)")
    return found[name].load()


@app.command()
def serve(
    config: ConfigArg,
    cron: Annotated[str, typer.Option(help='Cron schedule, e.g. "0 3 * * *" (03:00 every day).')],
    name: Annotated[str | None, typer.Option(help="Deployment name (default: rebuild-<config name>).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Override output_dir.")] = None,
    timezone: Annotated[str, typer.Option(help="Time zone of the cron schedule.")] = "UTC",
) -> None:
    """Rebuild on a schedule: register a build-corpus deployment and serve its runs (Prefect flow.serve)."""
    from mt_aug.config import ConfigError, load_config
    from mt_aug.cronexpr import cron_problem, timezone_problem

    problem = cron_problem(cron)
    if problem:
        _fail(f"--cron {cron!r}: not a cron expression: {problem}")
    problem = timezone_problem(timezone)
    if problem:
        _fail(f"--timezone: {problem}")
    try:
        cfg = load_config(config, output_dir=output)
    except ConfigError as exc:
        _fail(str(exc))
    _preflight(cfg, lock=False)  # a build running now is no reason not to schedule the next ones
    _prefect_env()
    deployment_for = _executor_plugin("prefect-deployment")

    try:
        # served=True: what this process builds is fixed here; a run asking for anything else is refused
        deployment = deployment_for(config, cron, name, output, timezone, served=True)
    except ValueError as exc:
        _fail(f"--cron {cron!r}: {str(exc).splitlines()[0]}")
    from prefect import serve as prefect_serve

    prefect_serve(deployment)


@app.command()
def card(
    build_dir: Annotated[Path | None, typer.Argument(help="A build directory.", show_default=False)] = None,
    diff: Annotated[tuple[Path, Path] | None, typer.Option("--diff", help="OLD NEW: what changed between two builds.",
                                                           show_default=False)] = None,
    stable: Annotated[Path | None, typer.Option(help="Also write a run-independent card here (data_cards/).")] = None,
) -> None:
    """Re-render a build's card (README.md, croissant.json) from its manifest, or diff two builds."""
    from mt_aug.release.card import CardError, check_against_disk, load_manifest, stable_card, write_card
    from mt_aug.release.card import diff as card_diff

    for p in diff if diff is not None else ([build_dir] if build_dir is not None else []):
        _build_folder(p)
    if stable is not None and diff is None:
        _writable_report(stable, "--stable")  # before the card is rendered again
    try:
        if diff is not None:
            old, new = (load_manifest(p) for p in diff)
            typer.echo(card_diff(old, new), nl=False)
            return
        if build_dir is None:
            _fail("card: give BUILD_DIR, or --diff OLD NEW")
        manifest = load_manifest(build_dir)
        check_against_disk(build_dir, manifest)  # once: the card and the stable card render this manifest
        path = write_card(build_dir, manifest)
        if stable is not None:
            stable.write_text(stable_card(manifest), encoding="utf-8")
            typer.echo(stable)
    except CardError as exc:  # the manifest or the files it lists (paths inside the build)
        msg = str(exc)
        named = [str(p) for p in (diff if diff is not None else [build_dir]) if p is not None]
        _fail(msg if not named or msg.startswith(tuple(named)) else f"{' -> '.join(named)}: {msg}")
    typer.echo(path)


@app.command()
def verify(build_dir: Annotated[Path, typer.Argument(help="A build directory (or <output_dir>/current).")]) -> None:
    """Recompute checksums and check every batch invariant. Exit 1 naming file, batch and rule."""
    from mt_aug.release.verify import VerifyError, verify_build

    _build_folder(build_dir)
    try:
        summary = verify_build(build_dir)
    except VerifyError as exc:
        _fail(f"{build_dir}: {exc}", code=1)
    typer.echo(f"{build_dir}: ok: {summary['files']} files, {summary['batches']} batches, {summary['rows']} rows")


Backend = Annotated[str, typer.Option("--backend", help="bergamot | transformers | ctranslate2")]


def _chrf_threshold(value: float | None) -> float | None:
    """A chrF threshold: a number from 0 to 100 (`nan` is no number; Python's float() reads it)."""
    if value is None:
        return None
    if value != value:
        raise typer.BadParameter("nan is not a number (give a chrF score from 0 to 100)")
    if not 0.0 <= value <= 100.0:
        raise typer.BadParameter(f"{value:g} is not a chrF score (from 0 to 100)")
    return value


@app.command()
def translate(
    input: Annotated[Path, typer.Argument(help="Text file, one text per line.", show_default=False)],
    output: Annotated[Path, typer.Argument(help="Output file: exactly one line per input line.", show_default=False)],
    backend: Backend = "bergamot",
    model: Annotated[str, typer.Option(help="Model folder or Hub id (bergamot: bundled).")] = "bundled",
    source: Annotated[str, typer.Option("--source", help="Source language (ISO 639-1).")] = "en",
    target: Annotated[str, typer.Option("--target", help="Target language (ISO 639-1).")] = "pt",
    beam_size: Annotated[int, typer.Option(min=1)] = 1,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    compute_type: Annotated[str, typer.Option(help="CTranslate2/torch compute type, e.g. int8, float16.")] = "default",
    device: Annotated[str, typer.Option(help="cpu | cuda | auto")] = "cpu",
    threads: Annotated[int, typer.Option(min=1)] = 2,
    cache_dir: Annotated[Path, typer.Option(help="Translation cache folder.")] = Path(".cache/mt-aug"),
    round_trip: Annotated[bool, typer.Option("--round-trip", help="Also judge each segment by its back-translation "
                                             "(the reverse model, chrF against the source), as a build with "
                                             "quality.roundtrip.enabled: true.")] = False,
    round_trip_min_chrf: Annotated[float | None, typer.Option(
        callback=_chrf_threshold, help="--round-trip: drop below this chrF, 0 to 100 (default: the build's, 20).")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="A build config: judge with its quality settings (its "
                                                "`quality:` section; --round-trip options override).")] = None,
) -> None:
    """Translate a text file line by line through the build's segmenter, cache and quality filters."""
    from pydantic import ValidationError

    from mt_aug import languages
    from mt_aug.config import ModelSpec, QualityConfig
    from mt_aug.translation.base import BackendError
    from mt_aug.translation.cache import TranslationCache
    from mt_aug.translation.engine import make_backend
    from mt_aug.quality.textfile import translate_lines

    for opt, code in (("--source", source), ("--target", target)):
        if code not in languages.LANGUAGES:
            _fail(f"{opt}: unknown language code {code!r}")
    try:
        spec = ModelSpec(backend=backend, model=model, beam_size=beam_size, batch_size=batch_size,  # type: ignore[arg-type]
                         compute_type=compute_type, device=device, threads=threads)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        _fail(f"--{'-'.join(str(x) for x in err['loc']).replace('_', '-')}: {err['msg']}")
    try:
        raw = input.read_bytes().decode("utf-8")
    except OSError as exc:
        _fail(f"{input}: cannot read: {exc.strerror or exc}")
    except UnicodeDecodeError as exc:
        _fail(f"{input}: not UTF-8: byte offset {exc.start}")
    lines = raw.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    from mt_aug import progress
    from mt_aug.errors import check_writable_dir, io_errors

    _writable_report(output, "the output")
    check_writable_dir(cache_dir, "--cache-dir")
    base = QualityConfig()
    if config is not None:
        from mt_aug.config import ConfigError, load_config

        try:
            base = load_config(config, check_files=False).quality
        except ConfigError as exc:
            _fail(str(exc))
    if round_trip_min_chrf is not None and not (round_trip or base.roundtrip.enabled):
        _fail("--round-trip-min-chrf: needs --round-trip"
              + (" (or quality.roundtrip.enabled: true in --config)" if config else ""))
    qcfg = base.updated(roundtrip={"enabled": round_trip or base.roundtrip.enabled,
                                   **({} if round_trip_min_chrf is None else {"min_chrf": round_trip_min_chrf})})
    try:
        make_backend(spec, source, target).close()  # one clear error before any work
        with TranslationCache(cache_dir / TranslationCache.FILE) as cache, \
                progress.task(f"translate {source}->{target}", unit="segments") as bar:
            out, reasons, st = translate_lines(lines, spec=spec, src=source, tgt=target, cache=cache,
                                               qcfg=qcfg, progress=bar.callback)
    except BackendError as exc:
        _fail(str(exc))
    tmp = output.with_name(f".{output.name}.tmp")
    try:
        with io_errors("cannot write the translation", output):
            tmp.write_text("".join(line + "\n" for line in out), encoding="utf-8")
            os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
    filtered = sum(st.filtered.values())
    typer.echo(f"{input} -> {output}: {st.lines} lines: {st.translated} translated, {st.from_cache} from the cache, "
               f"{st.copied} copied (empty or no letters), {filtered} filtered"
               + (f" ({', '.join(f'{k}: {v}' for k, v in sorted(st.filtered.items()))})" if filtered else ""))
    for note in st.notes:
        typer.echo(f"mt-aug: warning: {note}", err=True)
    for i, r in enumerate(reasons, start=1):
        if r is not None:
            typer.echo(f"  line {i}: filtered: {r}", err=True)


@app.command()
def convert(
    model: Annotated[str, typer.Argument(help="transformers model folder or Hub id.", show_default=False)],
    out: Annotated[Path, typer.Argument(help="Output folder for the CTranslate2 model.", show_default=False)],
    quantization: Annotated[str | None, typer.Option(help="int8, int8_float16, float16, ... (default: keep)")] = None,
    revision: Annotated[str | None, typer.Option(help="Hub revision.")] = None,
) -> None:
    """Convert a Marian / NLLB transformers model to CTranslate2 (tokenizer copied alongside)."""
    local = Path(model).expanduser()
    if local.exists() or model.startswith((".", "/", "~")) or model.count("/") > 1 or os.sep + os.sep in model:
        if not local.exists():
            _fail(f"{model}: no such folder (a transformers model folder, or a Hub id such as Helsinki-NLP/opus-mt-en-de)")
        if not local.is_dir():
            _fail(f"{model}: not a folder (a transformers model folder holds config.json and the weights)")
        if not (local / "config.json").is_file():
            _fail(f"{model}: not a transformers model folder (no config.json in it)")
    if out.exists() and not out.is_dir():
        _fail(f"{out}: exists and is not a folder")
    from mt_aug.translation.hf import convert as do_convert

    try:
        typer.echo(do_convert(model, str(out), quantization, revision))
    except (OSError, ValueError) as exc:
        _fail(f"{model}: cannot convert: {str(exc).splitlines()[0]}")


cache_app = typer.Typer(help="Inspect or prune the translation cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")
CacheDir = Annotated[Path | None, typer.Option(help="Translation cache folder (default: the config's cache_dir, "
                                                    "else .cache/mt-aug).", show_default=False)]
CacheConfig = Annotated[Path | None, typer.Option("--config", help="Use this build config's cache_dir.",
                                                  show_default=False)]


def _cache_path(cache_dir: Path | None, config: Path | None) -> Path:
    """The cache file a cache command reads: --cache-dir, else the config's cache_dir, else the
    default; said on stderr so nobody prunes the wrong cache."""
    if cache_dir is None and config is not None:
        from mt_aug.config import ConfigError, load_config

        try:
            cache_dir = load_config(config, check_files=False).cache_dir
        except ConfigError as exc:
            _fail(str(exc))
    path = (cache_dir if cache_dir is not None else Path(".cache/mt-aug")) / "translations.sqlite"
    if not path.is_file():
        _fail(f"{path}: no translation cache here" + ("" if config or cache_dir else " (give --config or --cache-dir)"))
    typer.echo(f"cache: {path}", err=True)
    return path


@cache_app.command("stats")
def cache_stats(cache_dir: CacheDir = None, config: CacheConfig = None) -> None:
    """Entries per backend, model and language pair."""
    from mt_aug.translation.cache import TranslationCache

    path = _cache_path(cache_dir, config)
    with TranslationCache(path, readonly=True) as cache:  # reads only: an unrelated database is refused, untouched
        rows = cache.stats()
    for r in rows:
        typer.echo(f"{r['backend']}\t{r['model']}\t{r['src']}->{r['tgt']}\t{r['entries']} entries\t{r['output_chars']} chars")
    typer.echo(f"{path}: {sum(r['entries'] for r in rows)} entries, {path.stat().st_size / 1e6:.1f} MB")


@cache_app.command("prune")
def cache_prune(
    cache_dir: CacheDir = None,
    config: CacheConfig = None,
    keep_model: Annotated[list[str] | None, typer.Option(help="Keep entries of this model id (repeatable).")] = None,
    older_than_days: Annotated[float | None, typer.Option(min=0, help="Delete entries older than this (days, >= 0).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be deleted; delete nothing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Prune even when a --keep-model has no entry in the cache "
                                                        "(a typo would otherwise delete everything).")] = False,
) -> None:
    """Delete entries of other models and/or older entries; says what it deletes first."""
    from mt_aug.translation.cache import TranslationCache

    if keep_model is None and older_than_days is None:
        _fail("cache prune: give --keep-model and/or --older-than-days")
    path = _cache_path(cache_dir, config)
    keep = set(keep_model) if keep_model else None
    older = older_than_days * 86400 if older_than_days is not None else None
    with TranslationCache(path) as cache:
        models = sorted({r["model"] for r in cache.stats()})
        unknown = sorted(keep - set(models)) if keep else []
        if unknown and not force:
            _fail(f"--keep-model {unknown[0]!r}: no entry of this model in {path}; nothing deleted "
                  f"(models here: {', '.join(models) or 'none'}; --force to prune anyway)")
        doomed = cache.prunable(keep_models=keep, older_than_s=older)
        total = sum(r["entries"] for r in doomed)
        verb = "would delete" if dry_run else "deleting"
        for r in doomed:
            typer.echo(f"{verb}: {r['backend']}\t{r['model']}\t{r['src']}->{r['tgt']}\t{r['entries']} entries")
        if dry_run:
            typer.echo(f"{path}: would delete {total} entries (dry run: nothing deleted)")
            return
        n = cache.prune(keep_models=keep, older_than_s=older) if total else 0
    typer.echo(f"{path}: deleted {n} entries")


MAX_K = 1_000_000  # --k and --batch-size: a value past this is a typo, not a wish


@app.command()
def evaluate(
    reports: Annotated[list[Path] | None, typer.Argument(help="With --compare: two or more reports.",
                                                         show_default=False)] = None,
    model: Annotated[str | None, typer.Option("--model", help="sentence-transformers model folder or Hub id, "
                                              "or 'bm25' (the lexical baseline).", show_default=False)] = None,
    format: Annotated[str, typer.Option("--format", help="lareqa (XQuAD-R, MLQA-R: sentences) or beir "
                                        "(corpus.jsonl, queries.jsonl, qrels/test.tsv: passages).")] = "lareqa",
    paths: Annotated[str | None, typer.Option("--paths", help="One file (lareqa) or folder (beir) per language, "
                                              "e.g. 'xquad-r/{lang}.json', 'miracl/{lang}'.",
                                              show_default=False)] = None,
    build: Annotated[Path | None, typer.Option("--build", help="Evaluate on this build's dev split (dev/, every "
                                               "build language) instead of --paths.", show_default=False)] = None,
    languages: Annotated[str | None, typer.Option("--languages", help="Comma-separated codes (default: every "
                                                  "file --paths matches).", show_default=False)] = None,
    k: Annotated[int, typer.Option("--k", help="Cut-off of mAP@k and recall@k (lareqa).")] = 20,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Encoding batch size.")] = 64,
    device: Annotated[str | None, typer.Option("--device", help="cpu or cuda (default: cuda if available).",
                                               show_default=False)] = None,
    with_context: Annotated[bool, typer.Option("--with-context", help="Encode each candidate as its sentence "
                                               "followed by its paragraph (lareqa).")] = False,
    passage_ndcg: Annotated[bool, typer.Option("--passage-ndcg", help="Also MTEB-style paragraph-level nDCG@10 "
                                               "per language (lareqa).")] = False,
    bitext: Annotated[bool | None, typer.Option("--bitext/--no-bitext", help="Bitext mining on sentence-aligned "
                                                "files (default: when every paragraph has a passage_id).",
                                                show_default=False)] = None,
    strict: Annotated[bool, typer.Option("--strict", help="A question that cannot be scored (answer start in no "
                                         "sentence) is an error instead of a count.")] = False,
    cache_dir: Annotated[Path, typer.Option("--cache-dir", help="Embedding cache folder.")
                         ] = Path(".cache/mt-aug/embeddings"),
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the embedding cache.")] = False,
    report: Annotated[Path | None, typer.Option("--report", help="Where to write the JSON report.",
                                                show_default=False)] = None,
    compare: Annotated[bool, typer.Option("--compare", help="Show the REPORTS side by side, one column each "
                                          "(nothing is evaluated).")] = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="With --compare: also a PNG chart of the figures.",
                                              show_default=False)] = None,
    names: Annotated[str | None, typer.Option("--names", help="With --compare: comma-separated names of the "
                                              "reports (default: each report's model).", show_default=False)] = None,
) -> None:
    """The paper's measures for a sentence-transformers model or BM25: mAP@k (multilingual pool,
    mono, cross-lingual) and language bias on XQuAD-R / MLQA-R, nDCG@10 / Recall@100 / MRR@10 on
    BEIR-layout sets; or compare reports."""
    if compare:
        _compare_reports(reports or [], model, paths, report, plot, names)
        return
    if reports:
        _fail(f"{reports[0]}: an argument without --compare (evaluate takes --model, --paths and --report)")
    if plot is not None or names is not None:
        _fail(f"{'--plot' if plot is not None else '--names'}: only with --compare")
    if build is not None:
        if paths is not None:
            _fail("--build: evaluates the build's dev split; give it without --paths")
        if format != "lareqa":
            _fail("--build: evaluates both parts of the dev split (LAReQA and BEIR); give it without --format")
        paths = str(build)
    if model is None or paths is None or report is None:
        _fail("evaluate: give --model, --paths (or --build) and --report (or --compare A.json B.json ...)")
    if format not in ("lareqa", "beir"):
        _fail(f"--format {format!r}: must be lareqa (XQuAD-R, MLQA-R) or beir (corpus, queries, qrels)")
    for name, value in (("--k", k), ("--batch-size", batch_size)):
        if not 1 <= value <= MAX_K:
            _fail(f"{name} {value}: must be between 1 and {MAX_K:,}")
    if format == "beir":
        for flag, given in (("--with-context", with_context), ("--passage-ndcg", passage_ndcg),
                            ("--strict", strict), ("--bitext", bitext)):
            if given:
                _fail(f"{flag}: lareqa only (--format beir ranks passages: nDCG@10, Recall@100, MRR@10)")
    bm25 = model == "bm25"
    if bm25 and with_context:
        _fail("--with-context: not with --model bm25 (BM25 ranks the sentences themselves)")
    _writable_report(report)  # before the model is loaded and anything is encoded
    if not no_cache and not bm25:
        from mt_aug.errors import check_writable_dir

        check_writable_dir(cache_dir, "--cache-dir")  # embeddings are stored as each file is encoded

    from mt_aug.errors import io_errors
    from mt_aug.sentence_models import ModelError
    from mt_aug.evaluation.lareqa import EvalDataError
    from mt_aug.evaluation.report import render, write_report
    from mt_aug.evaluation.run import evaluate_build, evaluate_paths

    langs = [x.strip() for x in languages.split(",") if x.strip()] if languages else None

    def note(msg: str) -> None:
        typer.echo(msg, err=True)

    try:
        opts: dict[str, Any] = {"k": k, "batch_size": batch_size, "device": device, "with_context": with_context,
                                "passage_ndcg": passage_ndcg, "bitext": bitext, "strict": strict,
                                "cache_dir": None if no_cache else cache_dir, "show_progress": True, "note": note}
        if build is not None:
            out = evaluate_build(model, build, langs, **opts)
        else:
            out = evaluate_paths(model, format, paths, langs, **opts)
    except (EvalDataError, ModelError) as exc:
        _fail(str(exc))
    with io_errors("cannot write the report", report):
        write_report(out, report)
    typer.echo(render(out))
    typer.echo(f"report: {report}")


def _compare_reports(files: list[Path], model: str | None, paths: str | None, report: Path | None,
                     plot: Path | None, names: str | None) -> None:
    """`evaluate --compare A.json B.json ... [--plot P.png] [--names a,b,...]`."""
    if model is not None or paths is not None or report is not None:
        _fail("--compare: shows existing reports; give it without --model/--paths/--report")
    if len(files) < 2:
        _fail(f"--compare: give two or more reports (got {len(files)})")
    labels = [x.strip() for x in names.split(",")] if names is not None else None
    if labels is not None and (len(labels) != len(files) or not all(labels)):
        _fail(f"--names {names!r}: {len(labels)} name(s) for {len(files)} reports (one non-empty name each)")
    if plot is not None:
        _writable_report(plot, "--plot")  # before anything is read
    from mt_aug.evaluation.report import ReportError, compare_many, load_report
    from mt_aug.evaluation.run import compare_labels

    try:
        docs = [load_report(f) for f in files]
    except ReportError as exc:
        _fail(str(exc))
    typer.echo(compare_many(docs, [str(f) for f in files], labels))
    if plot is not None:
        from mt_aug.errors import io_errors
        from mt_aug.evaluation.plot import plot_reports

        with io_errors("cannot write the chart", plot):
            try:
                plot_reports(docs, compare_labels(docs, files, labels), plot)
            except ValueError as exc:
                _fail(f"--plot: {exc}")
        typer.echo(f"plot: {plot}")


convert_eval_app = typer.Typer(help="Convert public evaluation sets into the layouts `mt-aug evaluate` reads.",
                               no_args_is_help=True)
app.add_typer(convert_eval_app, name="convert-eval")


@convert_eval_app.command("miracl")
def convert_eval_miracl(
    topics: Annotated[list[Path], typer.Option("--topics", help="topics.miracl-v1.0-<lang>-<split>.tsv "
                                               "(qid<TAB>query; repeatable).", show_default=False)],
    qrels: Annotated[list[Path], typer.Option("--qrels", help="qrels.miracl-v1.0-<lang>-<split>.tsv (TREC; "
                                              "repeatable).", show_default=False)],
    corpus: Annotated[list[Path], typer.Option("--corpus", help="The language's corpus, docs-*.jsonl(.gz) "
                                               "(docid, title, text; repeatable).", show_default=False)],
    output: Annotated[Path, typer.Option("--output", help="The BEIR folder to write (new or empty).",
                                         show_default=False)],
    judged_only: Annotated[bool, typer.Option("--judged-only", help="Keep only the passages the qrels judge (a "
                                              "small re-ranking corpus, not MIRACL's task).")] = False,
) -> None:
    """MIRACL topics, qrels and corpus as a BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv)."""
    from mt_aug import progress
    from mt_aug.errors import check_writable_dir, io_errors
    from mt_aug.evaluation.convert import convert_miracl
    from mt_aug.evaluation.lareqa import EvalDataError

    for p in [*topics, *qrels, *corpus]:
        if not p.is_file():
            _fail(f"{p}: no such file")
    check_writable_dir(output.parent, "--output's folder")
    try:
        with progress.task("convert MIRACL corpus", unit="passages") as task, \
                io_errors("cannot write the BEIR folder", output):
            counts = convert_miracl(topics, qrels, corpus, output, judged_only=judged_only, progress=task)
    except EvalDataError as exc:
        _fail(str(exc))
    typer.echo(f"{output}: {counts['queries']} queries, {counts['judgments']} judgments "
               f"({counts['relevant']} relevant), {counts['passages']} passages")


# --- inspect: translations next to their sources (quality gate) ---------------------------

@app.command()
def inspect(
    build_dir: Annotated[Path, typer.Argument(help="A build directory (or <output_dir>/current).", show_default=False)],
    lang: Annotated[str, typer.Option("--lang", help="Target language to show (ISO 639-1).")],
    n: Annotated[int, typer.Option("--n", min=1, help="At most this many dropped segments, and kept pairs.")] = 20,
    reason: Annotated[str | None, typer.Option("--reason", help="Only drops whose reason contains this, "
                                               "e.g. 'number' or 'round-trip'.")] = None,
    width: Annotated[int | None, typer.Option(min=40, max=10_000, help="Line width (default: the terminal's).")] = None,
) -> None:
    """Print English sources and their translations side by side: segments the quality gate
    dropped (drops.jsonl, each once with the views dropped for it, with reason and evidence),
    then kept views from the shards."""
    import shutil

    from mt_aug.quality.inspect import InspectError, side_by_side
    from mt_aug.quality.inspect import inspect as do_inspect

    _build_folder(build_dir)
    try:
        items = do_inspect(build_dir, lang, n, reason)
    except InspectError as exc:
        _fail(str(exc))
    if not items:
        typer.echo(f"{build_dir}: nothing to show for {lang}" + (f" with reason {reason!r}" if reason else ""))
        return
    typer.echo(side_by_side(items, lang, width or min(10_000, shutil.get_terminal_size((160, 24)).columns)))
# --- end inspect ------------------------------------------------------------------------------


# --- audit: a person's labels of the gate's work, into the manifest and card (issue 22) ------

@app.command()
def audit(
    build_dir: Annotated[Path, typer.Argument(help="A build directory (or <output_dir>/current).", show_default=False)],
    lang: Annotated[str | None, typer.Option("--lang", help="Target language to sample (ISO 639-1).")] = None,
    n: Annotated[int, typer.Option("--n", min=1, help="Kept segments to sample; drops: all, or this many.")] = 100,
    output: Annotated[Path | None, typer.Option("--output", help="The sheet to write (.tsv or .csv).",
                                                show_default=False)] = None,
    labels: Annotated[Path | None, typer.Option("--labels", help="A labelled sheet to apply (its label column: "
                                                "good or bad).", show_default=False)] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the samples.")] = 0,
) -> None:
    """Write a labelling sheet (every drop of the quality gate, or a seeded sample of --n, and a
    seeded sample of --n kept segments; source and translation side by side), or apply a
    labelled one: the gate's precision, recall and the bad rate among kept segments (stratified
    estimate, 95% intervals) into the manifest and the card."""
    from mt_aug.quality.audit import AuditError, sheet_delimiter, sheet_rows, write_sheet
    from mt_aug.release.audit import apply_labels

    _build_folder(build_dir)
    if (output is None) == (labels is None):
        _fail("audit: give --output SHEET (with --lang) to write a sheet, or --labels SHEET to apply one")
    try:
        if output is not None:
            if lang is None:
                _fail("--lang: missing (the target language to sample; see 'mt-aug audit --help')")
            sheet_delimiter(output)  # .tsv or .csv, before any work
            _writable_report(output, "--output")
            rows = sheet_rows(build_dir, lang, n, seed)
            write_sheet(output, rows)
            drops = sum(1 for r in rows if r.segment.stratum == "drop")
            typer.echo(f"{output}: {drops} dropped and {len(rows) - drops} kept segments of {lang} to label "
                       "(column label: good or bad)")
            return
        assert labels is not None
        got = apply_labels(build_dir, labels)
    except AuditError as exc:
        _fail(str(exc))
    for code, a in sorted(got["languages"].items()):
        def fmt(x: dict | None, pct: bool = False) -> str:  # type: ignore[type-arg]
            if not x:
                return "-"
            return (f"{x['value']:.1%} [{x['lo']:.1%}, {x['hi']:.1%}]" if pct
                    else f"{x['value']:.3f} [{x['lo']:.3f}, {x['hi']:.3f}]")
        typer.echo(f"{build_dir}: {code}: {a['labelled']} labelled; precision {fmt(a['precision'])}, recall "
                   f"{fmt(a['recall'])}, bad among kept {fmt(a['bad_among_kept'], True)}")
# --- end audit --------------------------------------------------------------------------------


# --- export: a Parquet copy of a build with Croissant records (issue 11) ----------------------

@app.command()
def export(
    build_dir: Annotated[Path, typer.Argument(help="A build directory (or <output_dir>/current).", show_default=False)],
    output: Annotated[Path, typer.Option("--output", help="Directory to write the export into.", show_default=False)],
    format: Annotated[str, typer.Option("--format", help="parquet")] = "parquet",
) -> None:
    """Write a build's shards and schedule as Parquet with a croissant.json whose records()
    read every record set (mlcroissant does not read Arrow IPC). Print the croissant.json path."""
    from mt_aug.errors import check_writable_dir
    from mt_aug.release.export import ExportError
    from mt_aug.release.export import export as do_export

    try:
        check_writable_dir(output, "--output")  # before anything is read or written
        _build_folder(build_dir)
        path = do_export(build_dir, output, format)
    except ExportError as exc:
        _fail(str(exc))
    typer.echo(path)
# --- end export -------------------------------------------------------------------------------


def main() -> None:
    # logging is set up by the app's callback (--quiet, --log-level), before any command runs
    app()


if __name__ == "__main__":
    main()
