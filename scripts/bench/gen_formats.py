#!/usr/bin/env python3
"""Generates benchmark inputs for the newer report formats: the same run as
gen_junit.py (suites of test cases, 10% failing with a message, a 23-line stack
trace and captured output) written as TRX, NUnit 3, xUnit.net v2, `go test -json`,
CTRF, TAP 13, Jest JSON and JaCoCo (one source file per test case's class, with
line and branch counters). Deterministic: the same files on every run.

Usage: gen_formats.py OUTDIR [--suites 1000] [--cases-per-suite 100]
Writes OUTDIR/bench.{trx,nunit.xml,xunit.xml,gotest.json,ctrf.json,tap,jest.json,jacoco.xml}.
"""
import argparse
import json
import os
import random


def cases(suites, per_suite):
    """(suite index, class, name, seconds, failure or None), in order."""
    rng = random.Random(6)
    n = 0
    for s in range(suites):
        cls = f"Example.Module{s % 50}.Feature{s}.Component{s}Tests"
        for c in range(per_suite):
            n += 1
            name = f"Handles_input_variant_{c:03d}_{rng.randint(0, 9999)}"
            seconds = round(rng.uniform(0, 2), 3)
            failure = None
            if n % 10 == 0:
                expected, got = rng.randint(0, 1000), rng.randint(0, 1000)
                message = f"Expected: {expected} But was: {got}\nwhile checking {name} with seed {rng.randint(0, 1 << 30)}"
                stack = "".join(
                    f"   at Example.Module{s % 50}.Internal.Layer{f}.Call{f}() in /src/Layer{f}.cs:line {rng.randint(10, 900)}\n"
                    for f in range(22)
                ) + f"   at {cls}.{name}() in /src/Component{s}Tests.cs:line {rng.randint(10, 500)}\n"
                output = "".join(
                    f"2025-01-15 10:00:{line:02d}.{rng.randint(0, 999):03d} INFO [worker-{line % 4}] step {line} of {name}: state={rng.randint(0, 1 << 20)} ok\n"
                    for line in range(19)
                )
                failure = (message, stack, output)
            yield s, cls, name, seconds, failure


def grouped(w, suites, per, open_group, close_group):
    """cases(), with `open_group(s, cls)` written before each suite's first case and
    `close_group` after its last."""
    current = None
    for case in cases(suites, per):
        s, cls = case[0], case[1]
        if s != current:
            if current is not None:
                w(close_group)
            current = s
            w(open_group(s, cls))
        yield case
    if current is not None:
        w(close_group)


def esc(text):
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def trx(out, suites, per):
    w = out.write
    w('<?xml version="1.0" encoding="UTF-8"?>\n<TestRun id="1" name="bench" '
      'xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">\n  <Results>\n')
    defs = []
    for i, (s, cls, name, secs, failure) in enumerate(cases(suites, per)):
        tid = f"{i:08x}-0000-0000-0000-000000000000"
        outcome = "Failed" if failure else "Passed"
        w(f'    <UnitTestResult executionId="{tid}" testId="{tid}" testName="{name}" '
          f'computerName="ci-runner-{s % 8}" duration="00:00:0{secs:.7f}" outcome="{outcome}" '
          f'testType="13cdc9d9-ddb5-4fa4-a97d-d965ccfc6d4b" testListId="8c84fa94-04c1-424b-9868-57a2d4851a1d">')
        if failure:
            message, stack, output = failure
            w(f"\n      <Output>\n        <StdOut>{esc(output)}</StdOut>\n        <ErrorInfo>\n"
              f"          <Message>{esc(message)}</Message>\n          <StackTrace>{esc(stack)}</StackTrace>\n"
              "        </ErrorInfo>\n      </Output>\n    ")
        w("</UnitTestResult>\n")
        defs.append((tid, cls, name))
    w("  </Results>\n  <TestDefinitions>\n")
    for tid, cls, name in defs:
        w(f'    <UnitTest name="{name}" storage="/src/bin/Tests.dll" id="{tid}">\n'
          f'      <Execution id="{tid}"/>\n'
          f'      <TestMethod codeBase="/src/bin/Tests.dll" adapterTypeName="executor://mstestadapter/v2" '
          f'className="{cls}" name="{name}"/>\n    </UnitTest>\n')
    w("  </TestDefinitions>\n</TestRun>\n")


def nunit(out, suites, per):
    w = out.write
    w('<?xml version="1.0" encoding="utf-8"?>\n<test-run id="2" testcasecount="0" result="Failed">\n'
      '  <test-suite type="Assembly" name="Tests.dll" fullname="/src/bin/Tests.dll">\n')
    fixture = lambda s, cls: f'    <test-suite type="TestFixture" name="Component{s}Tests" fullname="{cls}" classname="{cls}">\n'
    for s, cls, name, secs, failure in grouped(w, suites, per, fixture, "    </test-suite>\n"):
        result = 'result="Failed"' if failure else 'result="Passed"'
        w(f'      <test-case id="{s}-{name}" name="{name}" fullname="{cls}.{name}" methodname="{name}" '
          f'classname="{cls}" runstate="Runnable" {result} duration="{secs}" asserts="1"')
        if failure:
            message, stack, output = failure
            w(f"><failure><message><![CDATA[{message}]]></message><stack-trace><![CDATA[{stack}]]></stack-trace>"
              f"</failure><output><![CDATA[{output}]]></output></test-case>\n")
        else:
            w("/>\n")
    w("  </test-suite>\n</test-run>\n")


def xunit(out, suites, per):
    w = out.write
    w('<?xml version="1.0" encoding="utf-8"?>\n<assemblies>\n  <assembly name="/src/bin/Tests.dll" '
      'environment="64-bit .NET" test-framework="xUnit.net 2.9.0">\n')
    collection = lambda s, cls: f'    <collection name="Test collection for {cls}" time="1.0">\n'
    for s, cls, name, secs, failure in grouped(w, suites, per, collection, "    </collection>\n"):
        result = "Fail" if failure else "Pass"
        w(f'      <test name="{cls}.{name}" type="{cls}" method="{name}" time="{secs}" result="{result}"')
        if failure:
            message, stack, output = failure
            w(f'><failure exception-type="Xunit.Sdk.EqualException"><message><![CDATA[{message}]]></message>'
              f"<stack-trace><![CDATA[{stack}]]></stack-trace></failure><output><![CDATA[{output}]]></output></test>\n")
        else:
            w("/>\n")
    w("  </assembly>\n</assemblies>\n")


def gotest(out, suites, per):
    w = out.write
    current = None
    t = "2025-01-15T10:00:00.000000Z"

    def event(**fields):
        w(json.dumps({"Time": t, **fields}, separators=(",", ":")) + "\n")

    for s, cls, name, secs, failure in cases(suites, per):
        package = f"example.com/module{s % 50}/feature{s}"
        if s != current:
            if current is not None:
                event(Action="fail", Package=prev, Elapsed=1.5)
            current, prev = s, package
            event(Action="start", Package=package)
        test = f"Test{name}"
        event(Action="run", Package=package, Test=test)
        event(Action="output", Package=package, Test=test, Output=f"=== RUN   {test}\n")
        if failure:
            message, stack, output = failure
            for line in output.splitlines():
                event(Action="output", Package=package, Test=test, Output=line + "\n")
            event(Action="output", Package=package, Test=test, Output=f"    cart_test.go:41: {message.splitlines()[0]}\n")
            event(Action="output", Package=package, Test=test, Output=f"--- FAIL: {test} ({secs:.2f}s)\n")
            event(Action="fail", Package=package, Test=test, Elapsed=secs)
        else:
            event(Action="output", Package=package, Test=test, Output=f"--- PASS: {test} ({secs:.2f}s)\n")
            event(Action="pass", Package=package, Test=test, Elapsed=secs)
    event(Action="fail", Package=prev, Elapsed=1.5)


def ctrf(out, suites, per):
    tests = []
    for s, cls, name, secs, failure in cases(suites, per):
        test = {"name": name, "status": "failed" if failure else "passed", "duration": int(secs * 1000),
                "suite": cls, "filePath": f"tests/component{s}.spec.ts"}
        if failure:
            message, stack, output = failure
            test.update(message=message, trace=stack, stdout=output.splitlines())
        tests.append(test)
    failed = sum(1 for t in tests if t["status"] == "failed")
    json.dump({"reportFormat": "CTRF", "specVersion": "0.0.0", "results": {
        "tool": {"name": "playwright"},
        "summary": {"tests": len(tests), "passed": len(tests) - failed, "failed": failed, "pending": 0,
                    "skipped": 0, "other": 0, "start": 1736935200000, "stop": 1736935300000},
        "tests": tests}}, out)


def tap(out, suites, per):
    w = out.write
    w(f"TAP version 13\n1..{suites * per}\n")
    for i, (s, cls, name, secs, failure) in enumerate(cases(suites, per), 1):
        if failure:
            message, stack, output = failure
            w(f"not ok {i} - {cls} {name}\n  ---\n  message: {json.dumps(message)}\n  severity: fail\n"
              f"  duration_ms: {secs * 1000:.1f}\n  stack: |\n")
            for line in stack.splitlines():
                w(f"    {line}\n")
            w("  ...\n")
        else:
            w(f"ok {i} - {cls} {name} # time={secs * 1000:.1f}ms\n")


def jest(out, suites, per):
    files = {}
    for s, cls, name, secs, failure in cases(suites, per):
        files.setdefault(s, []).append((cls, name, secs, failure))
    results = []
    total = failed = 0
    for s, tests in files.items():
        assertions = []
        for cls, name, secs, failure in tests:
            total += 1
            failed += bool(failure)
            assertions.append({
                "ancestorTitles": [cls], "fullName": f"{cls} {name}", "title": name,
                "status": "failed" if failure else "passed", "duration": int(secs * 1000),
                "failureMessages": [f"Error: {failure[0]}\n{failure[1]}"] if failure else []})
        results.append({"name": f"/app/tests/component{s}.test.js", "status": "failed",
                        "message": "", "assertionResults": assertions,
                        "startTime": 1736935200000, "endTime": 1736935201000})
    json.dump({"numTotalTests": total, "numPassedTests": total - failed, "numFailedTests": failed,
               "numPendingTests": 0, "success": False, "startTime": 1736935200000,
               "testResults": results}, out)


def jacoco(out, suites, per):
    rng = random.Random(6)
    w = out.write
    w('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><!DOCTYPE report PUBLIC '
      '"-//JACOCO//DTD Report 1.1//EN" "report.dtd"><report name="bench">'
      '<sessioninfo id="ci-runner" start="1736935200000" dump="1736935300000"/>\n')
    for s in range(suites):
        w(f'<package name="com/example/module{s % 50}/feature{s}">\n')
        for c in range(per):
            w(f'<class name="com/example/module{s % 50}/feature{s}/Class{c}" sourcefilename="Class{c}.java">')
            for m in range(3):
                w(f'<method name="method{m}" desc="()V" line="{10 + m * 20}">'
                  f'<counter type="INSTRUCTION" missed="{rng.randint(0, 9)}" covered="{rng.randint(0, 50)}"/>'
                  f'<counter type="LINE" missed="{rng.randint(0, 3)}" covered="{rng.randint(0, 12)}"/></method>')
            w("</class>\n")
        for c in range(per):
            w(f'<sourcefile name="Class{c}.java">')
            for line in range(1, 25):
                w(f'<line nr="{line}" mi="{rng.randint(0, 2)}" ci="{rng.randint(0, 9)}" mb="0" cb="{rng.randint(0, 2)}"/>')
            w(f'<counter type="LINE" missed="{rng.randint(0, 8)}" covered="{rng.randint(0, 40)}"/>'
              f'<counter type="BRANCH" missed="{rng.randint(0, 4)}" covered="{rng.randint(0, 12)}"/></sourcefile>\n')
        w("</package>\n")
    w("</report>\n")


WRITERS = {
    "bench.trx": trx, "bench.nunit.xml": nunit, "bench.xunit.xml": xunit,
    "bench.gotest.json": gotest, "bench.ctrf.json": ctrf, "bench.tap": tap,
    "bench.jest.json": jest, "bench.jacoco.xml": jacoco,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("outdir")
    parser.add_argument("--suites", type=int, default=1000)
    parser.add_argument("--cases-per-suite", type=int, default=100)
    parser.add_argument("--only", help="one file name of the list above")
    args = parser.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    for file, writer in WRITERS.items():
        if args.only and file != args.only:
            continue
        suites = args.suites // 10 if writer is jacoco else args.suites
        with open(os.path.join(args.outdir, file), "w", encoding="utf-8") as out:
            writer(out, suites, args.cases_per_suite)


if __name__ == "__main__":
    main()
