"""Run under `accelerate launch`: trains each config (a JSON list in argv[1]) in one process group, so the tests pay
the launch (two interpreters importing torch) once for several runs."""

import json
import sys

import domainfit

if __name__ == "__main__":
    for config in json.loads(sys.argv[1]):
        domainfit.train(config)
