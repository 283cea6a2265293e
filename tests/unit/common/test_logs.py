"""Log lines: the cached-second formatter writes exactly what logging's default would."""
import logging
import os

from objstore.common import logs


def _record(created: float) -> logging.LogRecord:
    record = logging.LogRecord("objstore.test", logging.INFO, __file__, 1, "GET %s", ("/a",),
                               None)
    record.created = created
    record.msecs = (created - int(created)) * 1000
    record.trans_id = "tx1"
    return record


def test_line_formatter_matches_the_default_across_seconds():
    reference = logging.Formatter(logs.LOG_FORMAT)
    fast = logs._LineFormatter()
    # within one second, across a second, a minute, a day, and back in time
    for created in (1764600000.001, 1764600000.999, 1764600001.5, 1764600059.999,
                    1764600060.0, 1764633599.75, 1764633600.25, 1764600000.5):
        assert fast.format(_record(created)) == reference.format(_record(created))


def test_trimmed_records_still_carry_every_field_the_format_prints(monkeypatch):
    for name in ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing"):
        monkeypatch.setattr(logging, name, getattr(logging, name))  # restored afterwards
    logs.trim_log_records()
    record = logging.getLogger("objstore.test").makeRecord(
        "objstore.test", logging.INFO, "(unknown file)", 0, "hello %s", ("you",), None)
    record.trans_id = "tx2"
    line = logs._LineFormatter().format(record)
    assert line.endswith("objstore.test INFO hello you (txn: tx2)")
    assert record.thread is None and record.process is None


def test_a_rotated_log_file_is_followed_within_a_second(tmp_path):
    now = [100.0]
    path = tmp_path / "server.log"
    handler = logs._ReopenedFileHandler(str(path), clock=lambda: now[0])
    handler.setFormatter(logging.Formatter("%(message)s"))

    def line(text):
        handler.emit(logging.LogRecord("t", logging.INFO, __file__, 1, text, None, None))

    try:
        line("before")
        os.rename(path, tmp_path / "server.log.1")  # what logrotate does
        now[0] += 0.5
        line("just after")  # the rotated file keeps it: no stat this soon
        now[0] += 0.6
        line("a second on")
        assert (tmp_path / "server.log.1").read_text() == "before\njust after\n"
        assert path.read_text() == "a second on\n"
    finally:
        handler.close()
