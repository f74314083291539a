"""The classroom domain: courses, students, class sessions, participants and their time series."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from classroom.labels import EXPRESSIONS as EXPRESSIONS  # re-exported for the domain's callers; the one copy is there

EXPRESSION_CHOICES = [(name, name) for name in EXPRESSIONS]


POLICY_CHOICES = [("full", "full"), ("aggregate", "aggregate"), ("attention", "attention")]


class Course(models.Model):
    """A course taught by one teacher, with its privacy policy and alert thresholds (empty: the deployment default)."""

    name = models.CharField(max_length=200)
    teacher = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="courses")
    created_at = models.DateTimeField(auto_now_add=True)
    privacy_policy = models.CharField(max_length=10, choices=POLICY_CHOICES, blank=True, help_text="empty: the deployment's PRIVACY_POLICY")
    alert_absent_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="a student absent this long")
    alert_not_engaged_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="a student not engaged this long")
    alert_class_drop = models.FloatField(null=True, blank=True, help_text="class indicator drop against its 5-minute baseline")
    alert_class_floor = models.FloatField(null=True, blank=True, help_text="class indicator below this")
    alert_uploads_stopped_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="no frame received this long")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Student(models.Model):
    """A student on a course roster. Opted-out students are skipped: nothing about them is stored."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="students")
    name = models.CharField(max_length=200)
    external_id = models.CharField(max_length=64, blank=True, help_text="the school's id for the student (roster import)")
    email = models.EmailField(blank=True)
    opted_out = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["course", "name"], name="unique_student_name_per_course")]

    def __str__(self) -> str:
        return self.name


class ClassSession(models.Model):
    """One live class. Frames are accepted only while live, with the session's ingest token."""

    class Status(models.TextChoices):
        LIVE = "live"
        ENDED = "ended"

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="sessions")
    title = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.LIVE)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    # sha256 of the bearer token; the token itself is shown once and never stored.
    ingest_token_hash = models.CharField(max_length=64, unique=True)
    ingest_token_hint = models.CharField(max_length=8, help_text="first characters, to tell tokens apart")

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.course} — {self.title or format(self.started_at, '%Y-%m-%d %H:%M')}"

    @property
    def is_live(self) -> bool:
        return self.status == self.Status.LIVE


class IngestCredential(models.Model):
    """Another bearer token for a session's uploads, minted when a paired client (the extension) asks for one.

    Stored hashed like the session's own token; rotating the session's token revokes every credential.
    """

    session = models.ForeignKey(ClassSession, on_delete=models.CASCADE, related_name="credentials")
    token_hash = models.CharField(max_length=64, unique=True)
    token_hint = models.CharField(max_length=8)
    label = models.CharField(max_length=40, default="extension")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.label} {self.token_hint}… for session {self.session_id}"


class PairingCode(models.Model):
    """A short one-time code a teacher shows to pair a client with a live session (single use, minutes long).

    Only its hash is kept, so a database read cannot pair anything. Used and expired codes stay until
    retention, so a late or repeated exchange gets a precise answer rather than "unknown".
    """

    session = models.ForeignKey(ClassSession, on_delete=models.CASCADE, related_name="pairing_codes")
    code_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"pairing code for session {self.session_id} (expires {self.expires_at:%H:%M})"


class Participant(models.Model):
    """A tracked face in a session: a meeting tile name or an anonymous track, maybe a student."""

    session = models.ForeignKey(ClassSession, on_delete=models.CASCADE, related_name="participants")

    class NameSource(models.TextChoices):
        PAGE = "page", "meeting page"
        PICTURE = "picture", "label on the picture"
        TEACHER = "teacher", "renamed by the teacher"
        TRACK = "track", "anonymous track"

    key = models.CharField(max_length=200, help_text="tile name from the client, or track-N")
    display_name = models.CharField(max_length=200)
    name_source = models.CharField(max_length=8, choices=NameSource.choices, default=NameSource.TRACK)
    painted_name = models.CharField(max_length=200, blank=True, help_text="the name last read from the label on the tile")
    student = models.ForeignKey(Student, on_delete=models.SET_NULL, null=True, blank=True, related_name="participations")
    last_box = models.JSONField(null=True, blank=True, help_text="[x, y, w, h] in frame pixels")
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["display_name"]
        constraints = [models.UniqueConstraint(fields=["session", "key"], name="unique_participant_key_per_session")]

    def __str__(self) -> str:
        return self.display_name


class Observation(models.Model):
    """One participant in one processed frame: apparent expression, engagement, box, head pose."""

    session = models.ForeignKey(ClassSession, on_delete=models.CASCADE, related_name="observations")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="observations")
    captured_at = models.DateTimeField()
    probabilities = models.JSONField(null=True, blank=True, help_text="7 floats in EXPRESSIONS order; null under the attention policy")
    expression = models.CharField(max_length=8, choices=EXPRESSION_CHOICES, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    engagement = models.FloatField(help_text="engagement indicator 0..1")
    engagement_band = models.CharField(max_length=12)
    box = models.JSONField(help_text="[x, y, w, h] in frame pixels")
    yaw = models.FloatField(default=0.0)
    pitch = models.FloatField(default=0.0)
    low_resolution = models.BooleanField(default=False, help_text="read from an enlarged crop of a face under 20 px; confidence tempered")

    class Meta:
        indexes = [
            models.Index(fields=["session", "captured_at"], name="obs_session_time"),
            models.Index(fields=["participant", "captured_at"], name="obs_participant_time"),
        ]

    def __str__(self) -> str:
        return f"{self.participant_id} @ {self.captured_at:%H:%M:%S}: {self.expression or '-'} {self.engagement:.2f}"


class ClassSample(models.Model):
    """The whole class in one processed frame: sums over the faces present, never who they were.

    Written for every frame under every policy; it is all that is stored per frame under ``aggregate``
    (no per-student rows). Class series, class alerts and class rollups read it.
    """

    session = models.ForeignKey(ClassSession, on_delete=models.CASCADE, related_name="class_samples")
    captured_at = models.DateTimeField()
    present = models.PositiveIntegerField(help_text="faces scored in the frame")
    engagement_sum = models.FloatField(default=0.0, help_text="sum of the engagement indicator over the faces")
    bands = models.JSONField(default=dict, blank=True, help_text="engagement band → faces")
    expressions = models.JSONField(default=dict, blank=True, help_text="top apparent expression → faces; empty under attention")
    probability_sums = models.JSONField(null=True, blank=True, help_text="7 sums in EXPRESSIONS order; null under attention")

    class Meta:
        indexes = [models.Index(fields=["session", "captured_at"], name="sample_session_time")]

    def __str__(self) -> str:
        return f"class of session {self.session_id} @ {self.captured_at:%H:%M:%S}: {self.present} present"

    @property
    def engagement(self) -> float | None:
        """Mean engagement of the faces present."""
        return self.engagement_sum / self.present if self.present else None


class FrameLog(models.Model):
    """What happened to one uploaded frame. Never pixels: counts, timings and reasons only."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        PROCESSED = "processed"
        DROPPED = "dropped"
        EXPIRED = "expired"
        ERROR = "error"

    session = models.ForeignKey(ClassSession, on_delete=models.CASCADE, related_name="frame_logs")
    frame_id = models.CharField(max_length=64)
    captured_at = models.DateTimeField()
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    tiles = models.PositiveIntegerField(default=0)
    faces_found = models.PositiveIntegerField(default=0)
    latency_ms = models.FloatField(null=True, blank=True, help_text="received to stored")
    detail = models.JSONField(default=dict, blank=True, help_text="error message or skipped faces and why")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "frame_id"], name="unique_frame_id_per_session")]
        indexes = [models.Index(fields=["session", "received_at"], name="framelog_session_time")]

    def __str__(self) -> str:
        return f"frame {self.frame_id} ({self.status})"


class AuditEntry(models.Model):
    """Who read per-student data, and what: kept so such reads are accountable (docs/architecture.md "Privacy and policy")."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="audit_entries")
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=200)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action} {self.target}"


class Alert(models.Model):
    """Something the teacher should look at, raised once and kept until it clears (``classroom.alerts``)."""

    class Kind(models.TextChoices):
        ABSENT = "absent", "absent"
        NOT_ENGAGED = "not_engaged", "not engaged"
        CLASS_DROP = "class_drop", "class engagement dropped"
        CLASS_LOW = "class_low", "class engagement low"
        UPLOADS_STOPPED = "uploads_stopped", "uploads stopped"

    session = models.ForeignKey(ClassSession, on_delete=models.CASCADE, related_name="alerts")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    raised_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True, help_text="the figures that raised it (thresholds, values)")

    class Meta:
        ordering = ["raised_at", "pk"]
        indexes = [models.Index(fields=["session", "raised_at"], name="alert_session_time")]
        constraints = [
            # Raised once: at most one open alert of a kind per participant, and per session for class alerts.
            models.UniqueConstraint(
                fields=["session", "participant", "kind"],
                condition=models.Q(cleared_at__isnull=True, participant__isnull=False),
                name="one_open_participant_alert",
            ),
            models.UniqueConstraint(
                fields=["session", "kind"],
                condition=models.Q(cleared_at__isnull=True, participant__isnull=True),
                name="one_open_class_alert",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {self.raised_at:%H:%M:%S}"


class Flag(models.Model):
    """A moment the teacher marked ("quiz starts"), drawn on every timeline of the session and in its report."""

    session = models.ForeignKey(ClassSession, on_delete=models.CASCADE, related_name="flags")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField()
    note = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.at:%H:%M:%S} {self.note}"


class MinuteRollup(models.Model):
    """One participant's minute (or the class's, ``participant`` empty), summed from observations (``classroom.rollups``).

    Seconds credit each processed frame with the time to the next one (at most a few seconds). The class row's
    ``seconds`` is the time covered by frames and ``samples`` the frames; a participant's ``seconds`` the time present
    and ``samples`` their observations. Band seconds and expression counts are per person (summed over the class
    in the class row); expressions are empty under the ``attention`` policy.
    """

    session = models.ForeignKey(ClassSession, on_delete=models.CASCADE, related_name="rollups")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, null=True, blank=True, related_name="rollups")
    minute = models.DateTimeField()
    samples = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0.0)
    person_seconds = models.FloatField(default=0.0, help_text="class row: seconds present summed over participants")
    engagement_seconds = models.FloatField(default=0.0, help_text="engagement × seconds, for time-weighted means")
    engaged_seconds = models.FloatField(default=0.0)
    partly_seconds = models.FloatField(default=0.0)
    not_engaged_seconds = models.FloatField(default=0.0)
    expressions = models.JSONField(default=dict, blank=True, help_text="apparent expression → observations")

    class Meta:
        ordering = ["minute"]
        indexes = [models.Index(fields=["session", "minute"], name="rollup_session_minute")]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "participant", "minute"],
                condition=models.Q(participant__isnull=False),
                name="one_rollup_per_participant_minute",
            ),
            models.UniqueConstraint(
                fields=["session", "minute"], condition=models.Q(participant__isnull=True), name="one_class_rollup_per_minute"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant_id or 'class'} {self.minute:%H:%M}"

    @property
    def engagement(self) -> float | None:
        """Time-weighted mean engagement over the present seconds."""
        present = self.person_seconds if self.participant_id is None else self.seconds
        return self.engagement_seconds / present if present > 0 else None


class Profile(models.Model):
    """A teacher's or admin's own settings: the time zone every page, chart and export shows their times in.

    An empty zone means not chosen yet: the browser's zone is saved at the first page after signing in.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    time_zone = models.CharField(max_length=64, blank=True, help_text="IANA name, e.g. America/New_York; empty: not chosen yet")

    def __str__(self) -> str:
        return f"profile of user {self.user_id}"
