"""Carrier settings: their own section of the configuration, read from the
variables the simulator and the SMPP binds have always used, and the carriers
the dispatcher role builds from them."""

from __future__ import annotations

import pytest

from adapters.bootstrap.dispatcher import SANDBOX_RECEIPT_DELAY_S, build_carriers
from adapters.carriers.simulated import SimulatedCarrier
from adapters.carriers.smpp.carrier import SmppCarrier
from adapters.config.settings import ConfigError, Settings


def test_the_carrier_variables_fill_the_carrier_section() -> None:
    carriers = Settings.from_env({
        "SMSLEDGER_SIM_RECEIPT_DELAY_S": "0.05",
        "SMSLEDGER_SIM_FAILURE_SHARE": "0",
        "SMSLEDGER_SMPP_CARRIERS": "smpp://acme:pw@127.0.0.1:2775/vodafone?window_size=20",
    }).carriers
    assert (carriers.simulator.receipt_delay_s, carriers.simulator.failure_share) == (0.05, 0.0)
    [bind] = carriers.smpp
    assert (bind.name, bind.system_id, bind.port, bind.window_size) == (
        "vodafone", "acme", 2775, 20)


def test_unset_variables_give_the_simulator_defaults_and_no_smpp_bind() -> None:
    carriers = Settings.from_env({}).carriers
    assert (carriers.simulator.receipt_delay_s, carriers.simulator.failure_share) == (1.0, 0.05)
    assert carriers.smpp == ()


@pytest.mark.parametrize(("name", "value"), [
    ("SMSLEDGER_SIM_RECEIPT_DELAY_S", "-1"), ("SMSLEDGER_SIM_FAILURE_SHARE", "1.5"),
])
def test_a_bad_simulator_value_is_refused_naming_its_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def test_the_dispatcher_role_builds_the_simulators_and_every_smpp_bind() -> None:
    settings = Settings.from_env({
        "SMSLEDGER_SIM_FAILURE_SHARE": "0.2",
        "SMSLEDGER_SMPP_CARRIERS": "smpp://a:b@127.0.0.1:2775/one,smpp://c:d@127.0.0.1:2776/two",
    })
    carriers = build_carriers(settings.carriers)
    assert sorted(carriers) == ["one", "sandbox", "simulated", "two"]
    assert isinstance(carriers["one"], SmppCarrier) and carriers["two"].name == "two"
    simulated, sandbox = carriers["simulated"], carriers["sandbox"]
    assert isinstance(simulated, SimulatedCarrier) and isinstance(sandbox, SimulatedCarrier)
    assert simulated._settings.failure_share == 0.2
    # The sandbox's simulator keeps its own settings whatever the environment says.
    assert (sandbox._settings.failure_share, sandbox._settings.receipt_delay_s) == (
        0.0, SANDBOX_RECEIPT_DELAY_S)
