"""The work itself: pull (stream -> store), push (records -> action), the store and input readers."""

from __future__ import annotations
