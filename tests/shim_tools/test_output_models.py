"""``tool_result`` leaves nulls out of the structured content, so no output model may declare a
field that is both required and nullable: a null there would break the published output schema."""

from __future__ import annotations

import importlib
import inspect
import types
import typing

import jsonschema

from cway_tools import registry as cway_tools
from cway_tools.tool_models import events_newest_first
from cway_tools.tool_support import Out, tool_result
from cway_tools.tools.projects import HistoryPage


def _nullable(annotation: object) -> bool:
    return type(None) in typing.get_args(annotation) or annotation is types.NoneType


def test_no_output_model_has_a_required_nullable_field() -> None:
    modules = [importlib.import_module("cway_tools.tool_models"), *cway_tools.TOOL_MODULES]
    offenders = [
        f"{cls.__name__}.{name}"
        for module in modules
        for cls in vars(module).values()
        if inspect.isclass(cls) and issubclass(cls, Out) and cls.__module__ == module.__name__
        for name, info in cls.model_fields.items()
        if info.is_required() and _nullable(info.annotation)
    ]
    assert offenders == []


def test_an_event_without_timestamp_still_matches_the_schema() -> None:
    events = events_newest_first([{"name": "PROJECT_CREATED", "description": "made", "timestamp": None}])
    page = HistoryPage(project_id="p", events=events, page=1, page_size=25, total=1, has_more=False)
    result = tool_result(page)
    schema = HistoryPage.model_json_schema(mode="serialization")
    jsonschema.validate(result.structured_content, schema)
