"""Tally's Spark job: counts the words of one string column of a Parquet file.

Run by Tally as

    spark-submit --master URL job.py --input PATH --column NAME --output DIR \
        --options '{"tokenizer": "whitespace", "case": "lower", "min_length": 0, "stopwords": []}'

and reports on stdout, one flushed line each:

    TALLY {"event":"app","id":"<application id>"}
    TALLY {"event":"progress","done":<tasks completed>,"total":<tasks known>}
    TALLY {"event":"done","total_words":N,"distinct_words":N,"rows":N,"null_values":N}
    TALLY {"event":"error","message":"..."}        (then a non-zero exit)

The counts are written to DIR (which must not exist) as Parquet parts with two
columns, `word` (string) and `count` (long), one row per distinct word.

The semantics are those of Tally's engine (engine/src/reference.rs), with Spark
SQL built-ins only (no Python UDF), for each non-null value of the column:

    whitespace: value.split_whitespace()  (Unicode White_Space, no empty tokens)
    spark:      value.split(' ')          (U+0020 only, empty tokens kept)
    word = token.to_lowercase() if case == "lower" else token
    skip if code points of word < min_length
    skip if token.to_lowercase() in stopwords
"""

import argparse
import json
import os
import sys
import threading
import traceback

# Unicode White_Space, exactly the set Rust's char::is_whitespace uses (the
# same since Unicode 6.3), spelled out rather than `(?U)\s` so that it does not
# depend on the JVM's Unicode tables. Java's plain `\s` is ASCII only (and
# Python's str.isspace() also takes U+001C..U+001F, which are not White_Space).
WHITE_SPACE = (
    r"[\x{9}-\x{D}\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}"
    r"\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]+"
)

TOKENIZERS = ("whitespace", "spark")
CASES = ("lower", "preserve")
OPTION_KEYS = {"tokenizer", "case", "min_length", "stopwords"}

# A locale without language-specific case mappings, for the executors' JVMs
# (the last -D of a name wins, so it overrides one set before).
LOCALE_OPTS = "-Duser.language=en -Duser.country=US"

# How often progress is looked at (and so at most how often it is printed).
PROGRESS_EVERY = 0.5


def emit(event, **fields):
    """One `TALLY {json}` line on stdout, flushed."""
    line = json.dumps(dict(event=event, **fields), separators=(",", ":"))
    sys.stdout.write("TALLY " + line + "\n")
    sys.stdout.flush()


class JobError(Exception):
    """An error reported to Tally as it is."""


def stderr_to_the_jvms():
    """Under spark-submit the JVM runs this script with stdout and stderr on
    one pipe, which it copies to its own stdout: Python's warnings and
    tracebacks would land among the TALLY lines. Points fd 2 at the JVM's
    stderr instead, where Spark's own log goes (Linux; else left as it is)."""
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        return
    try:
        fd = os.open("/proc/%d/fd/2" % os.getppid(), os.O_WRONLY | os.O_APPEND)
    except OSError:
        return
    try:
        sys.stderr.flush()
        os.dup2(fd, 2)
    except OSError:
        pass
    finally:
        os.close(fd)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="job.py", add_help=False)
    parser.add_argument("--input", required=True)
    parser.add_argument("--column", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--options", required=True)

    def error(message):
        raise JobError("bad arguments: " + message)

    parser.error = error
    return parser.parse_args(argv)


def parse_options(text):
    try:
        options = json.loads(text)
    except ValueError as e:
        raise JobError("--options is not JSON: %s" % e)
    if not isinstance(options, dict):
        raise JobError("--options must be a JSON object")
    unknown = sorted(set(options) - OPTION_KEYS)
    if unknown:
        raise JobError("unknown options: %s" % ", ".join(unknown))
    tokenizer = options.get("tokenizer")
    if tokenizer not in TOKENIZERS:
        raise JobError(
            "tokenizer must be one of %s, not %s"
            % ("/".join(TOKENIZERS), json.dumps(tokenizer))
        )
    case = options.get("case")
    if case not in CASES:
        raise JobError(
            "case must be one of %s, not %s" % ("/".join(CASES), json.dumps(case))
        )
    min_length = options.get("min_length", 0)
    if isinstance(min_length, bool) or not isinstance(min_length, int):
        raise JobError("min_length must be an integer")
    stopwords = options.get("stopwords", [])
    if not isinstance(stopwords, list) or not all(isinstance(w, str) for w in stopwords):
        raise JobError("stopwords must be a list of strings")
    return tokenizer, case, min_length, sorted(set(stopwords))


def is_local_path(path):
    """A plain path (no URI scheme), which can be checked before Spark starts."""
    return "://" not in path and not path.startswith("file:")


class Progress(threading.Thread):
    """Prints task progress of every job of the application, at most every
    PROGRESS_EVERY seconds and only when it changed.

    `total` is the tasks of the stages that have started (a stage's tasks are
    known once it runs; skipped stages never count), `done` the tasks of those
    stages that completed."""

    def __init__(self, sc):
        super().__init__(name="tally-progress", daemon=True)
        self.tracker = sc.statusTracker()
        self.stop_event = threading.Event()
        self.stages = {}  # stage id -> (completed, tasks)
        self.last = None

    def poll(self):
        tracker = self.tracker
        ids = set(tracker.getActiveStageIds())
        for job_id in tracker.getJobIdsForGroup(None):
            job = tracker.getJobInfo(job_id)
            if job is not None:
                ids.update(job.stageIds)
        for stage_id in ids:
            info = tracker.getStageInfo(stage_id)
            if info is None:
                continue
            started = (
                stage_id in self.stages
                or info.numActiveTasks > 0
                or info.numCompletedTasks > 0
                or info.numFailedTasks > 0
            )
            if started:
                self.stages[stage_id] = (
                    min(info.numCompletedTasks, info.numTasks),
                    info.numTasks,
                )
        done = sum(c for c, _ in self.stages.values())
        total = sum(t for _, t in self.stages.values())
        if (done, total) != self.last and total > 0:
            self.last = (done, total)
            emit("progress", done=done, total=total)

    def run(self):
        parent = os.getppid()
        while not self.stop_event.wait(PROGRESS_EVERY):
            if os.getppid() != parent:
                # The driver JVM (our parent under spark-submit) is gone, killed
                # without a chance to stop us: nothing is left to wait for.
                os._exit(3)
            try:
                self.poll()
            except Exception:  # the gateway is closing; progress is best effort
                pass

    def finish(self):
        self.stop_event.set()
        self.join(timeout=5)
        try:
            self.poll()
        except Exception:
            pass


def count(spark, args, tokenizer, case, min_length, stopwords):
    from pyspark.sql import Observation
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    try:
        table = spark.read.parquet(args.input)
        schema = table.schema
    except Exception as e:
        raise JobError("cannot read %s: %s" % (args.input, first_line(e)))
    fields = {f.name: f for f in schema.fields}
    field = fields.get(args.column)
    if field is None:
        raise JobError(
            "no column %s in %s (it has %s)"
            % (
                json.dumps(args.column),
                args.input,
                ", ".join(json.dumps(n) for n in schema.names) or "no columns",
            )
        )
    if not isinstance(field.dataType, StringType):
        raise JobError(
            "column %s is %s, not a string"
            % (json.dumps(args.column), field.dataType.simpleString())
        )

    # Backticks: a name with dots or spaces is one top-level column.
    value = F.col("`" + args.column.replace("`", "``") + "`")
    # Exact and cheap (a Parquet footer has its row count); a job of its own.
    rows = table.count()
    # Nulls are counted on the way (observed metrics are accumulators: a
    # re-run map task could count twice, which the check below catches).
    observed_input = Observation("tally_input")
    values = table.select(value.alias("value")).observe(
        observed_input,
        F.count(F.lit(1)).alias("seen"),
        F.count(F.col("value")).alias("values"),
    )
    values = values.where(F.col("value").isNotNull())

    if tokenizer == "whitespace":
        # split() keeps the empty strings before leading / after trailing
        # white space (and of an empty value): dropped, as split_whitespace does.
        tokens = values.select(
            F.explode(F.split(F.col("value"), WHITE_SPACE, -1)).alias("token")
        ).where(F.col("token") != "")
    else:
        # limit -1: trailing empty strings are kept, as str::split(' ') does.
        tokens = values.select(
            F.explode(F.split(F.col("value"), " ", -1)).alias("token")
        )

    # lower() per token, never per value: final sigma depends on the token's
    # end (no White_Space is cased or case-ignorable, so it gives the same
    # result, but per token is the reference's definition).
    folded = F.lower(F.col("token"))
    word = folded if case == "lower" else F.col("token")
    tokens = tokens.select(word.alias("word"), folded.alias("folded"))
    if min_length > 0:
        # char_length counts code points (not UTF-16 units), as chars().count().
        tokens = tokens.where(F.char_length(F.col("word")) >= min_length)
    if stopwords:
        tokens = tokens.where(~F.col("folded").isin(stopwords))

    counts = tokens.groupBy("word").agg(F.count(F.lit(1)).cast("long").alias("count"))
    observed_output = Observation("tally_output")
    counts = counts.observe(
        observed_output,
        F.coalesce(F.sum("count"), F.lit(0)).cast("long").alias("total_words"),
        F.count(F.lit(1)).alias("distinct_words"),
    )
    counts.write.mode("errorifexists").parquet(args.output)

    # An observation can come back empty (it does, as an AssertionError,
    # when no value has a token: Spark drops the empty plan): then the
    # numbers are computed again, which is cheap in that case.
    try:
        got = observed_input.get
        if int(got["seen"]) != rows:
            raise ValueError("observed %s rows of %s" % (got["seen"], rows))
        null_values = rows - int(got["values"])
    except Exception:
        null_values = table.where(value.isNull()).count()
    try:
        got = observed_output.get
        total_words = int(got["total_words"])
        distinct_words = int(got["distinct_words"])
    except Exception:
        got = (
            spark.read.parquet(args.output)
            .agg(
                F.coalesce(F.sum("count"), F.lit(0)).cast("long").alias("t"),
                F.count(F.lit(1)).alias("d"),
            )
            .first()
        )
        total_words, distinct_words = int(got["t"]), int(got["d"])
    return {
        "total_words": total_words,
        "distinct_words": distinct_words,
        "rows": rows,
        "null_values": null_values,
    }


def first_line(e):
    """The gist of an error: a JVM error's root cause (py4j's own message is
    only "An error occurred while calling o64.parquet."), else its first line."""
    text = ""
    java = getattr(e, "java_exception", None)
    if java is not None:
        try:
            while java.getCause() is not None and java.getCause() != java:
                java = java.getCause()
            text = str(java.toString())
        except Exception:
            text = ""
    text = text.strip() or str(e).strip() or type(e).__name__
    return text.splitlines()[0][:2000]


def main(argv):
    stderr_to_the_jvms()
    try:
        args = parse_args(argv)
        tokenizer, case, min_length, stopwords = parse_options(args.options)
        if is_local_path(args.input) and not os.path.isfile(args.input):
            raise JobError("no such input file: %s" % args.input)
        # Spark skips files named so even when named directly (and then finds
        # no schema), and reads a path as a glob pattern.
        if os.path.basename(args.input).startswith(("_", ".")):
            raise JobError("Spark cannot read a file whose name starts with '_' or '.': %s" % args.input)
        for path in (args.input, args.output):
            if any(ch in path for ch in "{}[]*?\\"):
                raise JobError("Spark takes a path with any of {}[]*?\\ for a pattern: %s" % path)
        if is_local_path(args.output) and os.path.lexists(args.output):
            raise JobError("the output directory already exists: %s" % args.output)
    except JobError as e:
        emit("error", message=str(e))
        return 2

    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    # Starts (or, under spark-submit, connects to) the JVM first: only then
    # does SparkConf() hold spark-submit's --conf/--name, which a conf made
    # before would silently override.
    SparkContext._ensure_initialized()
    conf = SparkConf()
    # Defaults that spark-submit --conf can override.
    defaults = {
        "spark.app.name": "tally",  # spark-submit --name wins
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # A word count shuffles little: 200 reduce tasks would be pure overhead.
        "spark.sql.shuffle.partitions": "8",
        # Smaller input splits (row groups permitting): finer progress and a
        # quicker stop on a cancel, for a few ms per task.
        "spark.sql.files.maxPartitionBytes": "32m",
    }
    for key, val in defaults.items():
        if not conf.contains(key):
            conf.set(key, val)
    # Not overridable: the semantics depend on them.
    conf.set("spark.sql.caseSensitive", "true")  # --column is matched exactly
    # lower() through ICU: full Unicode case mapping with Final_Sigma by the
    # Unicode definition, as Rust's to_lowercase. The JVM's own mapping (this
    # set to false) decides final sigma by word breaks instead: "Α1Σ" ->
    # "α1ς", "Α-Σ" -> "α-ς" where Rust gives "α1σ", "α-σ".
    conf.set("spark.sql.icu.caseMappings.enabled", "true")
    # Both mappings follow the JVM's default locale (tr/az: "İ" -> "i", not
    # "i̇"); Rust's is locale-free. Executors start after this, so they get an
    # English locale here; the driver's (which is the executor in local mode)
    # is set once it runs, below.
    executor_opts = conf.get("spark.executor.extraJavaOptions", "")
    conf.set(
        "spark.executor.extraJavaOptions",
        (executor_opts + " " + LOCALE_OPTS).strip(),
    )

    sc = None
    spark = None
    progress = None
    totals = None
    error = None
    try:
        # The context first: its id is known seconds before the session is.
        sc = SparkContext.getOrCreate(conf)
        sc.setLogLevel("WARN")
        emit("app", id=sc.applicationId)
        progress = Progress(sc)
        progress.start()
        jvm = sc._jvm
        jvm.java.util.Locale.setDefault(jvm.java.util.Locale.ROOT)
        spark = SparkSession(sc)
        totals = count(spark, args, tokenizer, case, min_length, stopwords)
    except JobError as e:
        error = str(e)
    except Exception as e:
        traceback.print_exc()  # to stderr, for the run's log
        error = first_line(e)
    finally:
        # Progress first, so that nothing follows the last event.
        if progress is not None:
            progress.finish()
    if error is None:
        emit("done", **totals)
    else:
        emit("error", message=error)
    if sc is not None:
        try:
            (spark or sc).stop()
        except Exception:
            pass
    return 0 if error is None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
