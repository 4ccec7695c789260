"""The identity store: api key -> user -> org, anonymous id -> user.

A real SQL database through sqlmodel: a SQLite file by default, PostgreSQL
when a URL is configured. Every id in it is pseudonymous. Rows written by the
pipeline carry source='landing' and are replaced on each sync; rows the
platform's key-creation code writes directly (any other source) are kept.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
from sqlalchemy import delete, insert
from sqlmodel import Field, Session, SQLModel, create_engine, select

PIPELINE_SOURCE = "landing"


class IdentityUser(SQLModel, table=True):
    __tablename__ = "identity_users"

    user_pid: str = Field(primary_key=True)
    org_pid: str | None = None
    account_type: str
    created_at: datetime
    email_verified_at: datetime | None = None
    email_pid: str = Field(index=True)
    source: str = PIPELINE_SOURCE


class IdentityKeyOwner(SQLModel, table=True):
    __tablename__ = "identity_key_owners"

    key_pid: str = Field(primary_key=True)
    valid_from: datetime = Field(primary_key=True)
    valid_to: datetime | None = None
    user_pid: str = Field(index=True)
    org_pid: str | None = None
    mode: str
    source: str = PIPELINE_SOURCE


class IdentityAnonymousLink(SQLModel, table=True):
    __tablename__ = "identity_anonymous_links"

    anonymous_pid: str = Field(primary_key=True)
    user_pid: str = Field(index=True)
    linked_at: datetime
    source: str = PIPELINE_SOURCE


MODELS: dict[str, type[SQLModel]] = {
    "identity_users": IdentityUser,
    "identity_key_owners": IdentityKeyOwner,
    "identity_anonymous_links": IdentityAnonymousLink,
}


def _aware(value):
    """SQLite hands datetimes back naive; every time in the store is UTC."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


class IdentityStore:
    def __init__(self, url: str):
        self.url = url
        self.engine = create_engine(url)
        SQLModel.metadata.create_all(self.engine, tables=[m.__table__ for m in MODELS.values()])

    def replace_pipeline_rows(self, model: type[SQLModel], frame: pd.DataFrame, batch: int = 20_000) -> int:
        """Swap the pipeline's rows of one table for `frame`, in one transaction."""
        columns = [c.name for c in model.__table__.columns]
        records = frame[columns].astype(object).where(frame[columns].notna(), None).to_dict("records")
        with Session(self.engine) as session:
            session.execute(delete(model).where(model.source == PIPELINE_SOURCE))
            for start in range(0, len(records), batch):
                session.execute(insert(model), records[start : start + batch])
            session.commit()
        return len(records)

    def read(self, model: type[SQLModel]) -> pd.DataFrame:
        """Every row of one table (pipeline's and platform's) as a frame."""
        columns = [c.name for c in model.__table__.columns]
        with Session(self.engine) as session:
            rows = session.exec(select(*[getattr(model, c) for c in columns])).all()
        frame = pd.DataFrame([tuple(_aware(v) for v in row) for row in rows], columns=columns)
        for column in model.__table__.columns:
            if column.type.python_type is datetime:
                frame[column.name] = pd.to_datetime(frame[column.name], utc=True)
        return frame

    def add(self, row: SQLModel) -> None:
        """Write one row directly, as the platform's key-creation code would."""
        with Session(self.engine) as session:
            session.merge(row)
            session.commit()

    def close(self) -> None:
        self.engine.dispose()
