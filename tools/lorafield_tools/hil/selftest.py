# The hardware-in-the-loop test build: deployed as /main.py by the HIL harness. It runs on the
# device (MicroPython), uses the real firmware modules and reports over the serial port, one
# `HIL key=value ...` line per check:
#   radio: the SX127x driver's reset and RegVersion (0x12) check, then its LoRa mode;
#   sensor: one measurement from the sensor of the device's app;
#   join: one OTAA join through the gateway (the radio's TX and RX both work: loop-back);
#   uplink: one unconfirmed uplink with the measurement (hex, for the codec on the host).
from binascii import hexlify

from lorafield_boards import make_board
from lorafield_codec import encode, fport_of
from lorafield_node.deploy import load
from lorafield_node.mac import DutyCycleWait, Mac
from lorafield_node.sx127x import SX127x


def report(check, **fields):
    print("HIL " + check + "".join(f" {k}={fields[k]}" for k in sorted(fields)))


def measure(board, settings, clock):
    app = settings["app"]
    if app == "temperature":
        if settings.get("sensor") == "sht31":
            from lorafield_node.drivers.sht31 import SHT31

            t, rh = SHT31(board.i2c(), clock).read()
            return "temperature", {"temperature_c": t / 100, "humidity_pct": rh / 10}
        from lorafield_node.drivers.ds18b20 import DS18B20

        return "temperature", {"temperature_c": DS18B20(board.onewire(), clock).read() / 100}
    if app == "parking":
        from lorafield_node.drivers.qmc5883l import QMC5883L

        x, y, z = QMC5883L(board.i2c(), clock).read_nt()
        report("sensor_raw", x_nt=x, y_nt=y, z_nt=z)
    return "status", {"battery_mv": board.battery_mv()}


def main():
    settings = load()
    board = make_board(settings["board"], settings)
    clock = board.clock()
    board.sensor_power(True)
    spi, cs, reset, dio0 = board.radio()
    radio = SX127x(spi, cs, reset, dio0, clock)
    radio.init()  # raises RadioError unless RegVersion reads 0x12
    # RegVersion 0x42, RegOpMode 0x01 bit 7 LongRangeMode (SX1276 datasheet table 41)
    report("radio", version=f"0x{radio.read_register(0x42):02x}",
           lora=radio.read_register(0x01) >> 7)  # fmt: skip
    kind, data = measure(board, settings, clock)
    report("sensor", kind=kind, **data)
    mac = Mac(board, radio=radio, dev_eui=settings["dev_eui"], join_eui=settings["join_eui"],
              app_key=settings["app_key"], fcnt_reserve=1)  # fmt: skip
    joined = False
    attempts = 0
    while attempts < 3:
        attempts += 1
        try:
            joined = mac.join()
        except DutyCycleWait as wait:
            board.lightsleep(wait.wait_ms)
            continue
        if joined:
            break
    report("join", ok=int(joined), attempts=attempts, dev_addr=f"{mac.dev_addr or 0:08x}")
    if not joined:
        return
    payload = encode(kind, data)
    while True:
        try:
            result = mac.send(fport_of(kind), payload)
            break
        except DutyCycleWait as wait:  # the join used the sub-band's budget: wait, as the MAC says
            report("duty_cycle_wait", ms=wait.wait_ms)
            board.lightsleep(wait.wait_ms)
    report("uplink", fcnt=result.fcnt, fport=fport_of(kind), hex=hexlify(payload).decode())
    radio.sleep()
    report("done")


if __name__ == "__main__":  # run as the device's /main.py; importing it does nothing
    main()
