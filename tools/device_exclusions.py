"""Regenerate tests/device_exclusions.txt from a pytest log of the fake-device runs:

    CHAINRULE_TEST_DEVICES=fake python -m pytest tests/core tests/nn tests/optim -q \\
        --tb=short --maxfail=5000 -p no:cacheprovider > fake.log
    python tools/device_exclusions.py fake.log

Each failing test becomes one line, `node id  # where it fails: the library frame and error`,
so the device fixture skips it on the fake device with that reason (tests/devices.py). The list
is the work left to port ops to device namespaces; it should only shrink."""

import pathlib
import re
import sys

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "device_exclusions.txt"
SKIP = ("_fake.py", "core/function.py", "ops/arithmetic.py", "ops/registry.py")


def reasons(log):
    blocks = re.split(r"\n_+ (test.+?) _+\n", log)
    found = {}
    for name, body in zip(blocks[1::2], blocks[2::2]):
        lines = body.split("\n")
        frames = [line.strip().split(" in ")[0] for line in lines
                  if line.strip().startswith("src/chainrule") and not any(s in line for s in SKIP)]
        errors = [line[1:].strip() for line in lines if line.startswith("E ")]
        where = frames[-1].replace("src/chainrule/", "") if frames else "the test"
        found[name] = f"{where} {errors[-1][:90] if errors else ''}".strip()
    ids = [i.split(" - ")[0].strip() for i in re.findall(r"^FAILED (.+)$", log, re.M)]
    return [(i, found.get(i.split("::")[-1], "fails on the device")) for i in ids]


def main(path):
    rows = reasons(pathlib.Path(path).read_text(encoding="utf-8", errors="replace"))
    head = ("# Tests skipped on the fake device, with where they fail (tools/device_exclusions.py"
            " regenerates this file from a pytest log). Work left: port these ops' array\n"
            "# creation to the inputs' namespace.\n")
    OUT.write_text(head + "".join(f"{i}  # {r}\n" for i, r in sorted(rows)), encoding="utf-8")
    print(f"wrote {len(rows)} exclusions to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
