"""Imports every table so that Alembic and tests see the whole schema."""

from sqlmodel import SQLModel

from app.auth.models import ApiKey
from app.connections.models import Integration
from app.feedback.models import FeedbackItem
from app.inbox.models import InboundDelivery
from app.insights.models import CheckTask, IssueFix, IssueRootCause, MetricPoint, PersonaDropSnapshot
from app.intake.models import IdempotencyRecord
from app.issues.models import ExperienceIssue, IssueCustomer, IssueEvent, IssueFacet, IssueTeam
from app.journey.models import JourneyVersion
from app.loop.models import CustomerNotice, IssueAccountability, LoopAction, ReminderSent
from app.outbox.models import OutboxMessage
from app.people.models import AuditEntry, UsedToken
from app.routing.models import (
    GroupingCalibration,
    ItemVector,
    MergeProposal,
    RoutingConfirmation,
    RoutingModel,
)
from app.scheduler.models import JobTick
from app.sources.models import Source
from app.sync.models import Contribution

metadata = SQLModel.metadata

__all__ = [
    "ApiKey",
    "AuditEntry",
    "CheckTask",
    "Contribution",
    "CustomerNotice",
    "ExperienceIssue",
    "FeedbackItem",
    "GroupingCalibration",
    "IdempotencyRecord",
    "InboundDelivery",
    "Integration",
    "IssueAccountability",
    "IssueCustomer",
    "IssueEvent",
    "IssueFacet",
    "IssueFix",
    "IssueRootCause",
    "IssueTeam",
    "ItemVector",
    "JobTick",
    "JourneyVersion",
    "LoopAction",
    "MergeProposal",
    "MetricPoint",
    "OutboxMessage",
    "PersonaDropSnapshot",
    "ReminderSent",
    "RoutingConfirmation",
    "RoutingModel",
    "Source",
    "UsedToken",
    "metadata",
]
