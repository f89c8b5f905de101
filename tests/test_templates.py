"""Parameter templates: every rule round-trips to plain data and JSON; bad input is named."""
import dataclasses
import json
import subprocess
import sys

import pytest

import brian_stdp
from brian_stdp import SHORT_NAMES, load_rule, rule_class
from brian_stdp.cli import main

RULE_CLASSES = [rule_class(short_name) for short_name in sorted(SHORT_NAMES)]


def test_the_two_foundation_rules_are_available():
    names = {cls.name for cls in RULE_CLASSES}
    assert {"nearest_online_STDP", "full_online_STDP"} <= names


def _changed_parameters(cls):
    """Every parameter moved off its default to another allowed value."""
    changed = {}
    for field in dataclasses.fields(cls):
        constraint = field.metadata.get("constraint")
        if constraint is None:
            continue
        default = field.default
        if isinstance(default, str):
            continue  # a choice or a name: the numeric parameters exercise the round trip
        for candidate in (default * 0.5, default - 1, default + 1, default * 2):
            if constraint.kind == "integer":
                candidate = int(round(candidate))
            if candidate == default:
                continue
            try:
                constraint.validate(field.name, candidate)
            except (TypeError, ValueError):
                continue
            try:
                cls(**{**changed, field.name: candidate})
            except (TypeError, ValueError):
                continue
            changed[field.name] = candidate
            break
    return changed


@pytest.mark.parametrize("cls", RULE_CLASSES, ids=lambda c: c.name)
def test_to_dict_has_the_name_and_every_parameter(cls):
    data = cls().to_dict()
    assert data["rule"] == cls.name
    names = [f.name for f in dataclasses.fields(cls) if "constraint" in f.metadata]
    assert sorted(data["parameters"]) == sorted(names)
    assert json.loads(json.dumps(data)) == data  # plain data only


@pytest.mark.parametrize("cls", RULE_CLASSES, ids=lambda c: c.name)
def test_round_trip_through_dict_and_json_file(cls, tmp_path):
    changed = _changed_parameters(cls)
    assert changed, f"no parameter of {cls.name} could be changed"
    rule = cls(**changed)
    assert cls.from_dict(rule.to_dict()) == rule
    assert brian_stdp.STDPRule.from_dict(rule.to_dict()) == rule
    path = tmp_path / "rule.json"
    rule.save(path)
    loaded = load_rule(path)
    assert type(loaded) is cls and loaded == rule
    assert loaded != cls() or not changed
    for name, value in changed.items():
        assert getattr(loaded, name) == pytest.approx(value)


@pytest.mark.parametrize("cls", RULE_CLASSES, ids=lambda c: c.name)
def test_unknown_parameter_is_named(cls):
    data = cls().to_dict()
    data["parameters"]["no_such_parameter"] = 1.0
    with pytest.raises(ValueError, match="no_such_parameter"):
        cls.from_dict(data)


@pytest.mark.parametrize("cls", RULE_CLASSES, ids=lambda c: c.name)
def test_bad_value_is_named(cls):
    data = cls().to_dict()
    name = sorted(k for k, v in data["parameters"].items() if not isinstance(v, str))[0]
    data["parameters"][name] = "not a number"
    with pytest.raises(TypeError, match=name):
        cls.from_dict(data)
    data["parameters"][name] = float("nan")
    with pytest.raises((TypeError, ValueError), match=name):
        cls.from_dict(data)


def test_decay_factor_out_of_range_is_named():
    from brian_stdp import NearestOnlineSTDP
    with pytest.raises(ValueError, match=r"trace_pre.*\(0, 1\]"):
        NearestOnlineSTDP.from_dict({"rule": "nearest_online_STDP",
                                     "parameters": {"trace_pre": 1.5}})


def test_unknown_top_level_key_and_unknown_rule():
    from brian_stdp import NearestOnlineSTDP
    with pytest.raises(ValueError, match="extra"):
        NearestOnlineSTDP.from_dict({"rule": "nearest_online_STDP", "parameters": {},
                                     "extra": 1})
    with pytest.raises(ValueError, match="no_such_rule"):
        rule_class("no_such_rule")
    with pytest.raises(ValueError, match="full_online_STDP"):
        NearestOnlineSTDP.from_dict({"rule": "full_online_STDP", "parameters": {}})
    with pytest.raises(TypeError, match="dict"):
        NearestOnlineSTDP.from_dict([("rule", "nearest_online_STDP")])


def test_load_rule_refuses_a_file_that_is_not_a_rule(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"parameters": {}}))
    with pytest.raises(ValueError, match="rule"):
        load_rule(path)
    path.write_text(json.dumps({"rule": "nope", "parameters": {}}))
    with pytest.raises(ValueError, match="nope"):
        load_rule(path)


@pytest.mark.parametrize("alias", ["nearest", "full"])
def test_template_command_prints_loadable_defaults(alias, capsys, tmp_path):
    assert main(["template", alias]) == 0
    printed = capsys.readouterr().out
    data = json.loads(printed)
    cls = rule_class(alias)
    assert data == cls().to_dict()
    path = tmp_path / "t.json"
    path.write_text(printed)
    assert load_rule(path) == cls()


def test_template_command_refuses_unknown_rule(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["template", "no_such_rule"])
    assert exit_info.value.code == 2
    assert "no_such_rule" in capsys.readouterr().err


def test_module_entry_point_prints_template():
    output = subprocess.run([sys.executable, "-m", "brian_stdp", "template", "full"],
                            check=True, capture_output=True, text=True).stdout
    assert json.loads(output)["rule"] == "full_online_STDP"


def test_mnist_refuses_a_bad_rule_file_before_simulating(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"rule": "nearest_online_STDP",
                                "parameters": {"Apost": 0.01, "bogus": 2}}))
    with pytest.raises(SystemExit) as exit_info:
        main(["mnist", "--rule-file", str(path), "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert "bogus" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_bad_choice_is_named():
    choices = [cls for cls in RULE_CLASSES
               if any(isinstance(v, str) for v in cls().to_dict()["parameters"].values())]
    for cls in choices:
        data = cls().to_dict()
        name = next(k for k, v in data["parameters"].items() if isinstance(v, str))
        data["parameters"][name] = 3.5
        with pytest.raises((TypeError, ValueError), match=name):
            cls.from_dict(data)
