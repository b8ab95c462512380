//! The reference part of the intake API: districts, industries and demand categories.

use tingjian_proto::intake::v1 as pb;
use tingjian_runtime::wire::timestamp;
use tingjian_runtime::{Caller, Role, ServiceError};
use tonic::{Request, Response, Status};

use super::IntakeApi;
use super::enterprise::{invalid, request_id};
use crate::domain::{
    NewReferenceItem, Page, PageRequest, ReferenceChange, ReferenceCode, ReferenceItem, ReferenceKind,
    request_fingerprint,
};

/// Who may configure reference data.
const REFERENCE_WRITERS: &[Role] = &[Role::Staff, Role::SystemAdmin];

fn to_proto(item: ReferenceItem) -> pb::ReferenceItem {
    pb::ReferenceItem {
        kind: item.kind.as_i32(),
        code: item.code,
        name: item.name,
        name_en: item.name_en,
        active: item.active,
        sort_order: item.sort_order,
        create_time: Some(timestamp(item.create_time)),
        update_time: Some(timestamp(item.update_time)),
    }
}

impl IntakeApi {
    #[tracing::instrument(skip_all, fields(kind = request.get_ref().kind))]
    pub(super) async fn list_reference_items_impl(
        &self,
        request: Request<pb::ListReferenceItemsRequest>,
    ) -> Result<Response<pb::ListReferenceItemsResponse>, Status> {
        Caller::of(&request)?;
        let body = request.into_inner();
        let kind = ReferenceKind::parse(body.kind, "kind").map_err(invalid)?;
        let digest = request_fingerprint(
            "reference_items",
            &[&kind.as_i32().to_string(), if body.include_inactive { "1" } else { "0" }],
        );
        let page = PageRequest::parse(body.page_size, &body.page_token, "reference_items", &digest, 2)?;
        let after = page
            .after
            .as_deref()
            .map(|k| {
                let sort_order = i32::try_from(PageRequest::int_key(k, 0)?)
                    .map_err(|_| ServiceError::invalid("page_token", "is not a token of this list"))?;
                Ok::<_, ServiceError>((sort_order, PageRequest::text_key(k, 1)?))
            })
            .transpose()?;
        let rows = self.store.list_reference_items(kind, body.include_inactive, page.size + 1, after).await?;
        let result = Page::from_rows(rows, page.size, |i| vec![i.sort_order.to_string(), i.code.clone()]);
        Ok(Response::new(pb::ListReferenceItemsResponse {
            next_page_token: result.next_token("reference_items", &digest),
            items: result.items.into_iter().map(to_proto).collect(),
        }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn create_reference_item_impl(
        &self,
        request: Request<pb::CreateReferenceItemRequest>,
    ) -> Result<Response<pb::CreateReferenceItemResponse>, Status> {
        Caller::of(&request)?.require_any(REFERENCE_WRITERS)?;
        let body = request.into_inner();
        let item = body.item.ok_or_else(|| ServiceError::invalid("item", "is required"))?;
        let new = NewReferenceItem::parse(item.kind, &item.code, &item.name, &item.name_en, item.sort_order, "item")?;
        let request_id = request_id(&body.request_id)?;
        let created = self.store.create_reference_item(&new, request_id.as_deref()).await?;
        tracing::info!(kind = created.kind.noun(), code = %created.code, "reference item created");
        Ok(Response::new(pb::CreateReferenceItemResponse { item: Some(to_proto(created)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn update_reference_item_impl(
        &self,
        request: Request<pb::UpdateReferenceItemRequest>,
    ) -> Result<Response<pb::UpdateReferenceItemResponse>, Status> {
        Caller::of(&request)?.require_any(REFERENCE_WRITERS)?;
        let body = request.into_inner();
        let item = body.item.ok_or_else(|| ServiceError::invalid("item", "is required"))?;
        let mut violations = Vec::new();
        let kind = ReferenceKind::parse(item.kind, "item.kind").map_err(|v| violations.push(v)).ok();
        let code = ReferenceCode::parse(&item.code, "item.code").map_err(|v| violations.push(v)).ok();
        let (Some(kind), Some(code)) = (kind, code) else {
            return Err(ServiceError::InvalidArgument(violations).into());
        };
        let change = ReferenceChange::parse(
            body.update_mask.as_ref().map_or(&[][..], |m| &m.paths),
            &item.name,
            &item.name_en,
            item.active,
            item.sort_order,
            "item",
        )?;
        let updated = self.store.update_reference_item(kind, code.as_str(), &change).await?;
        tracing::info!(kind = updated.kind.noun(), code = %updated.code, active = updated.active, "reference item updated");
        Ok(Response::new(pb::UpdateReferenceItemResponse { item: Some(to_proto(updated)) }))
    }
}
