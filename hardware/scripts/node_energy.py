"""Energy and battery life of a typical sensor node duty cycle on each board profile.

    .venv/bin/python hardware/scripts/node_energy.py [--interval-s 300] [--hours 6]
        [--payload-bytes 20] [--sf 7] [--power-dbm 14]

The node (register-level radio code through the board interface) wakes from deep sleep,
switches the sensor rail on, takes an SHT31 single-shot measurement, transmits the payload,
listens in RX1 and RX2 (RX single, 8-symbol timeout, as a Class A device with no downlink),
puts the radio to sleep, saves its frame counter in the store and deep-sleeps for the
interval. Prints per board: charge per component, average current and projected life.
"""

import argparse

from lorafield_hw import profiles
from lorafield_hw.air import Air
from lorafield_hw.board import EmulatedBoard
from lorafield_hw.scheduler import Scheduler
from lorafield_hw.sensors import SHT31


def node(interval_s, payload_bytes, sf, power_dbm):
    def main(board):
        clock = board.clock()
        spi, cs, reset, dio0 = board.radio()
        dio1 = board.radio_dio1()
        store = board.store()
        fcnt = int.from_bytes(store.get("fcnt", b"\x00\x00\x00\x00"), "little")

        def write(reg, *values):
            cs.value(0)
            spi.write(bytes((reg | 0x80,) + values))
            cs.value(1)

        def wait_irq(limit_ms):
            board.lightsleep(limit_ms)
            write(0x12, 0xFF)

        if board.reset_cause() != 4:  # not a deep-sleep wake: reset the radio
            reset.value(0)
            clock.sleep_us(100)
            reset.value(1)
            clock.sleep_ms(5)
        write(0x01, 0x80)
        write(0x01, 0x81)
        frf = 868_100_000 * (1 << 19) // 32_000_000
        write(0x06, frf >> 16, (frf >> 8) & 0xFF, frf & 0xFF)
        write(0x1D, 0x72)
        write(0x1E, (sf << 4) | 0x04)
        write(0x26, 0x04)
        write(0x39, 0x34)
        write(0x09, 0x80 | (power_dbm - 2))  # PA_BOOST: Pout = 2 + OutputPower
        dio0.irq(lambda pin: None, trigger=dio0.IRQ_RISING)
        dio1.irq(lambda pin: None, trigger=dio1.IRQ_RISING)

        board.sensor_power(True)
        i2c = board.i2c()
        i2c.writeto(0x44, b"\x24\x00")
        clock.sleep_ms(16)
        reading = i2c.readfrom(0x44, 6)
        board.sensor_power(False)

        payload = (reading[:2] + fcnt.to_bytes(4, "little") + bytes(payload_bytes))[:payload_bytes]
        write(0x0D, 0x80)
        cs.value(0)
        spi.write(b"\x80" + payload)
        cs.value(1)
        write(0x22, len(payload))
        write(0x40, 0x40)  # DIO0 TxDone
        write(0x01, 0x83)
        wait_irq(5000)
        for delay_ms in (1000, 1000):  # RX1 at +1 s, RX2 at +2 s
            board.lightsleep(delay_ms - 10)
            write(0x1F, 8)
            write(0x40, 0x00)  # DIO0 RxDone, DIO1 RxTimeout
            write(0x01, 0x86)
            wait_irq(3000)
        write(0x01, 0x80)
        store.put("fcnt", (fcnt + 1).to_bytes(4, "little"))
        board.deepsleep(interval_s * 1000)

    return main


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval-s", type=int, default=300)
    parser.add_argument("--hours", type=float, default=6.0)
    parser.add_argument("--payload-bytes", type=int, default=20)
    parser.add_argument("--sf", type=int, default=7, choices=range(7, 13))
    parser.add_argument("--power-dbm", type=int, default=14, choices=range(2, 18))
    args = parser.parse_args()
    for key in sorted(profiles.PROFILES):
        sched = Scheduler(seed=1)
        air = Air(sched)
        sensor = SHT31(clock=lambda sched=sched: sched.now_us, seed=1)
        firmware = node(args.interval_s, args.payload_bytes, args.sf, args.power_dbm)
        board = EmulatedBoard(sched, firmware, key, air=air, sensors=[sensor])
        board.power_on()
        sched.run_until(int(args.hours * 3600 * 1_000_000))
        report = board.energy_report()
        charge = ", ".join(f"{k} {v:.3f}" for k, v in report["charge_mah"].items())
        chemistry, capacity, cells = board.profile.battery
        print(f"{key}: {len(board.boots)} wakes in {args.hours:g} h; mAh: {charge}")
        print(
            f"  average {report['average_ma']:.3f} mA; {cells} x {chemistry} {capacity} mAh"
            f" -> {report['projected_life_days']:.0f} days; battery now"
            f" {report['battery_mv']} mV"
        )
        sched.shutdown()


if __name__ == "__main__":
    main()
