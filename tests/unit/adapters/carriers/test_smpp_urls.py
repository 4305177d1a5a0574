import pytest

from adapters.carriers.smpp.urls import parse_smpp_urls
from adapters.config.settings import ConfigError, Settings


def test_urls_become_carrier_configs() -> None:
    first, second = parse_smpp_urls(
        "smpp://acme:s%40cret@127.0.0.1:2775/vodafone?window_size=20&system_type=VMA,"
        " smpp://b:p@10.0.0.2:2776/orange?max_messages_per_second=50"
    )
    assert (first.name, first.system_id, first.password, first.window_size) == (
        "vodafone", "acme", "s@cret", 20)
    assert first.system_type == "VMA"
    assert (second.name, second.port, second.max_messages_per_second) == ("orange", 2776, 50.0)


@pytest.mark.parametrize("url", [
    "http://a:b@h:1/x", "smpp://a:b@h/x", "smpp://a:b@h:1/", "smpp://a:b@h:1/x?nope=1",
    "smpp://a:b@h:1/x?window_size=0", "smpp://a:b@h:1/x,smpp://c:d@h:2/x",
])
def test_bad_urls_are_refused_at_start(url: str) -> None:
    with pytest.raises(ValueError):
        parse_smpp_urls(url)
    with pytest.raises(ConfigError, match="SMSLEDGER_SMPP_CARRIERS"):
        Settings.from_env({"SMSLEDGER_SMPP_CARRIERS": url})
