"""Node setups: a board and the device settings that decide how it spends its battery (ULP
sampling, a TPL5110 power gate), by name.

A setup is what `lorafield deploy` would put on a real node: the fleet file's `board` and
`settings` (/lorafield.json). The demo town builds every kind with its field-grade setup,
`lorafield bench energy` measures the same setups under the same names, and a scenario's
`board` takes a board or a setup name.
"""

from dataclasses import dataclass, field

from lorafield_hw import profiles

# TPL5110 DONE on a free GPIO of each board (DONE has a pull-down on the timer's side, which
# also holds the ESP32's strapping pin GPIO12 at its boot level); period set by the DELAY
# resistor: 15 min, the apps' default interval.
TPL5110_PERIOD_S = 900
_TPL_DONE = {"heltec_lora32_v2": 12, "pico_rfm95w": 14}


@dataclass(frozen=True)
class Setup:
    name: str
    board: str  # a board profile (lorafield_hw.profiles) and pin map
    settings: dict = field(default_factory=dict)  # device settings it adds
    kinds: tuple = ("parking", "water_level", "temperature")  # the apps it can run

    @property
    def field_grade(self):
        return self.name in FIELD_GRADE.values()

    @property
    def description(self):
        return profiles.get(self.board).name + "".join(
            {"sampling": ", ULP sampling", "tpl5110": ", TPL5110 power gate"}.get(k, "")
            for k in self.settings
        )


def _gated(board):
    gate = {"tpl5110": {"done": _TPL_DONE[board], "period_s": TPL5110_PERIOD_S}}
    # a node sampling every few seconds never powers off: no gate for parking
    return Setup(f"{board}+tpl5110", board, gate, ("water_level", "temperature"))


def _ulp(board):
    return Setup(f"{board}+ulp", board, {"sampling": "ulp"}, ("parking",))


SETUPS = {key: Setup(key, key) for key in sorted(profiles.PROFILES)}
for _setup in (
    _gated("heltec_lora32_v2"),
    _gated("pico_rfm95w"),
    _ulp("esp32_bare"),
    _ulp("heltec_lora32_v2"),
):
    SETUPS[_setup.name] = _setup

# The best measured setup of each kind (`lorafield bench energy`): what the demo town and a
# scenario node without `board` use.
FIELD_GRADE = {
    "parking": "esp32_bare+ulp",
    "water_level": "pico_rfm95w+tpl5110",
    "temperature": "pico_rfm95w+tpl5110",
}
DEV_BOARD = "heltec_lora32_v2"  # the development board as shipped, for contrast


class SetupError(ValueError):
    """An unknown setup, or one that cannot run this kind of node."""


def get(name, kind=None):
    """The setup called `name` (a board or a setup name), checked against `kind`."""
    setup = SETUPS.get(name)
    if setup is None:
        raise SetupError(f"must be a board or setup: {', '.join(SETUPS)}; got {name!r}")
    if kind is not None and kind not in setup.kinds:
        raise SetupError(f"{name} cannot run a {kind} node (it runs {', '.join(setup.kinds)})")
    return setup
