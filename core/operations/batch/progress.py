"""A job's progress, its items and the recent jobs, read from the database (a reload or a
closed tab loses nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import func, select

from core.domain.statuses import OPEN_ITEMS, JobStatus
from core.messages import shown
from core.operations.context import Ops
from core.storage.models import BatchItem, BatchJob
from core.timeutil import as_utc


@dataclass(frozen=True)
class JobProgress:
    job_id: int
    action: str
    status: str
    total: int
    counts: dict[str, int]
    created_by: str
    created_at: datetime | None
    confirmed_amount: int | None = None  # the yen total the operator confirmed (screen jobs)

    @property
    def finished(self) -> int:
        return sum(v for k, v in self.counts.items() if k not in OPEN_ITEMS)

    @property
    def done(self) -> bool:
        return self.status == JobStatus.DONE or self.finished >= self.total


def progress(ops: Ops, job_id: int) -> JobProgress:
    with ops.db.session() as s:
        job = s.get_one(BatchJob, job_id)
        counts = dict(
            s.execute(
                select(BatchItem.status, func.count())
                .where(BatchItem.job_id == job_id)
                .group_by(BatchItem.status)
            ).all()
        )
        return JobProgress(
            job.id,
            job.action,
            job.status,
            job.total,
            counts,
            job.created_by,
            as_utc(job.created_at),
            job.confirmed_amount,
        )


def items_frame(ops: Ops, job_id: int, lang: str = "ja") -> pd.DataFrame:
    with ops.db.session() as s:
        rows = s.execute(
            select(
                BatchItem.position,
                BatchItem.order_no,
                BatchItem.payment_id,
                BatchItem.status,
                BatchItem.result_code,
                BatchItem.message,
                BatchItem.message_en,
                BatchItem.finished_at,
                BatchItem.msg,
            )
            .where(BatchItem.job_id == job_id)
            .order_by(BatchItem.position)
        ).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "position",
            "order_no",
            "payment_id",
            "status",
            "result_code",
            "message_ja",
            "message_en",
            "finished_at",
            "msg",
        ],
    )
    frame["message"] = [
        shown(m, lang, ja=ja, en=en)
        for m, ja, en in zip(frame["msg"], frame["message_ja"], frame["message_en"], strict=True)
    ]
    return frame.drop(columns=["message_ja", "message_en", "msg"])


def recent_jobs(ops: Ops, limit: int = 20) -> list[JobProgress]:
    with ops.db.session() as s:
        ids = list(s.scalars(select(BatchJob.id).order_by(BatchJob.id.desc()).limit(limit)))
    return [progress(ops, i) for i in ids]
