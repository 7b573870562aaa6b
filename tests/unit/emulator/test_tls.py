"""The emulator over HTTPS, with a CA generated at test time (tests/emulator/tls.py)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from ansible_collections.pinggy.tunnels.tests.emulator import Emulator

tls = pytest.importorskip("ansible_collections.pinggy.tunnels.tests.emulator.tls", reason="needs the cryptography package")

COLLECTION_ROOT = Path(__file__).parents[3]
API_KEY = "unit-test-tls-key-7f3c1e"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> "tls.TlsFiles":
    return tls.generate_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def https_emulator(tls_files: "tls.TlsFiles") -> Iterator[Emulator]:
    with Emulator(api_key=API_KEY, generate=3, tls_cert=tls_files.cert, tls_key=tls_files.key) as running:
        yield running


def test_generated_files_are_pem_and_the_key_is_private(tls_files: "tls.TlsFiles") -> None:
    assert tls_files.ca_cert.read_text(encoding="ascii").startswith("-----BEGIN CERTIFICATE-----")
    assert tls_files.cert.read_text(encoding="ascii").startswith("-----BEGIN CERTIFICATE-----")
    assert tls_files.key.read_text(encoding="ascii").startswith("-----BEGIN PRIVATE KEY-----")
    assert tls_files.key.stat().st_mode & 0o077 == 0


def test_https_url_and_answers_with_the_test_ca(https_emulator: Emulator, tls_files: "tls.TlsFiles") -> None:
    assert https_emulator.url.startswith("https://127.0.0.1:")
    response = requests.get(f"{https_emulator.url}/session/active", headers=AUTH, verify=str(tls_files.ca_cert), timeout=10)
    assert response.status_code == 200
    assert len(response.json()) == 3


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_certificate_names_loopback(https_emulator: Emulator, tls_files: "tls.TlsFiles", host: str) -> None:
    url = https_emulator.url.replace("127.0.0.1", host)
    assert requests.get(f"{url}/session/active", headers=AUTH, verify=str(tls_files.ca_cert), timeout=10).status_code == 200


def test_default_trust_store_rejects_the_test_certificate(https_emulator: Emulator) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{https_emulator.url}/session/active", headers=AUTH, timeout=10)


def test_another_ca_does_not_verify_it(https_emulator: Emulator, tmp_path: Path) -> None:
    other = tls.generate_tls(tmp_path, common_name="Another test CA")
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{https_emulator.url}/session/active", headers=AUTH, verify=str(other.ca_cert), timeout=10)


def test_failed_handshakes_do_not_stop_the_server(https_emulator: Emulator, tls_files: "tls.TlsFiles") -> None:
    for _attempt in range(3):
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{https_emulator.url}/session/active", timeout=10)
    # Plain HTTP to the HTTPS port is not an answer either, and does not break the next client.
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(https_emulator.url.replace("https://", "http://") + "/session/active", timeout=10)
    response = requests.get(f"{https_emulator.url}/session/active", headers=AUTH, verify=str(tls_files.ca_cert), timeout=10)
    assert response.status_code == 200


def test_the_control_api_is_served_over_https_too(https_emulator: Emulator, tls_files: "tls.TlsFiles") -> None:
    state = requests.get(f"{https_emulator.base_url}/_emulator/state", verify=str(tls_files.ca_cert), timeout=10).json()
    assert state["active"] == 3


def test_a_certificate_without_its_key_is_refused(tls_files: "tls.TlsFiles") -> None:
    with pytest.raises(ValueError, match="tls_cert and tls_key"):
        Emulator(api_key=API_KEY, tls_cert=tls_files.cert)


def test_cli_serves_https(tls_files: "tls.TlsFiles", tmp_path: Path) -> None:
    ready_file = tmp_path / "ready"
    command = [sys.executable, "-m", "tests.emulator", "--port", "0", "--api-key", API_KEY, "--generate", "2",
               "--tls-cert", str(tls_files.cert), "--tls-key", str(tls_files.key), "--ready-file", str(ready_file)]
    with subprocess.Popen(command, cwd=COLLECTION_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        deadline = time.monotonic() + 15
        while not ready_file.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        url = ready_file.read_text(encoding="utf-8").strip()
        active = requests.get(f"{url}/session/active", headers=AUTH, verify=str(tls_files.ca_cert), timeout=10)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=15)

    assert url.startswith("https://127.0.0.1:")
    assert len(active.json()) == 2
    assert process.returncode == 0, stderr
    assert API_KEY not in stdout + stderr


def test_cli_wants_both_tls_options(tls_files: "tls.TlsFiles") -> None:
    command = [sys.executable, "-m", "tests.emulator", "--api-key", API_KEY, "--tls-cert", str(tls_files.cert)]
    result = subprocess.run(command, cwd=COLLECTION_ROOT, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert "--tls-cert and --tls-key go together" in result.stderr
