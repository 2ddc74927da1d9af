"""HTTP routers of the report service: one ``APIRouter`` per file."""
