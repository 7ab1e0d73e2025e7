"""File imports started from the browser, run by the server's single writer.

An upload is saved to a private temporary folder and queued as a job on the ingestion
writer (:meth:`yunying.ingest.pipeline.Writer.run_exclusive`), which runs the same
:func:`yunying.ingest.files.import_file` as ``yunying import``: one transaction per file,
idempotent, bad rows reported with their line and field. The job's progress and report are
kept in memory (the page polls them); the uploaded file is deleted when the job ends.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from yunying.ingest.files import FileReport, import_file
from yunying.ingest.rejects import Reject
from yunying.ingest.sources import SUPPORTED, FileImportError, suffix_of
from yunying.store import Project, Store

JobState = Literal["queued", "running", "done", "failed"]
KEPT_JOBS = 200  # finished jobs remembered per server (the oldest are forgotten)


@dataclass
class ImportJob:
    """One uploaded file on its way into a project."""

    job_id: int
    project: Project
    filename: str
    path: Path
    timezone: str
    account: str
    state: JobState = "queued"
    step: str = ""
    fraction: float = 0.0
    created: float = field(default_factory=time.time)
    error: str | None = None
    report: FileReport | None = None

    # ---------------------------------------------------------------- the writer's side
    def run(self, store: Store) -> None:
        self.state = "running"
        try:
            self.report = import_file(store, self.project, self.path, timezone=self.timezone,
                                      progress=self._progress)
        except FileImportError as exc:
            # the message names the temporary file; say the uploaded name instead
            raise FileImportError(str(exc).replace(str(self.path), self.filename)) from None

    def _progress(self, step: str, fraction: float) -> None:
        self.step, self.fraction = step.replace(self.path.name, self.filename), fraction

    def finished(self, error: BaseException | None) -> None:
        self.state = "failed" if error else "done"
        self.fraction = 1.0
        if error is not None:
            self.error = str(error) if isinstance(error, FileImportError) else \
                f"the import failed, nothing was written ({type(error).__name__}: {error})"
        shutil.rmtree(self.path.parent, ignore_errors=True)

    # ---------------------------------------------------------------- what pages show
    @property
    def rejects(self) -> list[Reject]:
        return self.report.rejects if self.report else []

    def as_dict(self) -> dict[str, object]:
        report = self.report
        return {
            "job_id": self.job_id, "filename": self.filename, "state": self.state, "step": self.step,
            "fraction": round(self.fraction, 4), "error": self.error, "account": self.account,
            "created": self.created, "timezone": self.timezone,
            "imported": report.imported if report else None,
            "duplicates": report.duplicates if report else None,
            "rejected": report.rejected if report else None,
            "unit": report.unit if report else None,
        }


class ImportJobs:
    """The jobs of this server process, by id (ids are not reused while it runs)."""

    def __init__(self) -> None:
        self._jobs: dict[int, ImportJob] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def start(self, writer: object, project: Project, filename: str, upload: BinaryIO, *,
              timezone: str, account: str, max_bytes: int) -> ImportJob:
        """Save ``upload`` and queue its import; FileImportError for a bad name or a file too big."""
        suffix = _suffix(filename)
        folder = Path(tempfile.mkdtemp(prefix="yunying-upload-"))
        path = folder / f"upload{suffix}"
        try:
            with path.open("wb") as out:
                copied = 0
                while chunk := upload.read(1 << 20):
                    copied += len(chunk)
                    if copied > max_bytes:
                        raise FileImportError(
                            f"{filename}: larger than {max_bytes:,} bytes (setting max_upload_bytes)")
                    out.write(chunk)
            if copied == 0:
                raise FileImportError(f"{filename}: the file is empty")
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        with self._lock:
            job = ImportJob(next(self._ids), project, filename, path, timezone, account)
            self._jobs[job.job_id] = job
            for old in sorted(self._jobs)[:-KEPT_JOBS]:
                if self._jobs[old].state in ("done", "failed"):
                    del self._jobs[old]
        writer.run_exclusive(job)  # type: ignore[attr-defined]
        return job

    def get(self, project: Project, job_id: int) -> ImportJob | None:
        job = self._jobs.get(job_id)
        return job if job is not None and job.project.project_id == project.project_id else None

    def of(self, project: Project) -> list[ImportJob]:
        """The project's jobs, newest first."""
        with self._lock:
            return sorted((j for j in self._jobs.values() if j.project.project_id == project.project_id),
                          key=lambda j: -j.job_id)


def _suffix(filename: str) -> str:
    """The file type of the uploaded name; only its suffix is used (the name never becomes a path)."""
    try:
        return suffix_of(Path(filename.replace("\\", "/").rsplit("/", 1)[-1] or "x"))
    except FileImportError:
        raise FileImportError(f"{filename}: unsupported file type; expected {SUPPORTED}") from None
