"""The course's tests; a package so that worker processes can import ``tests.helpers``."""
