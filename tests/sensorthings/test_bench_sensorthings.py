"""`lorafield bench sensorthings` at a tiny size against the tests' SensorThings server: its
lines parse and its counts add up (what each run queued is delivered or rejected, and is on
the server; the server-only runs carry the same Observations). Behaviour, not speed."""

import re

import pytest
from lorafield_tools.cli import main


def bench(capsys, *argv):
    status = main(["bench", "sensorthings", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def lines(out):
    """[(name, text after 'name: ')] of the bench's output, every line."""
    out_lines = [line for line in out.splitlines() if line.strip()]
    assert all(": " in line for line in out_lines), out
    return [tuple(line.split(": ", 1)) for line in out_lines]


def numbers(pattern, text):
    match = re.search(pattern, text)
    assert match, (pattern, text)
    return [float(g.replace(",", "")) for g in match.groups()]


COUNTS = (
    r"queued (\d+), delivered (\d+), rejected (\d+), waiting for sync (\d+),"
    r" in the outbox (\d+), new on the server (\d+)"
)
SERVER = (
    r"(\d+) observations in [\d.]+ s, (\d+)/s .*?(\d+) requests.*refused (\d+),"
    r" new on the server (\d+)"
)


def test_the_figures_parse_and_the_counts_add_up(capsys):
    status, out, err = bench(
        capsys, "--readings", "400", "--devices", "6", "--batch", "40", "--unbatched-limit", "60"
    )
    assert status == 0, err
    pairs = lines(out)
    got = dict(pairs)
    assert got["server"].startswith("django-ogc-sensorthings ")
    (readings, devices) = numbers(r"^(\d+) readings of (\d+) devices", got["backlog"])
    assert (readings, devices) == (400, 6)
    assert numbers(r"^(\d+) devices", got["sync"]) == [6]
    total, decoded = numbers(r"^(\d+) \(from (\d+) readings", got["observations"])
    assert decoded <= readings and total >= decoded * 0.9  # some readings carry several

    for name, scope in (("batched", total), ("unbatched", None)):
        delivered, _wall, _per_s, requests, each = numbers(
            r"^(\d+) observations delivered in ([\d.]+) s, (\d+)/s .*?(\d+) requests,"
            r" ([\d.]+) observations each",
            got[name],
        )
        queued, delivered2, rejected, no_ds, waiting, on_server = numbers(
            COUNTS, got[f"{name}_counts"]
        )
        assert delivered == delivered2 == on_server
        assert queued == delivered + rejected and no_ds == waiting == 0
        assert requests >= 1 and each == pytest.approx(delivered / requests, abs=0.06)
        if scope is not None:
            assert queued == scope
        else:  # the first 60 readings only, and said so
            assert "the first 60 of" in got[name] and "--unbatched-limit" in got[name]
            assert 0 < queued < total and requests == delivered + rejected
        # one line per refused quantity: "N quantity (the server's reason)"
        refusals = [int(text.split()[0]) for key, text in pairs if key == f"{name}_rejected"]
        assert sum(refusals) == rejected
        read, queue, outbox, http = numbers(
            r"read\+map ([\d.]+), queue ([\d.]+), outbox ([\d.]+), http ([\d.]+)",
            got[f"{name}_split_s"],
        )
        wall = numbers(r"delivered in ([\d.]+) s", got[name])[0]
        assert read + queue + outbox + http == pytest.approx(wall, abs=0.25)
        # the server alone: the same Observations in the same requests
        sent, _, own_requests, refused, own_on_server = numbers(SERVER, got[f"server_{name}"])
        assert sent == own_on_server == delivered and refused == rejected
        assert own_requests == requests
        assert "against the server alone" in got[f"{name}_overhead"]

    sent, _, per_pass_requests, refused, on_server = numbers(SERVER, got["server_batched_per_pass"])
    assert sent + refused == total and on_server == sent
    assert per_pass_requests == -(-total // 40)  # one request per pass of --batch rows
    verdict = re.fullmatch(r"(yes|NO) \(([\d,]+)\)", got["batched >= 1,000 observations/s"])
    rate = int(verdict[2].replace(",", ""))
    assert rate == numbers(r", (\d+)/s", got["batched"])[0]
    assert verdict[1] == ("yes" if rate >= 1000 else "NO")
    assert pairs[-1][0] == "batched >= 1,000 observations/s"


def test_without_the_server_package_it_says_so_in_one_line(capsys, monkeypatch):
    import lorafield_tools.sta_test_server as runner

    monkeypatch.setattr(runner, "missing", lambda: "django-ogc-sensorthings")
    status, out, err = bench(capsys, "--readings", "100", "--devices", "3")
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "django-ogc-sensorthings" in err
    assert "--url" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--batch", "0"), "--batch"),
        (("--readings", "2", "--devices", "3"), "--readings"),
        (("--unbatched-limit", "-1"), "--unbatched-limit"),
        (("--url", "ftp://x"), "not an http(s) URL"),
        (("--auth", "f"), "--auth goes with --url"),
    ],
)
def test_bad_arguments_are_one_line(capsys, argv, message):
    status, out, err = bench(capsys, *argv)
    assert status == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1
