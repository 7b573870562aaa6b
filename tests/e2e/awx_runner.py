"""AWX / AAP jobs through ansible-runner, with the docs/awx files as they are (see awx_runner.sh).

Usage: python awx_runner.py WORKDIR TARBALL   (from the collection root, the emulator up)
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import shutil
import subprocess
import sys

import ansible_runner
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "emulator"))
from control import ControlClient  # noqa: E402  # pylint: disable=wrong-import-position  # the emulator's control client

DOCS = pathlib.Path("docs/awx")
KEY = os.environ["PINGGY_API_KEY"]
API_URL = os.environ["PINGGY_API_URL"]
CONTROL = os.environ["PINGGY_EMULATOR_URL"]
FAILURES: list[str] = []


def fail(message: str) -> None:
    FAILURES.append(message)
    print(f"awx runner: FAILED: {message}", file=sys.stderr)


def control(path: str, body: object) -> None:
    """POST body to the emulator's control API, through the project's one client (tests/emulator/control.py)."""
    ControlClient(CONTROL).call("POST", path, body)


def inject(credential_inputs: dict) -> tuple[dict, dict]:
    """The credential type's injectors rendered as AWX renders them: (environment, extra vars)."""
    credential_type = yaml.safe_load((DOCS / "credential_type.yml").read_text(encoding="utf-8"))
    namespace = {}
    for field in credential_type["inputs"]["fields"]:
        if field["id"] in credential_inputs:
            namespace[field["id"]] = credential_inputs[field["id"]]
        elif "default" in field:
            namespace[field["id"]] = field["default"]
        elif field.get("type") == "boolean":
            namespace[field["id"]] = False
    missing = [name for name in credential_type["inputs"].get("required", []) if name not in namespace]
    if missing:
        raise SystemExit(f"credential type: required inputs missing: {missing}")
    secret = [field["id"] for field in credential_type["inputs"]["fields"] if field.get("secret")]
    sandbox = ImmutableSandboxedEnvironment()
    injectors = credential_type["injectors"]
    env = {name: sandbox.from_string(template).render(**namespace) for name, template in injectors.get("env", {}).items()}
    extra_vars = {name: sandbox.from_string(template).render(**namespace)
                  for name, template in injectors.get("extra_vars", {}).items()}
    for name, template in injectors.get("extra_vars", {}).items():
        if any(field in template for field in secret):
            fail(f"credential type: the extra var {name} carries a secret input (AWX records extra vars in the job)")
    if env.get("PINGGY_API_KEY") != credential_inputs["api_key"]:
        fail("credential type: PINGGY_API_KEY is not injected from the api_key input")
    return env, extra_vars


def private_data_dir(work: pathlib.Path, name: str, collections: pathlib.Path, extra_vars: dict) -> pathlib.Path:
    """A private data dir laid out as AWX lays it out for a job: project, inventory, env/{extravars,settings}."""
    pdd = work / name
    shutil.copytree(DOCS / "project", pdd / "project")
    (pdd / "inventory").mkdir(parents=True)
    (pdd / "inventory" / "hosts").write_text(
        "localhost ansible_connection=local ansible_python_interpreter={{ ansible_playbook_python }}\n", encoding="utf-8")
    (pdd / "env").mkdir()
    (pdd / "env" / "extravars").write_text(yaml.safe_dump(extra_vars), encoding="utf-8")
    (pdd / "env" / "settings").write_text(yaml.safe_dump({"job_timeout": 300, "pexpect_timeout": 5}), encoding="utf-8")
    (pdd / "requirements_collections").symlink_to(collections)
    return pdd


def job_env(injected: dict, pdd: pathlib.Path) -> dict:
    env = dict(injected)
    env.update({"ANSIBLE_COLLECTIONS_PATH": str(pdd / "requirements_collections"), "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_LOCALHOST_WARNING": "false"})
    return env


def events_text(runner) -> str:
    return "\n".join(event.get("stdout", "") for event in runner.events)


def check_no_key(pdd: pathlib.Path) -> None:
    """No 8-character run of the key in anything the job left in artifacts/ (job events, stdout, status, rc, ...).

    The exception is ansible-runner's own ``command`` file: it always records the whole job environment, so every
    credential AWX injects as environment is in it. It must stay readable by its owner only (AWX deletes the
    private data dir after the job and never imports that file).
    """
    runs = {KEY[index:index + 8] for index in range(len(KEY) - 7)}
    checked = 0
    for path in (pdd / "artifacts").rglob("*"):
        if path.name == "command" and path.is_file():
            if path.stat().st_mode & 0o077:
                fail(f"{path.relative_to(pdd)} (the job environment, with the key) is readable by others")
            continue
        if path.is_file():
            checked += 1
            text = path.read_bytes().decode("utf-8", "replace")
            leaked = [run for run in runs if run in text]
            if leaked:
                fail(f"{path.relative_to(pdd)} holds {len(leaked)} 8-character runs of the API key")
    if not checked:
        fail(f"{pdd.name}: ansible-runner wrote no artifacts")


def unsafe_strings(value, path="") -> list[str]:
    """Where the JSON holds ``{"__ansible_unsafe": ...}`` (AWX's import would store such a value as a dict)."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return [path]
        return [found for key, item in value.items() for found in unsafe_strings(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in unsafe_strings(item, f"{path}[{index}]")]
    return []


def unwrap(value):
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unwrap(item) for item in value]
    return value


def inventory_update(work: pathlib.Path, collections: pathlib.Path, env: dict, extra_vars: dict) -> None:
    source = yaml.safe_load((DOCS / "inventory_source.yml").read_text(encoding="utf-8"))
    pdd = private_data_dir(work, "inventory_update", collections, extra_vars)
    output = pdd / "inventory.json"
    # As AWX runs an inventory update: ansible-inventory in the project checkout, through ansible-runner.
    _out, _err, rc = ansible_runner.run_command(
        executable_cmd="ansible-inventory",
        cmdline_args=["-i", source["source_path"], "--list", "--export", "--output", str(output),
                      "--playbook-dir", str(pdd / "project")] + ["-v"] * int(source.get("verbosity", 0)),
        private_data_dir=str(pdd), host_cwd=str(pdd / "project"), envvars=job_env(env, pdd),
        suppress_env_files=True, quiet=True)
    if rc != 0:
        fail(f"inventory update exited {rc}: {_out} {_err}")
        return
    raw = json.loads(output.read_text(encoding="utf-8"))
    # On every core the JSON AWX imports holds plain strings, and the legacy marker on the template-like string only
    # (from 2.19 core writes every untrusted host variable that way; the plugin trusts the ones that hold no template).
    wrapped = unsafe_strings(raw)
    hostile = "._meta.hostvars.hostile.a.pinggy.link.pinggy_token_name"
    if wrapped != [hostile]:
        fail(f"inventory JSON: {{'__ansible_unsafe': ...}} at {wrapped}, expected only at {hostile}")
    data = unwrap(raw)
    hostvars = data.get("_meta", {}).get("hostvars", {})
    expected = {"db-1.a.pinggy.link", "web.example.com", "hostile.a.pinggy.link"}
    if set(hostvars) != expected:
        fail(f"inventory hosts {sorted(hostvars)}, expected {sorted(expected)}")
    for group, members in {"pinggy_tcp": {"db-1.a.pinggy.link"}, "pinggy_http": {"web.example.com", "hostile.a.pinggy.link"},
                           "tcp_reachable": {"db-1.a.pinggy.link"}, "token_prod": {"db-1.a.pinggy.link"}}.items():
        if set(data.get(group, {}).get("hosts", [])) != members:
            fail(f"inventory group {group}: {data.get(group)}, expected hosts {sorted(members)}")
    if "pinggy" not in data.get("all", {}).get("children", []):
        fail(f"inventory: the pinggy group is not a child of all: {data.get('all')}")
    db = hostvars.get("db-1.a.pinggy.link", {})
    if db.get("ansible_port") != 15432 or db.get("ansible_host") != "db-1.a.pinggy.link" or db.get("pinggy_mode") != "tcp":
        fail(f"inventory: db-1 vars {db}")
    hostile = hostvars.get("hostile.a.pinggy.link", {})
    if hostile.get("pinggy_token_name") != "{{ lookup('pipe', 'id') }}":
        fail(f"inventory: a templated-looking token name is not passed through as a plain string: {hostile}")
    text = output.read_text(encoding="utf-8")
    if any(KEY[index:index + 8] in text for index in range(len(KEY) - 7)):
        fail("the inventory JSON holds part of the API key")
    check_no_key(pdd)
    print(f"awx runner: inventory update: {len(hostvars)} hosts, groups {sorted(k for k in data if k != '_meta')}")


def playbook_job(work: pathlib.Path, name: str, playbook: str, collections: pathlib.Path, env: dict,
                 extra_vars: dict) -> tuple[str, int, str]:
    pdd = private_data_dir(work, name, collections, extra_vars)
    runner = ansible_runner.run(private_data_dir=str(pdd), playbook=playbook, envvars=job_env(env, pdd),
                                verbosity=3, suppress_env_files=True, quiet=True, ident=name)
    check_no_key(pdd)
    return runner.status, runner.rc, events_text(runner)


def main() -> int:
    work, tarball = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    # The project update: collections/requirements.yml as shipped, its pinggy.tunnels entry served by the tarball.
    requirements = yaml.safe_load((DOCS / "project" / "collections" / "requirements.yml").read_text(encoding="utf-8"))
    entries = [entry for entry in requirements["collections"] if entry["name"] == "pinggy.tunnels"]
    if len(entries) != 1:
        raise SystemExit("docs/awx/project/collections/requirements.yml does not require pinggy.tunnels once")
    local = {"collections": [dict(entries[0], name=str(tarball.resolve()), type="file")]}
    (work / "requirements.yml").write_text(yaml.safe_dump(local), encoding="utf-8")
    collections = work / "collections"
    subprocess.run(["ansible-galaxy", "collection", "install", "-r", str(work / "requirements.yml"), "-p", str(collections),
                    "--offline"], check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections)))

    now = datetime.datetime.now(datetime.timezone.utc)
    control("reset", {
        "active": [
            {"id": "awx-db", "subdomain": "db-1.a.pinggy.link", "mode": "tcp", "port": 15432, "tokenName": "prod"},
            {"id": "awx-web", "subdomain": "web-1.a.pinggy.link", "customdomain": "web.example.com", "mode": "http"},
            {"id": "awx-hostile", "subdomain": "hostile.a.pinggy.link", "mode": "http",
             "tokenName": "{{ lookup('pipe', 'id') }}"}],
        "history": [
            {"start_time": (now - datetime.timedelta(days=day, hours=2)).isoformat(timespec="milliseconds"),
             "end_time": (now - datetime.timedelta(days=day, hours=1)).isoformat(timespec="milliseconds"),
             "domains": [f"h{day}.a.pinggy.link"], "tunnel_type": "http"} for day in (1, 2, 3)]})

    # Only the credential injects the connection: nothing of the test's own environment reaches the jobs.
    for name in ("PINGGY_API_KEY", "PINGGY_API_URL", "ANSIBLE_COLLECTIONS_PATH"):
        os.environ.pop(name, None)
    env, extra_vars = inject({"api_key": KEY, "api_url": API_URL})

    inventory_update(work, collections, env, extra_vars)

    expected_up = {"assert_tunnels_expected": [{"subdomain": "db-*", "mode": "tcp", "port": 15432, "token_name": "prod"}]}
    status, rc, stdout = playbook_job(work, "gate_pass", "gate.yml", collections, env, dict(extra_vars, **expected_up))
    if status != "successful" or rc != 0 or "tcp://db-1.a.pinggy.link:15432" not in stdout:
        fail(f"gate job with the tunnel up: {status}, rc {rc}\n{stdout[-3000:]}")
    expected_down = {"assert_tunnels_expected": [{"subdomain": "cache-*", "mode": "tcp"}]}
    status, rc, stdout = playbook_job(work, "gate_fail", "gate.yml", collections, env, dict(extra_vars, **expected_down))
    if status != "failed" or rc == 0 or "cache-*" not in stdout:
        fail(f"gate job with a tunnel missing: {status}, rc {rc} (expected failed)\n{stdout[-3000:]}")
    status, rc, stdout = playbook_job(work, "history", "history.yml", collections, env, extra_vars)
    if status != "successful" or "3 sessions in the last 7 days" not in stdout:
        fail(f"history job: {status}, rc {rc}\n{stdout[-3000:]}")
    print(f"awx runner: gate passing and failing, history: done ({'FAILED' if FAILURES else 'ok'})")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
