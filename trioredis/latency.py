"""Command timing and what it feeds: latency histograms, the slow log, the latency monitor.

Sans-I/O. ``core.Server`` times every command with one monotonic clock read before and after
the handler and hands the microseconds here (the common case inline, see ``execute``):

- **Latency histograms** (``INFO latencystats``, ``LATENCY HISTOGRAM``): Redis keeps an HDR
  histogram per command (1 ns to 1 s, 2 significant digits). Here a command's histogram is a
  list of counts per microsecond below ``FAST_US`` (recording is one ``h[us] += 1`` on the hot
  path) ending in a dict of HDR bucket -> count for slower calls; each microsecond falls in
  exactly one HDR bucket, so when read (:func:`buckets`) percentiles and the cumulative
  distribution come out as Redis's ``hdr_value_at_percentile`` and log iterator give them.
- **The slow log** (``SLOWLOG``): entries of at most 32 arguments of at most 128 bytes.
- **The latency monitor** (``LATENCY LATEST/HISTORY/GRAPH/DOCTOR``): per event name, a ring of
  160 one-second samples and the all-time maximum, fed when an event reaches
  ``latency-monitor-threshold`` milliseconds ("command", "fast-command", "expire-cycle", ...).
"""

from __future__ import annotations

import time
from collections import deque

from .blocking import Block
from .extensions import SERVER_INIT
from .protocol.replies import ErrorReply

# -- HDR buckets (hdr_histogram with lowest 1, highest 1e9, 2 significant figures) ------------

HIST_MIN_NS = 1
HIST_MAX_NS = 1_000_000_000
_SUB_BUCKETS = 256  # 2 significant figures: values below 256 ns are exact
COUNTS_LEN = 3072  # buckets up to 2**30 - 1, as hdr_init sizes them for 1e9


def index_of_ns(ns: int) -> int:
    """hdr's counts index of a value (ns already clamped to [1, 1e9])."""
    if ns < _SUB_BUCKETS:
        return ns
    shift = ns.bit_length() - 8  # resolution 2**shift in [2**(shift+7), 2**(shift+8))
    return 128 * shift + (ns >> shift)


def lowest_of(index: int) -> int:
    """hdr_value_at_index: the lowest value a bucket holds."""
    if index < _SUB_BUCKETS:
        return index
    shift = index // 128 - 1
    return (index - 128 * shift) << shift


def highest_of(index: int) -> int:
    """The highest value equivalent to the bucket's (hdr's highest_equivalent_value)."""
    if index < _SUB_BUCKETS:
        return index
    shift = index // 128 - 1
    return lowest_of(index) + (1 << shift) - 1


_US_TABLE_LEN = 1 << 14  # up to 16 ms by table lookup, slower commands compute it
US_INDEX = [index_of_ns(max(us * 1000, HIST_MIN_NS)) for us in range(_US_TABLE_LEN)]


def index_of_us(us: int) -> int:
    """The bucket of a duration in microseconds (Redis records ``duration * 1000`` ns,
    clamped to the histogram's range)."""
    if us < _US_TABLE_LEN:
        return US_INDEX[us]
    return index_of_ns(min(us * 1000, HIST_MAX_NS))


FAST_US = 1024  # durations below this are counted per microsecond


def record(cmd, us: int) -> None:
    """Add one duration to ``cmd``'s histogram (made on first use, as Redis does). The hot
    path in core does ``h[us] += 1`` itself when the histogram exists and ``us < FAST_US``."""
    h = cmd.latency_hist
    if h is None:
        h = cmd.latency_hist = [0] * FAST_US + [{}]
    if us < FAST_US:
        h[us] += 1
    else:
        slow = h[FAST_US]
        i = index_of_us(us)
        slow[i] = slow.get(i, 0) + 1


def buckets(hist: list) -> dict:
    """A recorded histogram as HDR bucket index -> count."""
    out = dict(hist[FAST_US])
    for us in range(FAST_US):
        n = hist[us]
        if n:
            i = US_INDEX[us]
            out[i] = out.get(i, 0) + n
    return out


def histogram_total(hist: list) -> int:
    return sum(hist[:FAST_US]) + sum(hist[FAST_US].values())


def value_at_percentile(hist: dict, percentile: float) -> int:
    """hdr_value_at_percentile over :func:`buckets`, in ns: the highest value of the bucket
    where the count reaches ``percentile`` of the total (the lowest for percentile 0)."""
    total = sum(hist.values())
    p = min(percentile, 100.0)
    wanted = max(int(p / 100 * total + 0.5), 1)
    seen = 0
    for i in sorted(hist):
        seen += hist[i]
        if seen >= wanted:
            return lowest_of(i) if percentile == 0.0 else highest_of(i)
    return 0


def cumulative_distribution(hist: dict) -> list[tuple[int, int]]:
    """``(usec, cumulative count)`` pairs of :func:`buckets` as LATENCY HISTOGRAM reports them: hdr's
    logarithmic iterator from 1024 ns doubling, each level naming the highest value of its
    bucket in microseconds, only levels where the count grew."""
    items = sorted(hist.items())
    out = []
    pos = 0
    cumulative = previous = 0
    level = 1024
    total = sum(hist.values())
    while level < (1 << 30) and previous < total:
        idx = index_of_ns(level)
        while pos < len(items) and items[pos][0] <= idx:
            cumulative += items[pos][1]
            pos += 1
        if cumulative > previous:
            out.append((highest_of(idx) // 1000, cumulative))
        previous = cumulative
        level <<= 1
    return out


def format_percentile(p: float) -> str:
    """Redis's ``%f`` then trimDoubleString: 50.0 -> "50", 99.9 -> "99.9"."""
    text = f"{p:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def percentiles_line(name: str, hist: list, percentiles) -> str:
    """One ``latency_percentiles_usec_<cmd>:p50=...`` line of INFO latencystats."""
    b = buckets(hist)
    parts = [f"p{format_percentile(p)}={value_at_percentile(b, p) / 1000:.3f}"
             for p in percentiles]
    return f"latency_percentiles_usec_{name}:" + ",".join(parts)


# -- the slow log ------------------------------------------------------------------------------

SLOWLOG_ENTRY_MAX_ARGC = 32
SLOWLOG_ENTRY_MAX_STRING = 128


def slowlog_args(argv: list) -> list[bytes]:
    """Redis's slowlogCreateEntry: at most 32 arguments (the last saying how many more there
    were) of at most 128 bytes (plus how many more bytes there were)."""
    argc = len(argv)
    n = min(argc, SLOWLOG_ENTRY_MAX_ARGC)
    out = []
    for j in range(n):
        if n != argc and j == n - 1:
            out.append(b"... (%d more arguments)" % (argc - n + 1))
            break
        a = argv[j]
        if len(a) > SLOWLOG_ENTRY_MAX_STRING:
            a = a[:SLOWLOG_ENTRY_MAX_STRING] + b"... (%d more bytes)" % (
                len(a) - SLOWLOG_ENTRY_MAX_STRING)
        out.append(bytes(a))
    return out


class SlowLog:
    """Entries ``[id, unix time, usec, args, client addr, client name]``, newest first."""

    def __init__(self):
        self.entries: deque = deque()
        self.next_id = 0  # SLOWLOG RESET keeps counting, as Redis does

    def push(self, c, argv: list, usec: int, max_len: int) -> None:
        entry = [self.next_id, int(time.time()), usec, slowlog_args(argv),
                 (c.addr or "").encode(), bytes(c.name or b"")]
        self.next_id += 1
        self.entries.appendleft(entry)
        self.trim(max_len)

    def trim(self, max_len: int) -> None:
        while len(self.entries) > max_len:
            self.entries.pop()

    def get(self, count: int) -> list:
        return [list(e) for e in list(self.entries)[:count]]


# -- the latency monitor -----------------------------------------------------------------------

LATENCY_TS_LEN = 160
LATENCY_GRAPH_COLS = 80


class TimeSeries:
    """One event's samples: a ring of ``[unix time, ms]`` (one per second, the highest of that
    second) and the all-time maximum."""

    __slots__ = ("samples", "idx", "max")

    def __init__(self):
        self.samples = [[0, 0] for _ in range(LATENCY_TS_LEN)]
        self.idx = 0
        self.max = 0

    def add(self, now: int, ms: int) -> None:
        if ms > self.max:
            self.max = ms
        prev = self.samples[(self.idx - 1) % LATENCY_TS_LEN]
        if prev[0] == now:
            if ms > prev[1]:
                prev[1] = ms
            return
        self.samples[self.idx] = [now, ms]
        self.idx = (self.idx + 1) % LATENCY_TS_LEN

    def ordered(self) -> list:
        """The recorded samples, oldest first."""
        n = LATENCY_TS_LEN
        return [self.samples[(self.idx + j) % n] for j in range(n)
                if self.samples[(self.idx + j) % n][0]]

    def latest(self) -> list:
        return self.samples[(self.idx - 1) % LATENCY_TS_LEN]


class LatencyMonitor:
    """Event name -> TimeSeries, fed when a latency reaches the threshold."""

    def __init__(self, config):
        self.config = config
        self.events: dict[str, TimeSeries] = {}

    def add_if_needed(self, event: str, ms: int) -> None:
        """latencyAddSampleIfNeeded: ``ms`` counts when the monitor is on and it reaches the
        threshold."""
        threshold = self.config["latency-monitor-threshold"]
        if threshold and ms >= threshold:
            self.add(event, ms)

    def add(self, event: str, ms: int) -> None:
        ts = self.events.get(event)
        if ts is None:
            ts = self.events[event] = TimeSeries()
        ts.add(int(time.time()), ms)

    def reset(self, names: list[str] | None = None) -> int:
        if names is None:
            n = len(self.events)
            self.events.clear()
            return n
        return sum(1 for name in names if self.events.pop(name, None) is not None)

    def graph(self, event: str) -> str:
        """LATENCY GRAPH: Redis's header, dashes, and a 4-row sparkline with age labels."""
        ts = self.events[event]
        now = int(time.time())
        values, labels = [], []
        for t, ms in ts.ordered():
            values.append(ms)
            labels.append(_age_label(now - t))
        low = min(values) if values else 0
        high = max(values) if values else 0
        out = (f"{event} - high {high} ms, low {low} ms (all time high {ts.max} ms)\n"
               + "-" * LATENCY_GRAPH_COLS + "\n")
        return out + sparkline(values, labels, LATENCY_GRAPH_COLS, 4)

    def doctor(self, srv) -> str:
        return latency_report(self, srv)


def _age_label(elapsed: int) -> str:
    if elapsed < 60:
        return f"{elapsed}s"
    if elapsed < 3600:
        return f"{elapsed // 60}m"
    if elapsed < 86400:
        return f"{elapsed // 3600}h"
    return f"{elapsed // 86400}d"


_FILL = "_o#"


def sparkline(values: list, labels: list, columns: int, rows: int) -> str:
    """Redis's sparklineRender with SPARKLINE_FILL: ``columns`` samples per block of rows,
    then a blank row and the labels written vertically."""
    out = []
    for start in range(0, len(values), columns):
        if start:
            out.append("\n")
        out.append(_sparkline_range(values, labels, rows, start,
                                    min(columns, len(values) - start)))
    return "".join(out)


def _sparkline_range(values, labels, rows, offset, length) -> str:
    lo, hi = min(values), max(values)
    relmax = (hi - lo) or 1
    steps = len(_FILL) * rows
    has_labels = any(labels)
    out = []
    row = 0
    while True:
        more = False
        chars = [" "] * length
        for j in range(length):
            step = int(int((values[offset + j] - lo) * steps) / relmax)
            step = min(max(step, 0), steps - 1)
            if row < rows:
                more = True
                charidx = step - (rows - row - 1) * len(_FILL)
                if 0 <= charidx < len(_FILL):
                    chars[j] = _FILL[charidx]
                elif charidx >= len(_FILL):
                    chars[j] = "|"
            else:
                if has_labels and row - rows < 1:  # a blank line above the labels
                    more = True
                    break
                label = labels[offset + j]
                k = row - rows - 1
                if label and len(label) > k:
                    more = True
                    chars[j] = label[k]
        if not more:
            break
        row += 1
        out.append("".join(chars) + "\n")
    return "".join(out)


def _analyze(ts: TimeSeries, now: int) -> tuple[int, int, int, float]:
    """analyzeLatencyForEvent: samples, average, mean absolute deviation, period."""
    samples = ts.ordered()
    n = len(samples)
    if not n:
        return 0, 0, 0, 0.0
    avg = sum(ms for _, ms in samples) // n
    period = now - min(t for t, _ in samples) or 1
    mad = sum(abs(avg - ms) for _, ms in samples) // n
    return n, avg, mad, period / n


def anon_huge_pages() -> int:
    """THPGetAnonHugePagesSize: kB of transparent huge pages this process uses."""
    total = 0
    try:
        with open("/proc/self/smaps", "rb") as f:
            for line in f:
                if line.startswith(b"AnonHugePages:"):
                    total += int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return total


_ADVICE = {
    "better_vm": "- If you are using a virtual machine, consider upgrading it with a faster one using a hypervisior that provides less latency during fork() calls. Xen is known to have poor fork() performance. Even in the context of the same VM provider, certain kinds of instances can execute fork faster than others.\n",  # noqa: E501
    "slowlog_enabled": "- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {usec}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n",  # noqa: E501
    "slowlog_tuning": "- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {usec}'.\n",  # noqa: E501
    "slowlog_inspect": "- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n",  # noqa: E501
    "scheduler": "- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n"  # noqa: E501
    "  1) Lower the system load.\n"
    "  2) Use a computer / VM just for Redis if you are running other software in the same system.\n"  # noqa: E501
    "  3) Check if you have a \"noisy neighbour\" problem.\n"
    "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n"  # noqa: E501
    "  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n",  # noqa: E501
    "local_disk": "- It is strongly advised to use local disks for persistence, especially if you are using AOF. Remote disks provided by platform-as-a-service providers are known to be slow.\n",  # noqa: E501
    "ssd": "- SSD disks are able to reduce fsync latency, and total time needed for snapshotting and AOF log rewriting (resulting in smaller memory usage). With extremely high write load SSD disks can be a good option. However Redis should perform reasonably with high load using normal disks. Use this advice as a last resort.\n",  # noqa: E501
    "data_writeback": "- Mounting ext3/4 filesystems with data=writeback can provide a performance boost compared to data=ordered, however this mode of operation provides less guarantees, and sometimes it can happen that after a hard crash the AOF file will have a half-written command at the end and will require to be repaired before Redis restarts.\n",  # noqa: E501
    "disk_contention": "- Try to lower the disk contention. This is often caused by other disk intensive processes running in the same computer (including other Redis instances).\n",  # noqa: E501
    "no_appendfsync": "- Assuming from the point of view of data safety this is viable in your environment, you could try to enable the 'no-appendfsync-on-rewrite' option, so that fsync will not be performed while there is a child rewriting the AOF file or producing an RDB file (the moment where there is high disk contention).\n",  # noqa: E501
    "relax_fsync_policy": "- Your fsync policy is set to 'always'. It is very hard to get good performances with such a setup, if possible try to relax the fsync policy to 'onesec'.\n",  # noqa: E501
    "write_load_info": "- Latency during the AOF atomic rename operation or when the final difference is flushed to the AOF file at the end of the rewrite, sometimes is caused by very high write load, causing the AOF buffer to get very large. If possible try to send less commands to accomplish the same work, or use Lua scripts to group multiple operations into a single EVALSHA call.\n",  # noqa: E501
    "hz": "- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n",  # noqa: E501
    "large_objects": "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n",  # noqa: E501
    "mass_eviction": "- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n",  # noqa: E501
    "disable_thp": "- I detected a non zero amount of anonymous huge pages used by your process. This creates very serious latency events in different conditions, especially when Redis is persisting on disk. To disable THP support use the command 'echo never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local so that the command will be executed again after a reboot. Note that even if you have already disabled THP, you still need to restart the Redis process to get rid of the huge pages already created.\n",  # noqa: E501
}

# Which advices each event brings, as latency.c's createLatencyReport.
_EVENT_ADVICE = {
    "fast-command": ("scheduler",),
    "aof-write-pending-fsync": ("local_disk", "disk_contention", "ssd", "data_writeback"),
    "aof-write-active-child": ("no_appendfsync", "data_writeback", "ssd"),
    "aof-write-alone": ("local_disk", "data_writeback", "ssd"),
    "aof-fsync-always": ("relax_fsync_policy",),
    "aof-fstat": ("disk_contention", "local_disk"),
    "rdb-unlink-temp-file": ("disk_contention", "local_disk"),
    "aof-rewrite-diff-write": ("write_load_info", "data_writeback", "ssd", "local_disk"),
    "aof-rename": ("write_load_info", "data_writeback", "ssd", "local_disk"),
    "expire-cycle": ("hz", "large_objects"),
    "eviction-del": ("large_objects",),
    "eviction-cycle": ("mass_eviction",),
}


def latency_report(monitor: LatencyMonitor, srv) -> str:
    """LATENCY DOCTOR: Redis's createLatencyReport, event by event, then the advices."""
    cfg = srv.config
    threshold = cfg["latency-monitor-threshold"]
    if not monitor.events and not threshold:
        return ("I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis "
                "instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" "
                "in order to enable it. If we weren't in a deep space mission I'd suggest to "
                "take a look at https://redis.io/topics/latency-monitor.\n")
    now = int(time.time())
    out = []
    advise = set()
    advices = 0
    for num, (event, ts) in enumerate(list(monitor.events.items()), 1):
        if num == 1:
            out.append("Dave, I have observed latency spikes in this Redis instance. You don't "
                       "mind talking about it, do you Dave?\n\n")
        n, avg, mad, period = _analyze(ts, now)
        out.append(f"{num}. {event}: {n} latency spikes (average {avg}ms, mean deviation "
                   f"{mad}ms, period {period:.2f} sec). Worst all time event {ts.max}ms.")
        if event == "fork":
            rate = getattr(srv, "stat_fork_rate", 0.0)
            quality = ("terrible" if rate < 10 else "poor" if rate < 25
                       else "good" if rate < 100 else "excellent")
            if rate < 25:
                advise.add("better_vm")
                advices += 1
            out.append(f" Fork rate is {rate:.2f} GB/sec ({quality}).")
        if event == "command":
            slower = cfg["slowlog-log-slower-than"]
            if slower < 0 or cfg["slowlog-max-len"] == 0:
                advise.add("slowlog_enabled")
                advices += 1
            elif int(slower / 1000) > threshold:
                advise.add("slowlog_tuning")
                advices += 1
            advise.update(("slowlog_inspect", "large_objects"))
            advices += 2
        for name in _EVENT_ADVICE.get(event, ()):
            advise.add(name)
            advices += 1
        out.append("\n")
    if anon_huge_pages() > 0:
        advise.add("disable_thp")
        advices += 1
    if not monitor.events and not advices:
        out.append("Dave, no latency spike was observed during the lifetime of this Redis "
                   "instance, not in the slightest bit. I honestly think you ought to sit down "
                   "calmly, take a stress pill, and think things over.\n")
    elif not advices:
        out.append("\nWhile there are latency events logged, I'm not able to suggest any easy "
                   "fix. Please use the Redis community to get some help, providing this report "
                   "in your help request.\n")
    else:
        out.append("\nI have a few advices for you:\n\n")
        if "relax_fsync_policy" in advise and cfg["appendfsync"] != "always":
            advise.discard("relax_fsync_policy")
        if "hz" in advise and cfg["hz"] >= 100:
            advise.discard("hz")
        for name, text in _ADVICE.items():
            if name in advise:
                out.append(text.replace("{usec}", str(threshold * 1000)))
    return "".join(out)


# -- per-server state and the accounting of a call -------------------------------------------

NEVER = 1 << 62  # a threshold no duration reaches


class Timing:
    """A server's slow log and latency monitor, and the thresholds ``core.execute`` checks.

    ``server.slow_usec`` is the one number the hot path compares a duration with: the lower of
    the slow log's and the latency monitor's thresholds (NEVER when both are off);
    ``server.latency_tracking`` says whether to record histograms.
    """

    # (cmd, argv) -> argv with secrets replaced; commands/monitoring.py installs Redis's rules.
    redact = staticmethod(lambda cmd, argv: argv)

    def __init__(self, srv):
        self.server = srv
        self.slowlog = SlowLog()
        self.monitor = LatencyMonitor(srv.config)
        cfg = srv.config
        for name in ("slowlog-log-slower-than", "latency-monitor-threshold",
                     "latency-tracking"):
            cfg.on_change(name, self._thresholds)
        cfg.on_change("slowlog-max-len", lambda v, old: self.slowlog.trim(v))
        srv.add_hook("resetstat", self.reset_stats)
        self._thresholds(None, None)

    def _thresholds(self, value, old) -> None:
        srv = self.server
        cfg = srv.config
        slow = cfg["slowlog-log-slower-than"]
        monitor_ms = cfg["latency-monitor-threshold"]
        srv.slow_usec = min(slow if slow >= 0 else NEVER,
                            monitor_ms * 1000 if monitor_ms > 0 else NEVER)
        srv.latency_tracking = bool(cfg["latency-tracking"])

    def reset_stats(self) -> None:
        """CONFIG RESETSTAT: command durations and histograms (calls are reset by it)."""
        from .commands import registry

        for cmd in registry.BY_NAME.values():
            cmd.usec = 0
            cmd.latency_hist = None

    def slow(self, c, cmd, argv: list, usec: int) -> None:
        """A call that reached ``server.slow_usec``: the latency monitor's "command" or
        "fast-command" event, and the slow log."""
        self.monitor.add_if_needed("fast-command" if "fast" in cmd.flags else "command",
                                   usec // 1000)
        self.log(c, cmd, argv, usec)

    def log(self, c, cmd, argv: list, usec: int) -> None:
        """slowlogPushCurrentCommand: commands with skip_slowlog (EXEC, ...) never show, and
        secrets are redacted."""
        cfg = self.server.config
        slower = cfg["slowlog-log-slower-than"]
        if slower < 0 or usec < slower or "skip_slowlog" in cmd.flags:
            return
        self.slowlog.push(c, self.redact(cmd, argv), usec, cfg["slowlog-max-len"])

    def blocked(self, cmd, blk: Block, argv: list, usec: int) -> None:
        """A call that blocked: Redis 7.0 counts the call now and its time twice (now, and
        again with the serving time when a key serves it); the histogram, the slow log and
        the latency events wait for the end."""
        cmd.calls += 1
        cmd.usec += usec
        blk.usec = usec
        blk.orig_argv = argv

    def served(self, blk: Block, usec: int) -> None:
        """A ready key's retry that served ``blk`` took ``usec``: part of the command's time,
        and the latency monitor's "command-unblocking" event."""
        if blk.usec is not None:
            blk.usec += usec
        if usec >= self.server.slow_usec:
            self.monitor.add_if_needed("command-unblocking", usec // 1000)

    def unblocked(self, blk: Block, reply, served: bool) -> None:
        """Redis's updateStatsOnUnblock, for a command blocked on keys that a key served
        (``served``, with the serving time already added to ``blk.usec``) or that CLIENT
        UNBLOCK ended with an error. Timeouts and WAIT (no keys) record nothing, as in Redis.
        The error case logs no arguments: Redis has freed them by then."""
        cmd = blk.cmd
        if blk.usec is None or not blk.keys or cmd is None:
            return
        failed = reply.__class__ is ErrorReply
        if not served and not failed:
            return
        usec = blk.usec
        cmd.usec += usec
        if failed:
            cmd.failed_calls += 1
        if self.server.latency_tracking:
            record(cmd, usec)
        self.log(blk.client, cmd, blk.orig_argv if served else [], usec)


def _init(srv) -> None:
    srv.timing = Timing(srv)


SERVER_INIT.insert(0, _init)  # before any other init could run a command
