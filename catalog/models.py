"""The catalog's tables (SQLAlchemy 2.0 typed models). Migrations live in catalog/migrations.

A server has listings (who lists it), packages, remotes and tools. A tool keeps its current
definition inline and every definition it ever had in tool_versions. Classifications belong
to a definition hash and a classifier version, so a tool that changes back to an old
definition reuses that definition's classification. Overrides are a person's decision on
(server key, tool name) and outlive crawls and reclassification.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Dialect, Float, ForeignKey, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Base",
    "Classification",
    "CrawlRun",
    "Listing",
    "Override",
    "Package",
    "Remote",
    "Server",
    "Tool",
    "ToolVersion",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC on every backend and hands back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        # none_as_null: a missing schema is SQL NULL, not the JSON text 'null' (and costs no dumps)
        dict[str, Any]: JSON(none_as_null=True),
        list[Any]: JSON(none_as_null=True),
        datetime: UTCDateTime(),
    }


class Server(Base):
    __tablename__ = "servers"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(512), unique=True)
    name: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    repository_url: Mapped[str | None] = mapped_column(Text)
    homepage: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(64))
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]

    listings: Mapped[list[Listing]] = relationship(back_populates="server", order_by="Listing.source")
    packages: Mapped[list[Package]] = relationship(back_populates="server")
    remotes: Mapped[list[Remote]] = relationship(back_populates="server")
    tools: Mapped[list[Tool]] = relationship(back_populates="server", order_by="Tool.name")


class Listing(Base):
    __tablename__ = "listings"
    __table_args__ = (UniqueConstraint("server_id", "source", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(64), index=True)
    source_id: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[dict[str, Any] | None]
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]

    server: Mapped[Server] = relationship(back_populates="listings")


class Package(Base):
    __tablename__ = "packages"
    __table_args__ = (UniqueConstraint("server_id", "registry_type", "identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    registry_type: Mapped[str] = mapped_column(String(32))
    identifier: Mapped[str] = mapped_column(Text)
    version: Mapped[str | None] = mapped_column(String(128))
    transport: Mapped[str | None] = mapped_column(String(32))

    server: Mapped[Server] = relationship(back_populates="packages")


class Remote(Base):
    __tablename__ = "remotes"
    __table_args__ = (UniqueConstraint("server_id", "url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    transport: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(Text)

    server: Mapped[Server] = relationship(back_populates="remotes")


class Tool(Base):
    __tablename__ = "tools"
    __table_args__ = (UniqueConstraint("server_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(512), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    input_schema: Mapped[dict[str, Any] | None]
    output_schema: Mapped[dict[str, Any] | None]
    annotations: Mapped[dict[str, Any] | None]
    origin: Mapped[dict[str, Any] | None]
    definition_hash: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    removed_at: Mapped[datetime | None]

    server: Mapped[Server] = relationship(back_populates="tools")
    versions: Mapped[list[ToolVersion]] = relationship(
        back_populates="tool", order_by="ToolVersion.first_seen"
    )


class ToolVersion(Base):
    """Every definition a tool has had; the current one too."""

    __tablename__ = "tool_versions"
    __table_args__ = (UniqueConstraint("tool_id", "definition_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tool_id: Mapped[int] = mapped_column(ForeignKey("tools.id", ondelete="CASCADE"))
    definition_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    input_schema: Mapped[dict[str, Any] | None]
    output_schema: Mapped[dict[str, Any] | None]
    annotations: Mapped[dict[str, Any] | None]
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]

    tool: Mapped[Tool] = relationship(back_populates="versions")


class Classification(Base):
    __tablename__ = "classifications"
    __table_args__ = (UniqueConstraint("definition_hash", "classifier_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_hash: Mapped[str] = mapped_column(String(64))
    classifier_version: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    rationale: Mapped[list[Any]]
    flags: Mapped[list[Any]]
    created_at: Mapped[datetime]


class Override(Base):
    """A person's class for one tool of one server; wins over the classifier in every export."""

    __tablename__ = "overrides"
    __table_args__ = (UniqueConstraint("server_key", "tool_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    server_key: Mapped[str] = mapped_column(String(512))
    tool_name: Mapped[str] = mapped_column(String(512))
    label: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class CrawlRun(Base):
    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))
    sources: Mapped[list[Any]]
    counts: Mapped[dict[str, Any]]
    errors: Mapped[list[Any]]
