#!/usr/bin/env python3
"""Baseline: a hand-tuned streaming loop (xml.etree iterparse, elements cleared as
soon as they are read) that counts every test and collects each failure's suite,
class, name and message."""
import sys
import time
import xml.etree.ElementTree as ET


def main():
    started = time.perf_counter()
    tests = failed = errors = skipped = 0
    failures = []
    for path in sys.argv[1:]:
        suite = None
        context = ET.iterparse(path, events=("start", "end"))
        for event, elem in context:
            tag = elem.tag
            if event == "start":
                if tag == "testsuite":
                    suite = elem.get("name")
                continue
            if tag == "testcase":
                tests += 1
                for child in elem:
                    ctag = child.tag
                    if ctag == "failure" or ctag == "error":
                        if ctag == "failure":
                            failed += 1
                        else:
                            errors += 1
                        failures.append((suite, elem.get("classname"), elem.get("name"), child.get("message")))
                    elif ctag == "skipped":
                        skipped += 1
                elem.clear()
            elif tag == "testsuite":
                elem.clear()
    seconds = time.perf_counter() - started
    print(f"tests={tests} failed={failed} errors={errors} skipped={skipped} "
          f"failures_collected={len(failures)} seconds={seconds:.3f}")


if __name__ == "__main__":
    main()
