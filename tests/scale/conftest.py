"""The scale harness's own servers: a primary with a streaming replica and PgBouncer in front.

Unavailable (binaries missing, a server would not start): fails under CI=true, else skips saying why."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.db import init_schema
from tests.conftest import _in_ci

from .cluster import Cluster, ClusterUnavailable, start_cluster


def _cluster_or_fail() -> Iterator[Cluster]:
    # not under pytest's tmp_path: its root-only parent is closed to the `postgres` user
    root = Path(tempfile.mkdtemp(prefix="sm-cluster-"))
    try:
        try:
            cluster = start_cluster(root)
        except ClusterUnavailable as exc:
            if _in_ci():
                pytest.fail(f"PostgreSQL cluster harness: {exc} — CI=true, so the scale tests must run")
            pytest.skip(f"PostgreSQL cluster harness unavailable here: {exc}")
        try:
            init_schema(cluster.primary.url())
            cluster.wait_replayed()
            yield cluster
        finally:
            cluster.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """One cluster for a module's tests, migrated to head (the failover test makes its own)."""
    yield from _cluster_or_fail()


@pytest.fixture
def own_cluster() -> Iterator[Cluster]:
    """A cluster for one test that breaks it (kills the primary)."""
    yield from _cluster_or_fail()
