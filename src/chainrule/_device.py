"""Devices, as torch names them, for a CPU-only library: cr.device('cpu') exists and every
device= argument accepts the CPU; any other device is refused with one clear message."""


class device:
    """A device (torch.device); chainrule has one, the CPU: device('cpu') and device('cpu', 0)."""

    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        name = str(type).split(":")[0]
        if name != "cpu":
            raise ValueError(f"device: chainrule computes on the CPU only; got {type!r}")
        self.type, self.index = "cpu", index

    def __eq__(self, other):
        return isinstance(other, (device, str)) and str(other).split(":")[0] == "cpu"

    __hash__ = object.__hash__

    def __str__(self):
        return "cpu"

    def __repr__(self):
        return "device(type='cpu')"


def check_device(op_name, dev):
    """Accept None or the CPU; refuse any other device with a clear message."""
    if dev is None or isinstance(dev, device):
        return
    if str(dev).split(":")[0] != "cpu":
        raise ValueError(f"{op_name}: chainrule computes on the CPU only; got device {dev!r} "
                         "(see docs/TORCH.md)")
