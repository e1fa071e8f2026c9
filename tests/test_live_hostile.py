"""A hostile user against ``powerfirst agent`` / ``instruct`` / ``settlement`` and the ``live:``
section: each bad input is one clear error naming the option or field and the value, never a
traceback, and nothing of the user's is written, overwritten or left behind."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from powerfirst.cli.app import app
from powerfirst.errors import ConfigError
from powerfirst.live.emulator import Fleet, FleetConfig, fleet_addresses
from powerfirst.live.journal import Journal
from powerfirst.policies.registry import load_site

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "west-texas-live.yaml"
REPLAY = ["--strategy", "breakeven", "--replay", "--start", "2023-08-10T11:00", "--end", "2023-08-10T11:30"]
REPLAY += ["--speed", "3600"]


def _site(tmp_path: Path, live: str | None = None) -> Path:
    """The example site in ``tmp_path``, its ``live:`` section replaced by ``live`` when given."""
    text = EXAMPLE.read_text()
    if live is not None:
        text = text.split("\nlive:\n")[0] + "\n" + live
    path = tmp_path / "site.yaml"
    path.write_text(text)
    return path


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), (
        result.exception
    )
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_journal_in_a_missing_folder_is_one_clear_error(tmp_path: Path) -> None:
    site = _site(tmp_path)
    code, out = _run(["agent", str(site), *REPLAY, "--journal", str(tmp_path / "nowhere" / "j.sqlite")])
    assert code == 1
    assert "nowhere" in out and "does not exist" in out
    assert not (tmp_path / "nowhere").exists()


def test_journal_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    site = _site(tmp_path)
    folder = tmp_path / "jdir"
    folder.mkdir()
    code, out = _run(["agent", str(site), *REPLAY, "--journal", str(folder)])
    assert code == 1 and "is a folder" in out
    assert list(folder.iterdir()) == [] and not (tmp_path / "jdir.lock").exists()


def test_foreign_file_refused_untouched_and_no_lock_left_beside_it(tmp_path: Path) -> None:
    site = _site(tmp_path)
    foreign = tmp_path / "notes.txt"
    foreign.write_text("my notes\n")
    code, out = _run(["agent", str(site), *REPLAY, "--journal", str(foreign)])
    assert code == 1 and "not a powerfirst agent journal" in out
    assert foreign.read_text() == "my notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "site.yaml"]


@pytest.mark.parametrize("port", ["0", "70000", "-1"])
def test_metrics_port_out_of_range(tmp_path: Path, port: str) -> None:
    site = _site(tmp_path)
    code, out = _run(["agent", str(site), *REPLAY, "--dry-run", "--metrics-port", port])
    assert code == 2
    assert f"--metrics-port = {port}" in out and "65535" in out


def test_metrics_port_in_use_is_one_clear_error_and_frees_the_journal(tmp_path: Path) -> None:
    site = _site(tmp_path)
    journal = tmp_path / "j.sqlite"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        code, out = _run(
            ["agent", str(site), *REPLAY, "--journal", str(journal), "--metrics-port", str(port)]
        )
    assert code == 2
    assert f"metrics port {port}" in out and "127.0.0.1" in out
    Journal(journal).close()  # the refused run let go of its lock


def test_settlement_without_a_journal_creates_none(tmp_path: Path) -> None:
    site = _site(tmp_path)
    code, out = _run(["settlement", str(site), "--source", "utility", "--event-id", "DR-1"])
    assert code == 2 and "no such file" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site.yaml"]


def test_resume_with_nothing_to_resume(tmp_path: Path) -> None:
    site = _site(tmp_path)
    code, out = _run(["agent", str(site), *REPLAY, "--journal", str(tmp_path / "j.sqlite"), "--resume"])
    assert code == 2
    assert "--resume" in out and "nothing to resume" in out


def test_resume_outside_the_window(tmp_path: Path) -> None:
    site = _site(tmp_path)
    journal = tmp_path / "j.sqlite"
    book = Journal(journal)
    book.set_state("last_step_s", 1.0e9)  # 2001: not in the replayed window
    book.close()
    code, out = _run(["agent", str(site), *REPLAY, "--journal", str(journal), "--resume"])
    assert code == 2 and "outside this replay's window" in out


OVERLAP = """live:
  fleets:
    s19jpro: {addresses: ["127.21.0.0/28"]}
    s19-legacy: {addresses: ["127.21.0.40", "127.21.0.5"]}
"""


def test_one_address_in_two_fleets_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'s19-legacy' address 127\.21\.0\.5 overlaps 's19jpro'"):
        load_site(_site(tmp_path, OVERLAP))


def test_the_same_address_twice_in_one_fleet_is_fine(tmp_path: Path) -> None:
    live = 'live:\n  fleets:\n    s19jpro: {addresses: ["127.21.0.0/28", "127.21.0.5"]}\n'
    site = load_site(_site(tmp_path, live))
    assert site.live is not None


@pytest.mark.parametrize("url", ["http://", "http:// bad host/prices", "https://:8080/x"])
def test_feed_url_without_a_host_is_refused(tmp_path: Path, url: str) -> None:
    live = f'live:\n  price_feed: {{url: "{url}"}}\n'
    with pytest.raises(ConfigError, match=r"live\.price_feed\.url"):
        load_site(_site(tmp_path, live))


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("max_changes_per_device_per_hour", '"four"', "= 'four' per hour:"),
        ("stagger_s", "-1", "= -1 s:"),
        ("confirm_within_s", ".nan", "= nan s:"),
    ],
)
def test_live_errors_name_the_unit(tmp_path: Path, field: str, value: str, shown: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_site(_site(tmp_path, f"live:\n  {field}: {value}\n"))
    assert f"live.{field} {shown}" in str(caught.value)


def test_emulator_31_and_32_networks_count_their_hosts() -> None:
    assert fleet_addresses("127.33.0.2/31", 2) == ["127.33.0.2", "127.33.0.3"]
    assert fleet_addresses("127.33.0.9/32", 1) == ["127.33.0.9"]
    with pytest.raises(ConfigError, match=r"2 miners do not fit 127\.33\.0\.9/32 \(1–1 hosts\)"):
        fleet_addresses("127.33.0.9/32", 2)


def test_emulator_count_beyond_the_descriptor_limit_fails_before_making_miners() -> None:
    began = time.perf_counter()
    with pytest.raises(ConfigError, match="count: 16000000 miners need about"):
        Fleet(FleetConfig(count=16_000_000, addresses="127.0.0.0/8"))
    assert time.perf_counter() - began < 5.0  # not minutes and gigabytes building 16 M miners first


@pytest.mark.parametrize(("source", "event_id"), [("", "DR-1"), ("utility", " ")])
def test_instruct_grid_event_with_an_empty_source_or_id(tmp_path: Path, source: str, event_id: str) -> None:
    site = _site(tmp_path)
    args = ["instruct", str(site), "hold", "--source", source, "--event-id", event_id]
    code, out = _run(args)
    assert code == 2 and "non-empty" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site.yaml"]  # nothing queued, no journal made


def test_instruct_to_a_journal_that_does_not_exist_is_refused_and_makes_nothing(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from powerfirst.cli.app import app

    site = tmp_path / "site.yaml"
    data = load_site(Path(__file__).resolve().parents[1] / "examples" / "west-texas-live.yaml").model_dump(
        exclude_none=True
    )
    site.write_text(yaml.safe_dump(data))
    typo = tmp_path / "agent-jornal.sqlite"
    result = CliRunner().invoke(app, ["instruct", str(site), "hold", "--journal", str(typo)])
    assert result.exit_code == 2
    assert "no such file; start the agent first" in result.output
    assert not typo.exists()
