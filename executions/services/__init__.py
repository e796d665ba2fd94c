"""The evaluation step and the execution log's rows and writes.

`evaluation` is the one way to evaluate an input (check, evaluate, build the log row);
`input_check` is what it refuses; `log_rows` builds rows; `log_writes` writes them.
"""
