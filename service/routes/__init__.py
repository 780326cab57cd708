"""HTTP routes: thin controllers over the job registry, the error mapping, the offline docs page."""

from .docs import OfflineDocsPlugin as OfflineDocsPlugin
from .docs import api_docs as api_docs
from .docs import openapi_json as openapi_json
from .errors import EXCEPTION_HANDLERS as EXCEPTION_HANDLERS
from .health import health as health
from .optimize import OptimizeController as OptimizeController
from .optimize import provide_registry as provide_registry
