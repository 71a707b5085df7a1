//! The CRM records of one company: entities, their graph links, paging.

pub mod access;
pub mod columns;
pub mod custom;
pub mod demo;
pub mod dto;
pub mod events;
pub mod input;
pub mod notes;
pub mod query;
pub mod service;
pub mod spec;
pub mod system_tasks;
pub mod text_index;
pub mod write;

use serde::{Deserialize, Serialize};
use serde_json::json;
use surrealdb::Surreal;
use surrealdb::engine::any::Any;
use utoipa::ToSchema;

use crate::store::{StoreResult, one, run};

/// The five record kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Entity {
    /// People.
    Contact,
    /// Companies the contacts work at.
    Organization,
    /// Sales opportunities.
    Deal,
    /// Products and services sold in deals.
    Service,
    /// To-dos.
    Task,
}

impl Entity {
    /// The table holding this entity.
    #[must_use]
    pub fn table(self) -> &'static str {
        match self {
            Self::Contact => "contact",
            Self::Organization => "organization",
            Self::Deal => "deal",
            Self::Service => "service",
            Self::Task => "task",
        }
    }
}

/// Counts every record of an entity (used once per actor start; later kept current by the writes).
pub async fn count_all(db: &Surreal<Any>, entity: Entity) -> StoreResult<u64> {
    // The table name comes from the enum above, never from input.
    #[derive(Deserialize)]
    struct Row {
        count: u64,
    }
    let sql = format!("SELECT count() AS count FROM {} GROUP ALL", entity.table());
    Ok(one::<Row>(db, &sql, json!({})).await?.map_or(0, |r| r.count))
}

/// Mirrors a user as a `member` record so that records can be assigned to it.
pub async fn upsert_member(db: &Surreal<Any>, user: &crate::domain::User) -> StoreResult<()> {
    let sql = "UPSERT type::record('member', $id) SET email = $email, firstName = $firstName, lastName = $lastName";
    run(
        db,
        sql,
        json!({"id": user.id, "email": user.email, "firstName": user.first_name, "lastName": user.last_name}),
    )
    .await?;
    Ok(())
}

/// Largest page size.
pub const MAX_PAGE_SIZE: u32 = 100;
/// Page size of a search that names none (the reference's: "missing pagination → first 100 rows").
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// A checked page request (1-based page, 1–100 items).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// 1-based page number.
    pub page: u32,
    /// Items per page.
    pub page_size: u32,
}

impl Page {
    /// Checks a page request.
    pub fn parse(page: Option<u32>, page_size: Option<u32>) -> Result<Self, (&'static str, String)> {
        let page = page.unwrap_or(1);
        let page_size = page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if page == 0 {
            return Err(("pagination.page", "must be at least 1".to_owned()));
        }
        if page_size == 0 || page_size > MAX_PAGE_SIZE {
            return Err(("pagination.pageSize", format!("must be between 1 and {MAX_PAGE_SIZE}")));
        }
        Ok(Self { page, page_size })
    }

    /// Rows to skip.
    #[must_use]
    pub fn start(self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.page_size)
    }
}

/// Pagination block of a list response.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    /// 1-based page number.
    pub page: u32,
    /// Items per page.
    pub page_size: u32,
    /// Pages in all.
    pub total_pages: u64,
    /// Matching records in all.
    pub total: u64,
}

/// A page of records with its pagination.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PageOf<T> {
    /// The records on this page.
    pub items: Vec<T>,
    /// Where this page is.
    pub pagination: Pagination,
}

impl<T> PageOf<T> {
    /// Wraps a page of items with its totals.
    pub fn new(items: Vec<T>, page: Page, total: u64) -> Self {
        let total_pages = total.div_ceil(u64::from(page.page_size));
        Self {
            items,
            pagination: Pagination {
                page: page.page,
                page_size: page.page_size,
                total_pages,
                total,
            },
        }
    }
}
