"""Sensor drivers on the board's buses (machine.I2C / UART / OneWire / Pin duck types).

Each driver takes its bus and the board's Clock; none sleeps longer than one measurement
(<= 1 s) and none invents a value: a missing, silent or corrupt sensor raises SensorError
with the status error code to report ("sensor" or "i2c").
"""


class SensorError(Exception):
    """A sensor did not give a valid reading. ``code`` is a status error code of the codec
    ("sensor": no answer / bad data; "i2c": the bus itself failed)."""

    def __init__(self, message, code="sensor"):
        super().__init__(message)
        self.code = code
