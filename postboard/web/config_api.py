"""CRUD of event sources, templates and rules: one shape, made once per resource."""

from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlmodel import Session

from postboard.db import session_scope
from postboard.events import service
from postboard.web.api_auth import MAX_ID, Admin, RowId
from postboard.web.api_views import RuleOut, SourceOut, TemplateOut

router = APIRouter(prefix="/api")
M = TypeVar("M", bound=BaseModel)


def _crud(
    path: str,
    *,
    noun: str,
    model_in: type[BaseModel],
    model_out: type[BaseModel],
    get: Callable[[Session, int], Any],
    save: Callable[[Session, Any, int | None], Any],
    delete: Callable[[Session, int], None],
    describe: str,
) -> None:
    """Add create, read, update and delete routes for one resource (its list is added by the caller)."""
    tags: list[str | Any] = [f"{noun}s"]

    def out(row: Any) -> Any:
        return model_out.model_validate(row, from_attributes=True)

    @router.post(path, status_code=201, response_model=model_out, tags=tags, name=f"create {noun}")
    # FastAPI reads the body model from the annotation at run time; mypy cannot take a variable as a type.
    def create(data: model_in, token: Admin) -> Any:  # type: ignore[valid-type]
        with session_scope() as session:
            return out(save(session, data, None))

    @router.get(f"{path}/{{row_id}}", response_model=model_out, tags=tags, name=f"read {noun}")
    def read(row_id: RowId, token: Admin) -> Any:
        with session_scope() as session:
            return out(get(session, row_id))

    @router.put(f"{path}/{{row_id}}", response_model=model_out, tags=tags, name=f"update {noun}")
    def update(row_id: RowId, data: model_in, token: Admin) -> Any:  # type: ignore[valid-type]
        with session_scope() as session:
            return out(save(session, data, row_id))

    @router.delete(f"{path}/{{row_id}}", status_code=204, tags=tags, name=f"delete {noun}")
    def remove(row_id: RowId, token: Admin) -> None:
        with session_scope() as session:
            delete(session, row_id)

    create.__doc__ = f"Create {describe}."
    read.__doc__ = f"One {noun}."
    update.__doc__ = f"Change {describe}."
    remove.__doc__ = f"Delete {describe}."


@router.get("/event-sources", response_model=list[SourceOut], tags=["event sources"])
def list_sources(token: Admin) -> list[SourceOut]:
    """Every event source."""
    with session_scope() as session:
        return _all(SourceOut, service.list_sources(session))


@router.get("/templates", response_model=list[TemplateOut], tags=["templates"])
def list_templates(token: Admin) -> list[TemplateOut]:
    """Every template."""
    with session_scope() as session:
        return _all(TemplateOut, service.list_templates(session))


@router.get("/rules", response_model=list[RuleOut], tags=["rules"])
def list_rules(token: Admin, source_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> list[RuleOut]:
    """Every rule, or those of one event source."""
    with session_scope() as session:
        return _all(RuleOut, service.list_rules(session, source_id=source_id))


def _all(model: type[M], rows: Sequence[Any]) -> list[M]:
    return [model.model_validate(r, from_attributes=True) for r in rows]


_crud(
    "/event-sources",
    noun="event source",
    model_in=service.SourceIn,
    model_out=SourceOut,
    get=lambda s, i: service.get_source(s, source_id=i),
    save=lambda s, d, i: service.save_source(s, d, source_id=i),
    delete=lambda s, i: service.delete_source(s, source_id=i),
    describe="an event source (deleting it deletes its rules)",
)
_crud(
    "/templates",
    noun="template",
    model_in=service.TemplateIn,
    model_out=TemplateOut,
    get=lambda s, i: service.get_template(s, template_id=i),
    save=lambda s, d, i: service.save_template(s, d, template_id=i),
    delete=lambda s, i: service.delete_template(s, template_id=i),
    describe="a template (syntax errors are refused with their line)",
)
_crud(
    "/rules",
    noun="rule",
    model_in=service.RuleIn,
    model_out=RuleOut,
    get=lambda s, i: service.get_rule(s, rule_id=i),
    save=lambda s, d, i: service.save_rule(s, d, rule_id=i),
    delete=lambda s, i: service.delete_rule(s, rule_id=i),
    describe="a rule (switch it off with `active: false`)",
)
