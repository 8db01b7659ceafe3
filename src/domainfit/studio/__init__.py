"""domainfit studio: the whole lifecycle in a browser — data check, training jobs, models, predictions with their
explanations — served offline by FastAPI/uvicorn, in English and Chinese. `domainfit studio` starts it."""

from domainfit.studio.app import create_studio
from domainfit.studio.settings import StudioSettings

__all__ = ["StudioSettings", "create_studio"]
