"""Carrier configuration: the simulated carrier's behaviour and the SMPP binds.

Read from the environment with the rest of `Settings`; every variable is listed
in the README. The SMPP URLs are parsed here, once, so that a bad one stops
the process at start with the others' problems, naming the variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from adapters.carriers.simulated import SimulatorSettings
from adapters.carriers.smpp.config import SmppConfig
from adapters.carriers.smpp.urls import parse_smpp_urls
from adapters.config.env_values import env_float

DEFAULT_SIM_RECEIPT_DELAY_S = 1.0
DEFAULT_SIM_FAILURE_SHARE = 0.05


@dataclass(frozen=True, slots=True)
class CarrierSettings:
    # The default route's simulated carrier (the sandbox's has fixed settings).
    simulator: SimulatorSettings = field(default_factory=SimulatorSettings)
    # One per bind, from SMSLEDGER_SMPP_CARRIERS (comma-separated smpp:// URLs).
    smpp: tuple[SmppConfig, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str], problems: list[str]) -> CarrierSettings:
        return cls(
            simulator=SimulatorSettings(
                receipt_delay_s=env_float(
                    env, "SMSLEDGER_SIM_RECEIPT_DELAY_S", DEFAULT_SIM_RECEIPT_DELAY_S,
                    0.0, 3600.0, problems,
                ),
                failure_share=env_float(
                    env, "SMSLEDGER_SIM_FAILURE_SHARE", DEFAULT_SIM_FAILURE_SHARE,
                    0.0, 1.0, problems,
                ),
            ),
            smpp=_smpp_binds(env, problems),
        )


def _smpp_binds(env: Mapping[str, str], problems: list[str]) -> tuple[SmppConfig, ...]:
    try:
        return tuple(parse_smpp_urls(env.get("SMSLEDGER_SMPP_CARRIERS", "")))
    except ValueError as error:
        problems.append(f"SMSLEDGER_SMPP_CARRIERS: {error}")
        return ()
