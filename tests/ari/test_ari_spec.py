import json

import pytest

from ari_apps.ari_spec import SHIPPED_SPEC, AriSpec, SpecViolation, compact_spec

from .traces import SPEC_DIR, load_trace, require_shared


def test_shipped_spec_matches_asterisk_swagger():
    assert json.loads(SHIPPED_SPEC.read_text()) == compact_spec(require_shared(SPEC_DIR))


def split(path: str) -> list[str]:
    return path.strip("/").split("/")


spec = AriSpec.shipped()


def test_literal_segment_wins_over_a_path_parameter():
    op, bound = spec.match("POST", split("/channels/externalMedia"))
    assert op.name == "externalMedia" and bound == {}
    op, bound = spec.match("POST", split("/channels/abc"))
    assert op.name == "originateWithId" and bound == {"channelId": "abc"}


@pytest.mark.parametrize(
    "method, path, query, status, message",
    [
        ("GET", "/nothing/here", {}, 404, "Resource not found"),
        ("PATCH", "/channels", {}, 405, "Invalid method"),
        ("DELETE", "/channels/c1", {"reason": "bored"}, 400, "Invalid value 'bored' for parameter 'reason'"),
        ("DELETE", "/channels/c1", {"cause": "16"}, 400, "Unknown parameter 'cause' for hangup"),
        ("POST", "/channels", {"app": "x"}, 400, "Required parameter 'endpoint' not provided."),
        ("POST", "/channels", {"endpoint": "Local/s@x/n", "timeout": "soon"}, 400, "Parameter 'timeout' must be an integer"),
        ("POST", "/bridges/b1/record", {"name": "n", "format": "wav", "beep": "yes"}, 400, "Parameter 'beep' must be true or false"),
    ],
)
def test_violations_have_asterisk_status_and_message(method, path, query, status, message):
    with pytest.raises(SpecViolation) as caught:
        spec.validate(method, split(path), query)
    assert (caught.value.status, caught.value.message) == (status, message)


def test_body_keys_are_lifted_into_parameters_and_variables_kept():
    matched = spec.validate(
        "POST", split("/channels"), {"app": "a"}, {"endpoint": "Local/s@x/n", "variables": {"X": "1"}}
    )
    assert matched.params == {"app": "a", "endpoint": "Local/s@x/n"}
    assert matched.variables == {"X": "1"}


def test_repeatable_enum_values_are_checked_one_by_one():
    param = {"in": "query", "required": False, "multiple": True, "type": "string", "enum": ["a", "b"]}
    tiny = AriSpec({"operations": [{"method": "GET", "path": "/x", "name": "x", "params": {"p": param}}], "events": {}})
    tiny.validate("GET", ["x"], {"p": "a,b"})
    with pytest.raises(SpecViolation):
        tiny.validate("GET", ["x"], {"p": "a,c"})


@pytest.mark.parametrize("trace", ["media-websocket-slin16", "media-audiosocket-slin16", "bridge-recording", "events-reconnect"])
def test_every_successful_request_in_the_traces_is_valid(trace):
    for row in load_trace(trace):
        if row["kind"] == "rest" and row["status"] < 400:
            query = {k: str(v) for k, v in (row["params"] or {}).items()}
            spec.validate(row["method"], split(row["path"].removeprefix("/ari")), query, row["body"])
