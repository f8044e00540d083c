"""python -m bench [--size 20000 | --sizes 5000,20000,district:100000] [--profile district] [--latency-ms 20]:
see bench/run.py."""

from bench.run import main

if __name__ == "__main__":  # the multiprocess executor's forkserver re-imports the main module
    raise SystemExit(main())
