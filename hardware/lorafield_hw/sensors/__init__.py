"""Emulated sensors, each speaking its real bus protocol at register/byte level.

* `QMC5883L` magnetometer, I2C 0x0D (QST QMC5883L datasheet rev 1.0);
* `SHT31` temperature/humidity, I2C 0x44 (Sensirion SHT3x-DIS datasheet);
* `DS18B20` temperature, one-wire (Maxim DS18B20 datasheet);
* `A02YYUW` ultrasonic distance, UART 9600 8N1 (DFRobot SEN0311 wiki);
* `JSNSR04T` ultrasonic distance, trigger/echo pins (JSN-SR04T v3 datasheet).

Every sensor takes `clock` (callable -> virtual now in us), `powered` (callable -> bool,
the board's sensor rail) and a seed. `charge_hook(mas)` (optional) is told the charge in
mA*s that each measurement draws, so the energy meter can count it.
"""

from lorafield_hw.sensors.a02yyuw import A02YYUW
from lorafield_hw.sensors.base import Sensor
from lorafield_hw.sensors.ds18b20 import DS18B20
from lorafield_hw.sensors.jsn_sr04t import JSNSR04T
from lorafield_hw.sensors.qmc5883l import QMC5883L
from lorafield_hw.sensors.sht31 import SHT31

__all__ = ["A02YYUW", "DS18B20", "JSNSR04T", "QMC5883L", "SHT31", "Sensor"]
