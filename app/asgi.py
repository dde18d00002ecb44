"""ASGI entry point for uvicorn and other servers: `uvicorn app.asgi:app`."""

from app.core import logs
from app.core.settings import get_settings
from app.main import create_app

logs.configure(get_settings().log_level, get_settings().log_format)
app = create_app()
