"""docs/DIAGNOSE.md: its example output is what the example code prints, and every code and
threshold of chainrule.inspect.findings is documented."""

import importlib.util
import pathlib
import re

from chainrule.inspect import findings as R

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
_spec = importlib.util.spec_from_file_location("diagnose_docs", ROOT / "tools/diagnose_docs.py")
tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tool)


def test_example_output_is_computed_not_typed():
    text = tool.DOC.read_text()
    assert tool.refreshed(text) == text, "run python tools/diagnose_docs.py"
    output = text.split(tool.OUTPUT)[1].split("```")[0]
    assert output.startswith("diagnose: 1 error") and "[error] dead_units at 0" in output
    # what the prose under it says: layer 1 nearly all dead, layer 2 all, no gradient left
    rows = [line for line in output.splitlines() if line[:2] in ("1 ", "2 ", "3 ")]
    dead = [int(m.group(1)) for m in (re.search(r"dead (\d+)%", r) for r in rows) if m]
    assert dead[0] >= 90 and dead[1] == 100
    assert all(r.split()[-3] == "0" for r in rows)  # ||dL/dW||


def test_every_code_is_documented():
    text = tool.DOC.read_text()
    codes = ["non_finite", "target_shape_mismatch", "probabilities_into_cross_entropy",
             "unscaled_inputs", "dead_units", "saturated_units", "vanishing_gradients",
             "exploding_gradients", "bad_initialisation", "learning_rate_too_high",
             "learning_rate_too_low", "loss_at_chance", "missing_zero_grad",
             "eval_mode_training", "overfitting"]
    for code in codes:
        assert f"| `{code}` |" in text, code
    made = set()
    for module in ("inspect/findings.py", "inspect/learning_findings.py", "inspect/task.py",
                   "inspect/nonfinite.py", "inspect/diagnose.py", "train/monitor.py"):
        source = (ROOT / "src/chainrule" / module).read_text()
        made |= set(re.findall(r'Finding\(\s*"([a-z_]+)"', source))
    assert made == set(codes)  # no finding is made that the page does not explain
    # the table states the constants
    assert f"warning {R.DEAD_WARN:.0%}, error {R.DEAD_ERROR:.0%}" in text
    assert f"warning above {R.INPUT_SCALE_WARN:g}" in text
    assert (R.VANISH_WARN, R.VANISH_ERROR) == (1e-3, 1e-5)
    assert "warning below 1e-3, error below 1e-5" in text
