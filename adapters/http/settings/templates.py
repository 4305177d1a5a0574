"""/v1/templates: saved message bodies with `{{variable}}` placeholders."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from adapters.http.bodies import Envelope, Page
from adapters.http.injected import RequestMeta, Service
from adapters.http.middleware.auth import require_permission
from adapters.http.pagination import DEFAULT_PAGE_SIZE, PageCursor, PageSize, page_of
from adapters.http.settings.schemas import CreateTemplateRequest, TemplateOut, UpdateTemplateRequest
from application.identity.principal import Principal
from application.settings.templates import SavedTemplate, TemplateService


class TemplatesController(Controller):
    path = "/v1/templates"
    tags = ["Templates"]

    @get("/", operation_id="listTemplates", summary="List templates", sync_to_thread=True)
    def list_templates(
        self,
        meta: RequestMeta,
        principal: NamedDependency[Principal],
        templates: Service[TemplateService],
        page_size: PageSize = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> Page[TemplateOut]:
        require_permission(principal, "templates.read")
        found = templates.page(principal.account_id, page_size, cursor)
        return page_of(template_out, found, page_size, meta)

    @post("/", operation_id="createTemplate",
          summary="Create a template", status_code=201, sync_to_thread=True)
    def create(
        self,
        meta: RequestMeta,
        data: JSONBody[CreateTemplateRequest],
        principal: NamedDependency[Principal], templates: Service[TemplateService],
    ) -> Envelope[TemplateOut]:
        require_permission(principal, "templates.write")
        template = templates.create(
            principal.account_id, data.name, data.content
        )
        return Envelope(data=template_out(template), meta=meta)

    @get("/{template_id:uuid}", operation_id="getTemplate",
         summary="Get a template", sync_to_thread=True)
    def get_template(
        self,
        meta: RequestMeta,
        template_id: FromPath[UUID],
        principal: NamedDependency[Principal], templates: Service[TemplateService],
    ) -> Envelope[TemplateOut]:
        require_permission(principal, "templates.read")
        template = templates.get(principal.account_id, template_id)
        return Envelope(data=template_out(template), meta=meta)

    @patch("/{template_id:uuid}", operation_id="updateTemplate",
           summary="Update a template", sync_to_thread=True)
    def update(
        self,
        meta: RequestMeta,
        template_id: FromPath[UUID],
        data: JSONBody[UpdateTemplateRequest],
        principal: NamedDependency[Principal], templates: Service[TemplateService],
    ) -> Envelope[TemplateOut]:
        require_permission(principal, "templates.write")
        template = templates.update(
            principal.account_id, template_id, name=data.name, content=data.content
        )
        return Envelope(data=template_out(template), meta=meta)

    @delete("/{template_id:uuid}", operation_id="deleteTemplate",
            summary="Delete a template", status_code=204,
            sync_to_thread=True)
    def remove(
        self,
        template_id: FromPath[UUID],
        principal: NamedDependency[Principal], templates: Service[TemplateService],
    ) -> None:
        require_permission(principal, "templates.write")
        templates.delete(principal.account_id, template_id)


def template_out(template: SavedTemplate) -> TemplateOut:
    return TemplateOut(
        id=str(template.id), name=template.name, content=template.content,
        variables=list(template.variables), created_at=template.created_at,
        updated_at=template.updated_at,
    )

