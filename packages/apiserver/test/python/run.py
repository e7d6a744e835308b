"""Runs one test_*.py module and prints one JSON line per test case on stdout:
{"case": "Class.test_x", "outcome": "ok|fail|error|skip", "detail": "..."} (for python-client.test.ts)."""
import json
import sys
import unittest
import warnings

warnings.simplefilter("ignore", ResourceWarning)


class Lines(unittest.TestResult):
    def _emit(self, test, outcome, detail=""):
        name = f"{type(test).__name__}.{test._testMethodName}" if hasattr(test, "_testMethodName") else str(test)
        print(json.dumps({"case": name, "outcome": outcome, "detail": detail}), flush=True)

    def addSuccess(self, test):
        self._emit(test, "ok")

    def addFailure(self, test, err):
        self._emit(test, "fail", self._exc_info_to_string(err, test))

    def addError(self, test, err):
        self._emit(test, "error", self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        self._emit(test, "skip", reason)


suite = unittest.defaultTestLoader.loadTestsFromName(sys.argv[1])
result = Lines()
suite.run(result)
sys.exit(0 if result.wasSuccessful() else 1)
