"""The tunnel_service checks: tunnels, options in context, settings, the grammar of every config and unit line, the defaults."""

from __future__ import annotations

import re
import typing as t

import pytest
import yaml

from ansible_collections.pinggy.tunnels.plugins.plugin_utils._tunnel_service_checks import (
    DEFAULTS,
    ROLE_DEFAULTS,
    TUNNEL_DEFAULTS,
    TunnelServiceError,
    checked_settings,
    validated_tunnels,
)
from ansible_collections.pinggy.tunnels.tests.unit.plugins.tunnel_service_data import KEY, PASSWORD, SETTINGS, TOKEN
from ansible_collections.pinggy.tunnels.tests.unit.plugins.tunnel_service_data import tunnel as _tunnel


def _error(tunnels: t.Any, settings: t.Optional[dict[str, t.Any]] = None) -> str:
    """The one line the checks fail with (settings first, as every entry point checks them)."""
    with pytest.raises(TunnelServiceError) as caught:
        checked_settings(SETTINGS if settings is None else settings)
        validated_tunnels(tunnels)
    message = str(caught.value)
    assert message.startswith("tunnel_service: ") and "\n" not in message
    return message


@pytest.mark.parametrize(("tunnel", "message"), [
    ({"name": "Web", "local_port": 1}, r"tunnel_service_tunnels\[0\]\.name must be 1-63 characters, lower-case letters, digits"),
    ({"name": "web.service", "local_port": 1}, r"\.name must be"),
    ({"name": "-web", "local_port": 1}, r"\.name must be"),
    ({"name": "w" * 64, "local_port": 1}, r"\.name must be"),
    (_tunnel(mode="udp"), r"^tunnel_service: tunnel 'web': mode udp needs the Pinggy app \(the pinggy CLI\), not ssh"),
    (_tunnel(mode="ftp"), r"tunnel 'web': mode must be one of http, tcp, tls, tlstcp, got 'ftp'"),
    ({"name": "web"}, r"tunnel 'web': local_port must be an integer from 1 to 65535, got None"),
    (_tunnel(local_port=70000), r"local_port must be an integer from 1 to 65535, got 70000"),
    (_tunnel(local_host="bad host"), r"local_host must be a host name or an IP address"),
    (_tunnel(state="stopped"), r"state must be present or absent"),
    (_tunnel(colour="red"), r"tunnel 'web' has unknown key\(s\) colour; known: name, mode"),
    (_tunnel(token="TCP"), r"token is a Pinggy keyword"),
    (_tunnel(force=True), r"force replaces an active tunnel of the same token, so it needs a token"),
    (_tunnel(options="x:https"), r"options must be a list of Pinggy options"),
    (_tunnel(options=["zz:1"]), r"^tunnel_service: tunnel 'web': option 'zz:1' is not a Pinggy option; the documented forms are a:Header:Value"),
    (_tunnel(options=["verbose"]), r"option 'verbose' is not a Pinggy option"),
    (_tunnel(options=["x:turbo"]), r"option 'x:turbo' is not a Pinggy x: option; known: x:https"),
    (_tunnel(options=["x:https:now"]), r"option 'x:https:now' x:https takes no value"),
    (_tunnel(options=["a:X-Env"]), r"option 'a:X-Env' must be a:Header:Value"),
    (_tunnel(options=["r:Bad/Header"]), r"must be r:Header"),
    (_tunnel(options=["b:alice"]), r"option 'b:alice:\*\*\*' must be b:user:password"),
    (_tunnel(options=["w:10.0.0.0/8,10.0.0.300"]), r"option 'w:10.0.0.0/8,10.0.0.300' must be w:IP-or-CIDR"),
    (_tunnel(options=["a:X-Note:two words"]), r"has whitespace, quotes, a backslash, '#' or non-ASCII"),
    (_tunnel(options=["a:X-Tag:#1"]), r"has whitespace, quotes, a backslash, '#'"),
    (_tunnel(mode="tcp", options=["x:https"]), r"option 'x:https' applies to http tunnels only \(this one is tcp\); tcp tunnels take w: only"),
    (_tunnel(mode="tls", options=["k:key"]), r"option 'k:\*\*\*' applies to http tunnels only"),
])
def test_bad_tunnels_fail_with_one_line_naming_tunnel_and_option(tunnel: dict[str, t.Any], message: str) -> None:
    assert _error([tunnel]).count("\n") == 0
    assert re.search(message, _error([tunnel]))


def test_errors_never_quote_tokens_passwords_or_keys() -> None:
    for tunnel in (_tunnel(token=f"{TOKEN}/bad"), _tunnel(options=[f"b:alice:{PASSWORD}", "k:sekrit", "bogus"]),
                   _tunnel(mode="tcp", options=["k:sekrit"]), _tunnel(mode="tcp", options=[f"b:alice:{PASSWORD}"])):
        message = _error([tunnel])
        for secret in (TOKEN, PASSWORD, "sekrit"):
            assert secret not in message, message


def test_duplicate_names_and_bad_settings_are_refused() -> None:
    assert "tunnel 'web' is listed twice" in _error([_tunnel(), _tunnel()])
    assert "tunnel_service_tunnels must be a list" in _error({"name": "web"})
    assert "tunnel_service_known_hosts is empty: pin the Pinggy server's host key" in _error([_tunnel()], {})
    assert "strict_host_key_checking must be yes or accept-new" in _error([_tunnel()], {**SETTINGS, "strict_host_key_checking": "no"})
    assert "tunnel_service_port must be an integer from 1 to 65535" in _error([_tunnel()], {**SETTINGS, "port": 0})
    assert "tunnel_service_config_dir must be an absolute path" in _error([_tunnel()], {**SETTINGS, "config_dir": "etc"})
    assert "unknown setting(s) colour" in _error([_tunnel()], {**SETTINGS, "colour": "red"})
    assert checked_settings({"strict_host_key_checking": "accept-new"})["known_hosts"] == []


@pytest.mark.parametrize(("tunnel", "message"), [
    (_tunnel(options=["k:"]), r"option 'k:\*\*\*' must be k:key"),
    (_tunnel(options=["u:X-Env"]), r"option 'u:X-Env' must be u:Header:Value"),
    (_tunnel(options=["x:xff:Bad Header"]), r"has whitespace"),
    (_tunnel(options=["x:xff:Bad/Header"]), r"must be x:xff or x:xff:Header"),
    (_tunnel(options=["x:localServerTls:bad_sni!"]), r"must be x:localServerTls or x:localServerTls:SNI"),
    (_tunnel(options=[7]), r"every option must be a string, got a int"),
    (_tunnel(token_name=["prod"]), r"token_name must be a string"),
    (_tunnel(force="yes"), r"force must be a boolean, got 'yes'"),
    ("web", r"tunnel_service_tunnels\[0\] must be a dictionary"),
])
def test_hostile_tunnel_values_fail_with_one_line(tunnel: t.Any, message: str) -> None:
    error = _error([tunnel])
    assert error.count("\n") == 0 and re.search(message, error), error


@pytest.mark.parametrize(("settings", "message"), [
    ({"server": "bad host"}, "tunnel_service_server must be a host name or an IP address"),
    ({"keepalive_count": True}, "tunnel_service_keepalive_count must be an integer from 1 to 100, got True"),
    ({"known_hosts": "a.pinggy.io ssh-ed25519 AAAA\n", "port": "443"}, None),
    ({"known_hosts": [""]}, "tunnel_service_known_hosts must be a list of known_hosts lines"),
    ({"unit_prefix": "pinggy tunnel"}, "tunnel_service_unit_prefix must be letters, digits"),
    ({"unit_prefix": "-_."}, "tunnel_service_unit_prefix must be letters, digits, '_', '.' or '-', with a letter or digit "
                             "(it names the template unit <prefix>@.service), got '-_.'"),
    ({"unit_prefix": ""}, "with a letter or digit"),
])
def test_settings_from_the_command_line_or_hostile_fail_with_one_line(settings: dict[str, t.Any], message: t.Optional[str]) -> None:
    if message is None:  # strings from -e and a known_hosts block are accepted
        assert checked_settings({**SETTINGS, **settings})["port"] == 443
        return
    assert message in _error([_tunnel()], {**SETTINGS, **settings})


@pytest.mark.parametrize(("tunnel", "message"), [
    # The first problem in the documented order wins, so one tunnel always fails the same way.
    (_tunnel(colour="red", mode="ftp", local_port=0), r"has unknown key\(s\) colour"),
    (_tunnel(mode="ftp", state="stopped"), r"mode must be one of"),
    (_tunnel(state="stopped", local_port=0), r"state must be present or absent"),
    (_tunnel(local_port=0, local_host="bad host"), r"local_port must be an integer"),
    (_tunnel(local_host="bad host", token="bad token"), r"local_host must be a host name"),
    (_tunnel(token="bad token", force="yes"), r"token must be 1-128 letters"),
    (_tunnel(token_name=5, force="yes"), r"token_name must be a string"),
    (_tunnel(force="yes", options=["zz"]), r"force must be a boolean"),
    # Hostile types and values.
    ({"name": 7, "local_port": 1}, r"tunnel_service_tunnels\[0\]\.name must be 1-63 characters.*got 7$"),
    ({"name": None}, r"\.name must be .*got None$"),
    ({"name": "web\n", "local_port": 1}, r"\.name must be .*got 'web\\n'$"),
    ({"name": "wéb", "local_port": 1}, r"\.name must be"),
    (_tunnel(local_port=True), r"local_port must be an integer from 1 to 65535, got True"),
    (_tunnel(local_port=8080.0), r"local_port must be an integer from 1 to 65535, got 8080\.0"),
    (_tunnel(local_port="80 80"), r"got '80 80'"),
    (_tunnel(local_port="-1"), r"got '-1'"),
    (_tunnel(local_port="\u00b2"), r"local_port must be an integer from 1 to 65535, got '\u00b2'"),
    (_tunnel(local_port="\u0663"), r"local_port must be an integer from 1 to 65535, got '\u0663'"),
    (_tunnel(local_port="65536"), r"got 65536"),
    (_tunnel(local_host=["localhost"]), r"local_host must be a host name or an IP address \(an IPv6 scope .*\), got \['localhost'\]$"),
    (_tunnel(local_host="a" * 64 + ".example"), r"local_host must be a host name"),
    (_tunnel(local_host="evil.example\nProxyCommand sh"), r"local_host must be a host name"),
    (_tunnel(mode=["http"]), r"mode must be one of http, tcp, tls, tlstcp, got \['http'\]"),
    (_tunnel(state=True), r"state must be present or absent, got True"),
    (_tunnel(token=12345), r"token must be 1-128 letters, digits, '\.', '_' or '-' \(value not shown\)"),
    (_tunnel(token="t" * 129), r"token must be 1-128"),
    (_tunnel(token="Force"), r"token is a Pinggy keyword"),
    (_tunnel(options={"x": "https"}), r"options must be a list"),
    (_tunnel(options=["x:https", None]), r"every option must be a string, got a NoneType"),
    (_tunnel(options=["x:https\nProxyCommand sh"]), r"has whitespace"),
    (_tunnel(options=["a:X-Env:caf\u00e9"]), r"non-ASCII"),
    (_tunnel(options=["a:X#Env:1"]), r"has whitespace, quotes, a backslash, '#'"),
    (_tunnel(options=["a::value"]), r"must be a:Header:Value"),
    (_tunnel(options=["u:X-Env:"]), r"must be u:Header:Value"),
    (_tunnel(options=["r:"]), r"must be r:Header"),
    (_tunnel(options=["b::pw"]), r"option 'b::\*\*\*' must be b:user:password"),
    (_tunnel(options=["b:alice:"]), r"must be b:user:password"),
    (_tunnel(options=["w:"]), r"must be w:IP-or-CIDR"),
    (_tunnel(options=["w:10.0.0.0/8,"]), r"must be w:IP-or-CIDR"),
    (_tunnel(options=["w:example.com"]), r"must be w:IP-or-CIDR"),
    (_tunnel(options=["x:"]), r"is not a Pinggy x: option"),
    (_tunnel(options=["x:fullurl:yes"]), r"x:fullurl takes no value"),
    (_tunnel(options=["x:HTTPS:1"]), r"x:https takes no value"),
    (_tunnel(options=["x:localServerTls:-bad-"]), r"must be x:localServerTls or x:localServerTls:SNI"),
    (_tunnel(mode="tlstcp", options=["a:X-Env:1"]), r"applies to http tunnels only \(this one is tlstcp\)"),
])
def test_hostile_or_clashing_tunnel_values_fail_with_one_line(tunnel: t.Any, message: str) -> None:
    assert re.search(message, _error([tunnel]))


def test_tunnels_that_are_not_a_list_or_not_dictionaries_are_refused() -> None:
    for tunnels in ("web", {"web": {}}, None, 3):
        assert "tunnel_service_tunnels must be a list of tunnels" in _error(tunnels)
    assert "tunnel_service_tunnels[1] must be a dictionary" in _error([_tunnel(), ["web"]])
    assert "tunnel 'web' has unknown key(s) 1; known:" in _error([{**_tunnel(), 1: "x"}])


@pytest.mark.parametrize(("settings", "message"), [
    ({"server": 5}, "tunnel_service_server must be a host name or an IP address (an IPv6 scope id only as an interface name: "
                    "letters, digits, '_', '.' or '-'), got 5"),
    ({"server": "a.pinggy.io -oProxyCommand=sh"}, "tunnel_service_server must be a host name"),
    ({"port": "443x"}, "tunnel_service_port must be an integer from 1 to 65535, got '443x'"),
    ({"port": 65536}, "tunnel_service_port must be an integer from 1 to 65535, got 65536"),
    ({"keepalive_interval": 0}, "tunnel_service_keepalive_interval must be an integer from 1 to 3600, got 0"),
    ({"keepalive_count": 101}, "tunnel_service_keepalive_count must be an integer from 1 to 100, got 101"),
    ({"connect_timeout": 2.5}, "tunnel_service_connect_timeout must be an integer from 1 to 3600, got 2.5"),
    ({"strict_host_key_checking": False}, "tunnel_service_strict_host_key_checking must be yes or accept-new, got False"),
    ({"known_hosts": {"a.pinggy.io": "key"}}, "tunnel_service_known_hosts must be a list of known_hosts lines"),
    ({"known_hosts": [KEY + "\nevil ssh-ed25519 AAAA"]}, "tunnel_service_known_hosts must be a list of known_hosts lines"),
    ({"known_hosts": [7]}, "tunnel_service_known_hosts must be a list of known_hosts lines"),
    ({"known_hosts": "\n  \n"}, "tunnel_service_known_hosts is empty"),
    ({"state_dir": "/var/lib/pinggy tunnels"}, "tunnel_service_state_dir must be an absolute path without whitespace"),
    ({"unit_dir": None, "config_dir": ["/etc"]}, "tunnel_service_config_dir must be an absolute path without whitespace, of letters, "
                                                 "digits and '/', '.', '_', '+', '@' or '-' ('%' and '$' would be expanded by ssh or "
                                                 "systemd), got ['/etc']"),
    ({"unit_dir": "relative/units"}, "tunnel_service_unit_dir must be an absolute path"),
    ({"unit_prefix": "../"}, "tunnel_service_unit_prefix must be letters, digits, '_', '.' or '-', with a letter or digit (it names the "
                             "template unit <prefix>@.service), got '../'"),
    ({"unit_prefix": 3}, "tunnel_service_unit_prefix must be letters, digits"),
    ({"colour": "red", "port": 0}, "unknown setting(s) colour; known: server, port"),
])
def test_hostile_settings_fail_with_one_line(settings: dict[str, t.Any], message: str) -> None:
    assert message in _error([_tunnel()], {**SETTINGS, **settings})


# Issue 22: every value that reaches an ssh config line or a unit line is checked for that line's grammar.
INJECTION = "\n  ProxyCommand touch pwned\n  #"
CONTROLS = ["\n", "\r", "\0", "\t", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\u2028"]


@pytest.mark.parametrize("local_host", [
    f"::1%x]:22{INJECTION}", "::1%x]:22\r  ProxyCommand touch pwned", "::1%x]:22\0ExecStartPre=/bin/sh", "::1%eth0 x",
    "fe80::1%", "fe80::1%eth0:1/2", "fe80::1%" + "e" * 16, "fe80::1%%d", "fe80::1%${HOME}", "127.0.0.1%eth0", "localhost%eth0",
] + [f"fe80::1%eth{control}0" for control in CONTROLS] + [f"localhost{control}" for control in CONTROLS])
def test_local_hosts_that_would_break_a_config_or_unit_line_are_refused(local_host: str) -> None:
    message = _error([_tunnel(local_host=local_host)])
    assert message.startswith("tunnel_service: tunnel 'web': local_host must be a host name or an IP address (an IPv6 scope id "
                              "only as an interface name: letters, digits, '_', '.' or '-'), got ")
    assert "\n" not in message and "\r" not in message and "\0" not in message


@pytest.mark.parametrize("server", [f"::1%h{INJECTION}", "::1%h\r  ProxyCommand touch pwned", "::1%h\0", "fe80::1%%h",
                                    "a.pinggy.io\n", "a.pinggy.io%h"] + [f"fe80::1%lo{control}" for control in CONTROLS])
def test_servers_that_would_break_a_config_line_are_refused(server: str) -> None:
    assert _error([_tunnel()], {**SETTINGS, "server": server}).startswith(
        "tunnel_service: tunnel_service_server must be a host name or an IP address (an IPv6 scope id only as an interface name")


@pytest.mark.parametrize("key", ["config_dir", "state_dir", "unit_dir", "ssh_command"])
@pytest.mark.parametrize("path", ["/var/lib/%d", "/var/lib/${HOME}", "/var/lib/$HOME", "/var/lib/%%", "/var/lib/a b", "/var/lib/'a'",
                                  "/var/lib/a\\b", "/var/lib/#a", "~/pinggy", "/var/lib/caf\u00e9"] + [f"/var/lib/a{c}b" for c in CONTROLS])
def test_paths_ssh_or_systemd_would_expand_or_split_are_refused(key: str, path: str) -> None:
    message = _error([_tunnel()], {**SETTINGS, key: path})
    assert message.startswith(f"tunnel_service: tunnel_service_{key} must be an absolute path without whitespace, of letters, "
                              "digits and '/', '.', '_', '+', '@' or '-' ('%' and '$' would be expanded by ssh or systemd), got ")
    assert "\n" not in message


@pytest.mark.parametrize("key", ["user", "group"])
@pytest.mark.parametrize("account", ["root\nExecStartPre=/bin/sh", "pinggy\r", "pinggy\0", "%u", "pinggy$", "a b", "-x", ".x", "", "a" * 33, 7])
def test_users_and_groups_that_would_break_a_unit_line_are_refused(key: str, account: t.Any) -> None:
    message = _error([_tunnel()], {**SETTINGS, key: account})
    assert message.startswith(f"tunnel_service: tunnel_service_{key} must be 1-32 letters, digits, '_', '.' or '-', "
                              "not starting with '.' or '-', got ")
    assert "\n" not in message


@pytest.mark.parametrize("control", CONTROLS[1:-1])  # U+2028 ends no known_hosts line
def test_known_hosts_lines_with_a_control_character_are_refused(control: str) -> None:
    assert "tunnel_service_known_hosts must be a list of known_hosts lines" in _error([_tunnel()], {"known_hosts": [KEY + control]})


def test_accounts_and_plain_paths_are_accepted_and_the_group_defaults_to_the_user() -> None:
    settings = {**SETTINGS, "user": "svc_pinggy-1.a", "ssh_command": "/opt/ssh+9@x/bin/ssh", "state_dir": "/srv/state_2.d"}
    assert checked_settings(settings)["group"] == "svc_pinggy-1.a"
    assert checked_settings({**settings, "group": None, "user": "x"})["group"] == "x"


def test_an_absent_tunnel_needs_no_port_but_a_port_given_must_be_valid() -> None:
    assert validated_tunnels([{"name": "old", "state": "absent", "local_port": "22"}])[0]["local_port"] == 22
    assert validated_tunnels([{"name": "old", "state": "absent"}])[0]["local_port"] is None
    assert "local_port must be an integer from 1 to 65535, got 0" in _error([{"name": "old", "state": "absent", "local_port": 0}])


def test_an_empty_token_is_no_token_and_force_then_needs_one() -> None:
    assert validated_tunnels([_tunnel(token="")])[0]["token"] is None
    assert "so it needs a token" in _error([_tunnel(token="", force=True)])


def test_settings_left_unset_take_the_role_defaults_and_strings_of_digits_are_numbers() -> None:
    merged = checked_settings({**SETTINGS, "server": None, "port": "2222", "keepalive_count": "5", "connect_timeout": "7"})
    assert (merged["server"], merged["port"], merged["keepalive_count"], merged["connect_timeout"]) == ("a.pinggy.io", 2222, 5, 7)
    assert (merged["keepalive_interval"], merged["state_dir"], merged["group"]) == (30, "/var/lib/pinggy-tunnels", "pinggy-tunnel")


def _documented_defaults() -> dict[str, t.Any]:
    specs = yaml.safe_load((ROLE_DEFAULTS.parents[1] / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
    return specs["argument_specs"]["main"]["options"]


def test_each_default_is_set_once_in_the_role_defaults_and_documented_as_such_in_argument_specs() -> None:
    documented = _documented_defaults()
    role_defaults = yaml.safe_load(ROLE_DEFAULTS.read_text(encoding="utf-8"))
    for variable, value in role_defaults.items():
        if "{{" not in str(value):  # a derived default (the group, the package) is described, not stated
            assert documented[variable].get("default") == value, variable
    for name, value in DEFAULTS.items():
        assert value == (None if "{{" in str(role_defaults[f"tunnel_service_{name}"]) else role_defaults[f"tunnel_service_{name}"])
    tunnel_options = documented["tunnel_service_tunnels"]["options"]
    assert {key: tunnel_options[key]["default"] for key in TUNNEL_DEFAULTS} == TUNNEL_DEFAULTS


@pytest.mark.parametrize(("tunnel", "message"), [
    (_tunnel(token=TOKEN, domains="app.example.com"), "tunnel 'web': domains must be a list of custom domains such as app.example.com"),
    (_tunnel(token=TOKEN, mode="tcp", domains=["app.example.com"]),
     "tunnel 'web': domains apply to http and tls tunnels only, as Pinggy's custom domains do (this one is tcp)"),
    (_tunnel(token=TOKEN, mode="tlstcp", domains=["app.example.com"]), "http and tls tunnels only, as Pinggy's custom domains do (this one is tlstcp)"),
    (_tunnel(mode="udp", domains=["app.example.com"]), "tunnel 'web': mode udp needs the Pinggy app"),
    (_tunnel(domains=["app.example.com"]), "tunnel 'web': domains are Pinggy Pro custom domains, so they need the token"),
    (_tunnel(token=TOKEN, domains=["app.example.com", "App.Example.com"]), "tunnel 'web': domain 'App.Example.com' is listed twice"),
    (_tunnel(token=TOKEN, domains=["app"]), "tunnel 'web': domain 'app' is a single label (completed by the resolver's search domains)"),
    (_tunnel(token=TOKEN, domains=["203.0.113.7"]), "tunnel 'web': domain '203.0.113.7' is an IP address; expected a DNS host name"),
    (_tunnel(token=TOKEN, domains=["::1"]), "tunnel 'web': domain '::1' is an IP address"),
    (_tunnel(token=TOKEN, domains=["app.localhost"]), "tunnel 'web': domain 'app.localhost' is localhost"),
    (_tunnel(token=TOKEN, domains=["app.example.com."]), "tunnel 'web': domain 'app.example.com.' is not a valid DNS name"),
    (_tunnel(token=TOKEN, domains=["a.example.com 0 evil:22"]), "tunnel 'web': domain 'a.example.com 0 evil:22' is not a valid DNS name"),
    (_tunnel(token=TOKEN, domains=["a.example.com\n  ProxyCommand x"]), "domain 'a.example.com\\n  ProxyCommand x' is not a valid DNS name"),
    (_tunnel(token=TOKEN, domains=["a%h.example.com"]), "tunnel 'web': domain 'a%h.example.com' is not a valid DNS name"),
    (_tunnel(token=TOKEN, domains=[42]), "tunnel 'web': domain 42 is not a valid DNS name"),
    (_tunnel(server="us.a.pinggy.io\n  ProxyCommand x"), "tunnel 'web': server must be a host name or an IP address (an IPv6 scope id"),
    (_tunnel(server="fe80::1%%h"), "tunnel 'web': server must be a host name or an IP address"),
    (_tunnel(server="a.pinggy.io%h"), "tunnel 'web': server must be a host name or an IP address"),
    (_tunnel(server=["us.a.pinggy.io"]), "tunnel 'web': server must be a host name or an IP address"),
])
def test_bad_domains_and_servers_fail_with_one_line_naming_the_tunnel(tunnel: dict[str, t.Any], message: str) -> None:
    error = _error([tunnel])
    assert message in error and TOKEN not in error


def test_domains_and_a_server_of_the_tunnel_are_kept_and_default_to_none() -> None:
    http, tls, plain = validated_tunnels([
        _tunnel(token=TOKEN, domains=["app.example.com", "API.example.org"], server="us.a.pinggy.io"),
        {"name": "tls", "mode": "tls", "local_port": 443, "token": TOKEN, "domains": ["secure.example.com"], "server": "fe80::1%eth0"},
        {"name": "plain", "mode": "tcp", "local_port": 22, "domains": [], "server": ""},
    ])
    assert (http["domains"], http["server"]) == (["app.example.com", "API.example.org"], "us.a.pinggy.io")
    assert (tls["domains"], tls["server"]) == (["secure.example.com"], "fe80::1%eth0")
    assert (plain["domains"], plain["server"]) == ([], None)


@pytest.mark.parametrize(("tunnels", "message"), [
    ([_tunnel(debugger_port=0)], "tunnel_service: tunnel 'web': debugger_port must be an integer from 1 to 65535 (a free port on the "
                                 "host's 127.0.0.1), got 0"),
    ([_tunnel(debugger_port=65536)], "tunnel 'web': debugger_port must be an integer from 1 to 65535"),
    ([_tunnel(debugger_port=True)], "tunnel 'web': debugger_port must be an integer from 1 to 65535 (a free port on the host's 127.0.0.1), got True"),
    ([_tunnel(debugger_port="43OO")], "got '43OO'"),
    ([_tunnel(debugger_port="\u0664\u0663\u0660\u0660")], "tunnel 'web': debugger_port must be an integer"),
    ([_tunnel(debugger_port="")], "tunnel 'web': debugger_port must be an integer"),
    ([_tunnel(debugger_port=4300.0)], "got 4300.0"),
    ([_tunnel(debugger_port=[4300])], "got [4300]"),
    ([_tunnel(debugger_port="4300\n  ProxyCommand x")], "tunnel 'web': debugger_port must be an integer"),
    ([_tunnel(debugger_port=4301), {"name": "db", "mode": "tcp", "local_port": 5432, "debugger_port": "4301"}],
     "tunnel_service: tunnels 'web' and 'db' both have debugger_port 4301: each tunnel needs a port of its own"),
    ([_tunnel(debugger_port=5432), {"name": "db", "mode": "tcp", "local_port": 5432}],
     "tunnel_service: tunnel 'web': debugger_port 5432 is the port tunnel 'db' forwards to on localhost: ssh could not listen on it"),
    ([_tunnel(debugger_port=8080)], "tunnel 'web': debugger_port 8080 is the port tunnel 'web' forwards to on localhost"),
    ([_tunnel(debugger_port=8080, local_host="127.0.0.1")], "debugger_port 8080 is the port tunnel 'web' forwards to on 127.0.0.1"),
    ([_tunnel(debugger_port=8080, local_host="0.0.0.0")], "debugger_port 8080 is the port tunnel 'web' forwards to on 0.0.0.0"),
    ([_tunnel(debugger_port=8080, local_host="::")], "debugger_port 8080 is the port tunnel 'web' forwards to on ::"),
    ([_tunnel(debugger_port=8080, local_host="::ffff:127.0.0.1")], "forwards to on ::ffff:127.0.0.1"),
    ([_tunnel(debugger_port=8080, local_host="127.0.1.1")], "forwards to on 127.0.1.1"),
    ([_tunnel(debugger_port=8080, local_host="LocalHost")], "forwards to on LocalHost"),
    ([_tunnel(debugger_port=8080, local_host="app.localhost")], "forwards to on app.localhost"),
    ([{"name": "old", "state": "absent", "debugger_port": 70000}], "tunnel 'old': debugger_port must be an integer from 1 to 65535"),
])
def test_bad_or_shared_debugger_ports_fail_with_one_line_naming_the_tunnels(tunnels: list[dict[str, t.Any]], message: str) -> None:
    assert message in _error(tunnels)


def test_debugger_ports_of_their_own_are_kept_and_absent_tunnels_share_nothing() -> None:
    tunnels = validated_tunnels([_tunnel(debugger_port="4301"), {"name": "db", "mode": "tcp", "local_port": 4302},
                                 {"name": "old", "state": "absent", "debugger_port": 4301}, {"name": "was", "state": "absent", "local_port": 4301},
                                 {"name": "lan", "local_port": 4301, "local_host": "10.0.0.5"},
                                 {"name": "v6", "local_port": 4301, "local_host": "fe80::1%eth0"}])
    assert [tunnel["debugger_port"] for tunnel in tunnels] == [4301, None, 4301, None, None, None]


@pytest.mark.parametrize(("settings", "message"), [
    ({"urls_timeout": 0}, "tunnel_service_urls_timeout must be an integer from 1 to 3600, got 0"),
    ({"urls_timeout": "1h"}, "tunnel_service_urls_timeout must be an integer from 1 to 3600, got '1h'"),
    ({"urls_delay": 61}, "tunnel_service_urls_delay must be an integer from 1 to 60, got 61"),
    ({"urls_delay": False}, "tunnel_service_urls_delay must be an integer from 1 to 60, got False"),
])
def test_the_url_wait_settings_are_checked_with_the_others(settings: dict[str, t.Any], message: str) -> None:
    assert message in _error([_tunnel()], {**SETTINGS, **settings})
    assert checked_settings({**SETTINGS, "urls_timeout": "90", "urls_delay": "3"})[("urls_timeout")] == 90
