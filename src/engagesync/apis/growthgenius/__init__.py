"""GrowthGenius integrations API v1 (seed 003): contract, emulator and connector."""

API_ID = "growthgenius"
PREFIX = "/growthgenius/integrations/v1"
