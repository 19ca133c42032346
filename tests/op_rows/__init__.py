"""Op-table rows of the op families outside tests/core/op_table.py, one module per family
(linalg.py, conv.py, ...). Each module calls tests.core.op_table.row(...); op_table imports
every module here, so a family's rows are checked by every op-table test (forward in float32
and float64, gradcheck, gradgradcheck, PyTorch, compile replay, the registry coverage and the
random-graph fuzz) the day they are added."""
