"""The tool layer both servers share: registration, the gateway to Cway, the one bearer rule, the tools."""

# --- the package's surface: all other packages may import (tests/packaging/test_import_boundaries.py) ---
from cway_tools import documents, pending, request_scope, sdk_adapter
from cway_tools.bearer import Bearer
from cway_tools.documents import LOGIN_INFO
from cway_tools.gateway import KEEPALIVE_EXPIRY_SECONDS, CwayHttpGateway
from cway_tools.gateway_protocol import CwayGateway
from cway_tools.icons import SERVER_ICONS
from cway_tools.lazy_tools import SCHEMAS_FILE, LazyServer
from cway_tools.middleware import install
from cway_tools.object_resources import OBJECT_URI
from cway_tools.registry import register_cway_tools
from cway_tools.request_scope import INPUT_REQUIRED_SINCE, AskClient
from cway_tools.tool_support import Out, read_only, require_uuid, tool_result
from cway_tools.toolsets import ToolSelection, declare_tools_list_changed, register_enable_toolset

__all__ = [
    "INPUT_REQUIRED_SINCE",
    "KEEPALIVE_EXPIRY_SECONDS",
    "LOGIN_INFO",
    "OBJECT_URI",
    "SCHEMAS_FILE",
    "SERVER_ICONS",
    "AskClient",
    "Bearer",
    "CwayGateway",
    "CwayHttpGateway",
    "LazyServer",
    "Out",
    "ToolSelection",
    "declare_tools_list_changed",
    "documents",
    "install",
    "pending",
    "read_only",
    "register_cway_tools",
    "register_enable_toolset",
    "request_scope",
    "require_uuid",
    "sdk_adapter",
    "tool_result",
]
# --- end of the surface ---
