# `esp32` of the emulated board in --real-boards mode: the store's data partition ("lfstore")
# is the emulated NOR flash of the host.
import machine as _machine


class Partition:
    TYPE_APP, TYPE_DATA = 0, 1

    @staticmethod
    def find(type=TYPE_APP, subtype=255, label=None):
        if type == Partition.TYPE_DATA and label == "lfstore":
            return [_machine._host().flash()]
        return []
