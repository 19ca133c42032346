"""chainrule's benchmark suite: `python -m bench` (bench/run.py); peers in bench/peers/."""
