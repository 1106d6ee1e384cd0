"""`make model-report` runs scripts/model_report.py, which reads the benchmark's holdout
evaluation: the module must load, with every name it calls, where matplotlib is not installed
too (tests/test_model_report.py, which draws, is skipped there). It once called
accuracy_cdnow.holdout_evaluation and .metrics_table after both had moved to
accuracy_cli_protocol, and only `make model-report` found out."""

from tests.script_loader import load_script


def test_the_model_report_loads_with_the_functions_it_calls():
    module = load_script("scripts/model_report.py", "model_report_wiring")
    assert callable(module.holdout_evaluation) and callable(module.collect)
    # and the metrics table it prints (scripts/model_report_metrics.py)
    assert callable(module.metrics_rows)
