#!/usr/bin/env python3
"""Baseline: junitparser (with lxml) parses the file, counts every test and collects
each failure's suite, class, name and message."""
import sys
import time

from junitparser import Error, Failure, JUnitXml, Skipped


def main():
    started = time.perf_counter()
    tests = failed = errors = skipped = 0
    failures = []
    for path in sys.argv[1:]:
        xml = JUnitXml.fromfile(path)
        for suite in xml:
            for case in suite:
                tests += 1
                for result in case.result:
                    if isinstance(result, Failure):
                        failed += 1
                        failures.append((suite.name, case.classname, case.name, result.message))
                    elif isinstance(result, Error):
                        errors += 1
                        failures.append((suite.name, case.classname, case.name, result.message))
                    elif isinstance(result, Skipped):
                        skipped += 1
    seconds = time.perf_counter() - started
    print(f"tests={tests} failed={failed} errors={errors} skipped={skipped} "
          f"failures_collected={len(failures)} seconds={seconds:.3f}")


if __name__ == "__main__":
    main()
