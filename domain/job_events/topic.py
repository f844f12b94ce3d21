"""The job aggregate's topic, and the prefix of every job event's topic.

Topics are stored with each event: they never change, wherever the classes live.
"""

from __future__ import annotations

JOB_TOPIC = "regflow:RegistrationJob"
EVENT_TOPIC_PREFIX = JOB_TOPIC + "."
