"""A real Redis Cluster (three masters, three replicas) and a Sentinel set-up, on loopback ports.

Each node is a `RedisServer` (a redis-server process of the suite's own in a temp dir); nodes can be
killed with SIGKILL (a crashed machine) and started again, so that the tests see real failovers, not
simulated ones. Cluster nodes fail over after `NODE_TIMEOUT_MS` of silence.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, TypeVar

import redis

from tests.support import RedisServer, free_port
from tests.support.waiting import wait_until

NODE_TIMEOUT_MS = 1000


class Startable(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


S = TypeVar("S", bound=Startable)


@contextmanager
def running(server: S) -> Iterator[S]:
    """`server` started, and stopped afterwards whatever happened."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


class LocalCluster:
    """Six cluster-enabled nodes joined by `redis-cli --cluster create --cluster-replicas 1`."""

    def __init__(self, workdir: Path, size: int = 6) -> None:
        self.nodes = []
        for index in range(size):
            bus_port = free_port()
            self.nodes.append(
                RedisServer(
                    workdir / f"node{index}",
                    extra_args=[
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        str(NODE_TIMEOUT_MS),
                        "--cluster-port",
                        str(bus_port),
                        # A replica whose master died promotes itself however long the link was down.
                        "--cluster-replica-validity-factor",
                        "0",
                        # Replicas sync at once rather than waiting 5 s for more replicas to batch with.
                        "--repl-diskless-sync-delay",
                        "0",
                        "--appendonly",
                        "yes",
                        "--appendfsync",
                        "always",
                    ],
                )
            )

    @property
    def url(self) -> str:
        return f"redis://{self.nodes[0].address}"

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        subprocess.run(
            [
                shutil.which("redis-cli") or "redis-cli",
                "--cluster",
                "create",
                *(node.address for node in self.nodes),
                "--cluster-replicas",
                "1",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        wait_until(self.healthy, timeout=30)
        wait_until(self.replicated, timeout=30)

    def replicated(self) -> bool:
        """Every master has a replica online: what `wait_replicas = 1` needs."""
        online = 0
        for node in self.running():
            client = node.client()
            try:
                info = client.info("replication")
            finally:
                client.close()
            if info["role"] == "master":
                online += info.get("slave0", {}).get("state") == "online"
        return online == 3

    def running(self) -> list[RedisServer]:
        return [node for node in self.nodes if node.process is not None]

    def healthy(self) -> bool:
        """Every running node says `cluster_state:ok` and sees three masters serving all slots."""
        for node in self.running():
            client = node.client()
            try:
                info = client.execute_command("CLUSTER", "INFO").decode()
                nodes = client.execute_command("CLUSTER", "NODES").decode().splitlines()
            except redis.RedisError:
                return False
            finally:
                client.close()
            flags = [set(line.split()[2].split(",")) for line in nodes]
            masters = [node for node in flags if "master" in node and not node & {"fail", "fail?"}]
            if "cluster_state:ok" not in info or len(masters) != 3:
                return False
        return True

    def master_of(self, key: str) -> RedisServer:
        """The node that serves `key`'s slot now."""
        client = self.running()[0].client()
        try:
            slot = int(client.execute_command("CLUSTER", "KEYSLOT", key))
            for start, end, master, *_ in client.execute_command("CLUSTER", "SLOTS"):
                if start <= slot <= end:
                    port = int(master[1])
                    return next(node for node in self.nodes if node.port == port)
        finally:
            client.close()
        raise LookupError(f"no node serves the slot of {key!r}")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


class LocalSentinel:
    """A master, one replica and one sentinel watching them as `service`; failover on request."""

    def __init__(
        self,
        workdir: Path,
        service: str = "mymaster",
        password: str | None = None,
        sentinel_password: str | None = None,
    ) -> None:
        """`password`: the master's and replica's `requirepass` (and the replica's `masterauth`);
        `sentinel_password`: the sentinel's own."""
        self.service = service
        durable = ["--appendonly", "yes", "--appendfsync", "always", "--repl-diskless-sync-delay", "0"]
        if password:
            durable += ["--masterauth", password]
        self.master = RedisServer(workdir / "master", extra_args=durable, password=password)
        self.replica = RedisServer(
            workdir / "replica",
            extra_args=[*durable, "--replicaof", "127.0.0.1", str(self.master.port)],
            password=password,
        )
        conf = workdir / "sentinel.conf"
        workdir.mkdir(parents=True, exist_ok=True)
        conf.write_text(
            f"sentinel monitor {service} 127.0.0.1 {self.master.port} 1\n"
            f"sentinel down-after-milliseconds {service} 1000\n"
            f"sentinel failover-timeout {service} 5000\n"
            + (f"sentinel auth-pass {service} {password}\n" if password else ""),
            encoding="utf-8",
        )
        self.sentinel = RedisServer(
            workdir / "sentinel", extra_args=["--sentinel"], config_file=conf, password=sentinel_password
        )

    @property
    def address(self) -> str:
        return self.sentinel.address

    def start(self) -> None:
        self.master.start()
        self.replica.start()
        wait_until(lambda: self._replicas_of(self.master) == 1, timeout=20)
        self.sentinel.start()
        wait_until(lambda: self.master_port() == self.master.port, timeout=20)
        wait_until(self._sentinel_knows_replica, timeout=30)
        wait_until(self._replica_acknowledges, timeout=30)

    def _replica_acknowledges(self) -> bool:
        """A write on the master is confirmed by WAIT: the replica is past its start-up sync work."""
        client = self.master.client()
        try:
            client.set("sentinel-probe", 1)
            return int(client.wait(1, 200)) == 1
        finally:
            client.close()

    def _sentinel_knows_replica(self) -> bool:
        client = self.sentinel.client()
        try:
            replicas = client.execute_command("SENTINEL", "REPLICAS", self.service)
        finally:
            client.close()
        return any(
            replica[b"flags"] == b"slave" and replica[b"master-link-status"] == b"ok" for replica in replicas
        )

    def _replicas_of(self, node: RedisServer) -> int:
        client = node.client()
        try:
            info = client.info("replication")
        finally:
            client.close()
        return sum(
            1 for name, value in info.items() if name.startswith("slave") and value["state"] == "online"
        )

    def master_port(self) -> int:
        client = self.sentinel.client()
        try:
            _host, port = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service)
            return int(port)
        finally:
            client.close()

    def failover(self) -> None:
        """`SENTINEL FAILOVER`: the replica becomes master, the old master its replica."""
        before = self.master_port()
        client = self.sentinel.client()
        try:
            client.execute_command("SENTINEL", "FAILOVER", self.service)
        finally:
            client.close()
        wait_until(lambda: self.master_port() != before, timeout=20)

    def stop(self) -> None:
        for node in (self.sentinel, self.replica, self.master):
            node.stop()
