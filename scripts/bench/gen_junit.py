#!/usr/bin/env python3
"""Generates the results benchmark input: a JUnit XML file of 200,000 test cases in
2,000 suites, 10% of them failing with multi-line messages, stack traces and captured
output (about 105 MB). Deterministic: the same file on every run.

Usage: gen_junit.py OUTPUT [--suites 2000] [--cases-per-suite 100]
"""
import argparse
import random


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("output")
    parser.add_argument("--suites", type=int, default=2000)
    parser.add_argument("--cases-per-suite", type=int, default=100)
    args = parser.parse_args()
    rng = random.Random(6)
    with open(args.output, "w", encoding="utf-8") as out:
        w = out.write
        total = args.suites * args.cases_per_suite
        w('<?xml version="1.0" encoding="UTF-8"?>\n')
        w(f'<testsuites name="bench" tests="{total}" failures="{total // 10}" errors="0" time="1234.5">\n')
        n = 0
        for s in range(args.suites):
            cls = f"com.example.module{s % 50}.feature{s}.Component{s}Test"
            w(f'  <testsuite name="{cls}" tests="{args.cases_per_suite}" failures="{args.cases_per_suite // 10}" '
              f'errors="0" skipped="0" time="{rng.uniform(1, 30):.3f}" timestamp="2025-01-15T10:{s % 60:02d}:00" hostname="ci-runner-{s % 8}">\n')
            w('    <properties>\n')
            w('      <property name="java.version" value="21.0.2"/>\n')
            w(f'      <property name="user.dir" value="/builds/example/module{s % 50}"/>\n')
            w('    </properties>\n')
            for c in range(args.cases_per_suite):
                n += 1
                name = f"test_{c:03d}_handles_input_variant_{rng.randint(0, 9999)}"
                time = f"{rng.uniform(0, 2):.3f}"
                if n % 10 != 0:
                    w(f'    <testcase name="{name}" classname="{cls}" time="{time}"/>\n')
                    continue
                expected, got = rng.randint(0, 1000), rng.randint(0, 1000)
                message = (f"expected: &lt;{expected}&gt; but was: &lt;{got}&gt;&#10;"
                           f"while checking {name} with seed {rng.randint(0, 1 << 30)}")
                w(f'    <testcase name="{name}" classname="{cls}" time="{time}">\n')
                w(f'      <failure message="{message}" type="org.opentest4j.AssertionFailedError"><![CDATA[')
                w(f"org.opentest4j.AssertionFailedError: expected: <{expected}> but was: <{got}>\n")
                for frame in range(22):
                    w(f"\tat com.example.module{s % 50}.internal.Layer{frame}.call{frame}"
                      f"(Layer{frame}.java:{rng.randint(10, 900)})\n")
                w(f"\tat {cls}.{name}({cls.rsplit('.', 1)[1]}.java:{rng.randint(10, 500)})\n")
                w("]]></failure>\n")
                w("      <system-out><![CDATA[")
                for line in range(19):
                    w(f"2025-01-15 10:00:{line:02d}.{rng.randint(0, 999):03d} INFO  [worker-{line % 4}] "
                      f"step {line} of {name}: state={rng.randint(0, 1 << 20)} ok\n")
                w("]]></system-out>\n")
                w("      <system-err><![CDATA[WARN retrying connection to db-1 (attempt 2)\n]]></system-err>\n")
                w("    </testcase>\n")
            w("  </testsuite>\n")
        w("</testsuites>\n")


if __name__ == "__main__":
    main()
