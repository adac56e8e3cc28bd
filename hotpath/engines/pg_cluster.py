"""A throwaway PostgreSQL cluster on loopback, for the tests, the benchmark and CI.

``initdb`` into a new folder under the temporary directory, a password for the one user
(scram-sha-256 over TCP, so a wrong password is refused as on a real server), ``pg_ctl start``
listening on 127.0.0.1 only, on a free port; ``stop`` ends it and removes the folder. The
server keeps PostgreSQL's defaults otherwise -- fsync and synchronous commit on -- so a
commit per row costs what it costs on a real server. As root (initdb refuses root) the
cluster is run by the ``postgres`` user that Debian's packages create.

    python -m hotpath.engines.pg_cluster start FOLDER    # prints the URL; FOLDER new or empty
    python -m hotpath.engines.pg_cluster stop FOLDER
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

USER = "hotpath"
PASSWORD = "hotpath-throwaway"
DATABASE = "hotpath"
HOST = "127.0.0.1"


def bindir() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, else Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(versions[-1]).parent if versions else None


def unavailable() -> str:
    """ "" when a cluster can be started here, else why not."""
    if bindir() is None:
        return "no initdb/pg_ctl (apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run the cluster as"
    return ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def url(port: int, password: str = PASSWORD) -> str:
    return f"postgresql://{USER}:{password}@{HOST}:{port}/{DATABASE}"


class Cluster:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder or tempfile.mkdtemp(prefix="hotpath-pg-"))
        self.data = self.folder / "data"
        self.port = 0

    def _as_owner(self, *command: str) -> list[str]:
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            return ["runuser", "-u", "postgres", "--", *command]
        return list(command)

    def _run(self, *command: str) -> None:
        done = subprocess.run(self._as_owner(*command), capture_output=True, text=True)
        if done.returncode:
            log = self.folder / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}\n{tail}"
            )

    def start(self) -> str:
        """Make and start the cluster; its URL."""
        why = unavailable()
        if why:
            raise RuntimeError(why)
        binaries = bindir()
        assert binaries is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            for parent in self.folder.resolve().parents:  # postgres must reach its folder
                if not os.stat(parent).st_mode & 0o001:
                    raise RuntimeError(
                        f"the postgres user cannot reach {self.folder}: {parent} is closed to "
                        "others (give a folder under /tmp, say)"
                    )
        password_file = self.folder / "password"
        password_file.write_text(PASSWORD + "\n")
        if os.geteuid() == 0:
            os.chown(password_file, owner.pw_uid, owner.pw_gid)
        self._run(
            str(binaries / "initdb"), "-D", str(self.data), "-U", USER,
            f"--pwfile={password_file}", "--auth-local=trust", "--auth-host=scram-sha-256",
            "-E", "UTF8", "--no-locale", "--no-sync",
        )  # fmt: skip
        for _ in range(5):  # the free port may be taken between asking and binding
            self.port = free_port()
            options = (
                f"-c listen_addresses={HOST} -c port={self.port} "
                f"-c unix_socket_directories={self.folder}"
            )
            try:
                self._run(
                    str(binaries / "pg_ctl"), "-D", str(self.data), "-l",
                    str(self.folder / "server.log"), "-w", "-t", "60", "-o", options, "start",
                )  # fmt: skip
                break
            except RuntimeError:
                if "could not bind" not in (self.folder / "server.log").read_text():
                    raise
        else:
            raise RuntimeError("no free port found for the cluster")
        (self.folder / "port").write_text(str(self.port))
        self._run(
            str(binaries / "createdb"), "-h", str(self.folder), "-p", str(self.port),
            "-U", USER, DATABASE,
        )  # fmt: skip
        return self.url

    @property
    def url(self) -> str:
        return url(self.port)

    def stop(self) -> None:
        binaries = bindir()
        if binaries is not None and (self.data / "postmaster.pid").exists():
            self._run(str(binaries / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print(__doc__, file=sys.stderr)
        return 2
    cluster = Cluster(Path(argv[1]))
    try:
        if argv[0] == "start":
            print(cluster.start())
        else:
            cluster.stop()
    except RuntimeError as error:
        print(f"pg_cluster: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
