"""The run worker: `python -m evidence_pipeline.run_worker [--wait] --outcome-fd FD JOB DATE [ASSET_KEY ...]` runs one
partition of a job (see `runner.RunWorker`) and writes its outcome as JSON to file descriptor FD, a pipe of its own
(the stdout it shares with the step processes is no channel for it).

Only the standard library is imported before the steps' forkserver starts: the forkserver then imports the code
location on one core while this process imports it on the other, instead of after it, when the first step starts.
"""

import multiprocessing
import multiprocessing.forkserver
import sys

from evidence_pipeline.settings import STEP_PRELOAD_MODULES


def start_step_forkserver() -> None:
    """Dagster's multiprocess executor finds the forkserver running and forks its steps from it."""
    multiprocessing.set_forkserver_preload(STEP_PRELOAD_MODULES)
    multiprocessing.forkserver.ensure_running()


if __name__ == "__main__":
    start_step_forkserver()
    from evidence_pipeline.runner import run_worker_main

    run_worker_main(sys.argv[1:])
