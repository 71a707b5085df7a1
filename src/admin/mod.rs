//! Platform administration: companies, their users and API keys. Shared by the `/admin/v1` routes, the
//! `/api/v1/api-keys` routes and the `customermates admin` command line.

pub mod keys;
pub mod profile;
pub mod roles;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Verifier;
use crate::domain::user::NewUser;
use crate::domain::{Company, CompanyStatus, User, UserStatus, company};
use crate::error::{Code, ErrorCode, ErrorDetail};
use crate::store::{Store, StoreError, control};
use crate::tenants::{Counts, TenantError, TenantRegistry};

pub use keys::{CreatedKey, NewKeyRequest};
pub use profile::CompanyProfile;

/// A failure of an administrative operation.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The input is invalid.
    #[error("Some fields are invalid.")]
    Validation(Vec<ErrorDetail>),
    /// No such company.
    #[error("Company {0} not found.")]
    CompanyNotFound(String),
    /// No such user.
    #[error("User {0} not found.")]
    UserNotFound(String),
    /// No such key.
    #[error("API key {0} not found.")]
    KeyNotFound(String),
    /// The email belongs to another user.
    #[error("A user with email {0} already exists.")]
    EmailTaken(String),
    /// No such role in this company.
    #[error("Role {0} not found.")]
    RoleNotFound(String),
    /// The change conflicts with existing data.
    #[error("{0}")]
    Conflict(String),
    /// The company must be active for this.
    #[error("Company {0} is suspended.")]
    CompanyNotActive(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The company's actor failed.
    #[error(transparent)]
    Tenant(#[from] TenantError),
}

impl ErrorCode for AdminError {
    fn code(&self) -> Code {
        match self {
            Self::Validation(_) => Code::ValidationFailed,
            Self::CompanyNotFound(_) => Code::CompanyNotFound,
            Self::UserNotFound(_) => Code::UserNotFound,
            Self::KeyNotFound(_) => Code::ApiKeyNotFound,
            Self::RoleNotFound(_) => Code::RoleNotFound,
            Self::Conflict(_) => Code::Conflict,
            Self::EmailTaken(_) => Code::EmailTaken,
            Self::CompanyNotActive(_) => Code::CompanyNotActive,
            Self::Store(e) => e.code(),
            Self::Tenant(e) => e.code(),
        }
    }
    fn client_message(&self) -> String {
        match self {
            Self::Validation(details) => crate::error::ApiError::validation(details.clone()).message,
            Self::Store(e) => e.client_message(),
            Self::Tenant(e) => e.client_message(),
            other => other.to_string(),
        }
    }
    fn details(&self) -> Vec<ErrorDetail> {
        match self {
            Self::Validation(details) => details.clone(),
            _ => Vec::new(),
        }
    }
}

/// Result of an administrative operation.
pub type AdminResult<T> = Result<T, AdminError>;

/// The first user of a new company.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewAdmin {
    /// Email, unique across the platform.
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    #[serde(default)]
    pub last_name: String,
}

/// `POST /admin/v1/companies` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewCompanyRequest {
    /// Company name (1–200 characters).
    pub name: String,
    /// Its first user, who gets the system role Admin.
    pub admin: NewAdmin,
    /// Seed the demo data set.
    #[serde(default)]
    pub demo_data: bool,
}

/// `POST /admin/v1/companies/{id}/users` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewUserRequest {
    /// Email, unique across the platform.
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    #[serde(default)]
    pub last_name: String,
    /// Role id of this company; `null` for no role. When absent: the system role Admin for an active or inactive
    /// user, no role for one pending authorization (as the reference's invited users), so approving a user by its
    /// status alone does not make it an administrator.
    #[serde(default, deserialize_with = "roles::some")]
    #[schema(value_type = Option<String>)]
    pub role_id: Option<Option<String>>,
    /// Initial status; `active` when absent.
    pub status: Option<UserStatus>,
}

/// A created company with its first user and that user's first key (the only time the key is shown).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedCompany {
    /// The company.
    pub company: Company,
    /// Its first user.
    pub user: User,
    /// The user's first API key.
    pub api_key: CreatedKey,
}

/// A company with its record counts.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompanySummary {
    /// The company.
    #[serde(flatten)]
    pub company: Company,
    /// Users of the company.
    pub user_count: u64,
    /// Record counts: absent for a suspended company, and in the listing of all companies for one whose actor is
    /// not running or does not hold them yet (the listing asks no actor; `GET /admin/v1/companies/{id}` counts any
    /// one).
    pub counts: Option<Counts>,
    /// Whether its actor was running when asked (before a `GET` of this one company started it to count).
    pub actor_running: bool,
}

/// The platform administration service.
#[derive(Clone)]
pub struct Admin {
    store: Store,
    tenants: TenantRegistry,
    verifier: Verifier,
    /// One lock per company, held by every change to that company's part of the control database (its status,
    /// profile, users, roles and keys), so that a check and the write it guards are not interleaved with another
    /// change of the same company: two admins deactivating each other, a role assigned while it is deleted, one key
    /// rotated twice. Every such rule is within one company, so a company whose worker is slow holds up only its
    /// own changes. Reads do not take it.
    writes: crate::tenants::CompanyLocks,
}

fn detail(path: &str, message: &str) -> ErrorDetail {
    ErrorDetail {
        path: path.to_owned(),
        message: message.to_owned(),
    }
}

fn parse_user(email: &str, first: &str, last: &str, prefix: &str) -> AdminResult<NewUser> {
    NewUser::parse(email, first, last).map_err(|problems| {
        AdminError::Validation(
            problems
                .into_iter()
                .map(|(f, m)| detail(&format!("{prefix}{f}"), m))
                .collect(),
        )
    })
}

fn email_taken(email: &str) -> impl FnOnce(StoreError) -> AdminError + '_ {
    move |error| match error {
        StoreError::Duplicate => AdminError::EmailTaken(email.to_owned()),
        other => AdminError::Store(other),
    }
}

impl Admin {
    /// The service over a store, the actor registry and the key verifier (whose cache it invalidates).
    #[must_use]
    pub fn new(store: Store, tenants: TenantRegistry, verifier: Verifier) -> Self {
        Self {
            store,
            tenants,
            verifier,
            writes: crate::tenants::CompanyLocks::default(),
        }
    }

    /// Waits for the other changes to this company's control data to finish; the change runs while the guard
    /// lives.
    async fn writing(&self, company_id: &str) -> crate::tenants::CompanyGuard {
        self.writes.lock(company_id).await
    }

    /// The key verifier.
    #[must_use]
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Creates a company, its system role, its first user (active, Admin) and that user's first API key;
    /// optionally seeds the demo data set.
    #[tracing::instrument(skip_all)]
    pub async fn create_company(&self, request: &NewCompanyRequest) -> AdminResult<CreatedCompany> {
        let name = company::parse_name(&request.name);
        let admin = parse_user(
            &request.admin.email,
            &request.admin.first_name,
            &request.admin.last_name,
            "admin.",
        );
        let (name, admin) = match (name, admin) {
            (Ok(name), Ok(admin)) => (name, admin),
            (name, admin) => {
                let mut details = name.err().map(|m| vec![detail("name", m)]).unwrap_or_default();
                if let Err(AdminError::Validation(more)) = admin {
                    details.extend(more);
                }
                return Err(AdminError::Validation(details));
            }
        };
        let company_uuid = uuid::Uuid::new_v4();
        let (company_id, role_id, user_id) = (
            company_uuid.to_string(),
            uuid::Uuid::new_v4().to_string(),
            uuid::Uuid::new_v4().to_string(),
        );
        let key = keys::KeyMaterial::new("Default key", None);
        self.store
            .create_tenant_db(&company::database_name(&company_uuid))
            .await?;
        let ids = control::NewCompanyIds {
            company: &company_id,
            role: &role_id,
            user: &user_id,
        };
        control::create_company(self.store.control(), &ids, &name, &admin, &key.row())
            .await
            .map_err(email_taken(&admin.email))?;
        let db = self.store.control();
        let company = control::get_company(db, &company_id)
            .await?
            .ok_or_else(|| AdminError::CompanyNotFound(company_id.clone()))?;
        let user = control::get_user(db, &user_id)
            .await?
            .ok_or_else(|| AdminError::UserNotFound(user_id.clone()))?;
        let tenant = self.tenants.get(&company_id).await?;
        tenant.upsert_member(user.clone()).await?;
        if request.demo_data {
            tenant.seed_demo(user.clone()).await?;
        }
        tracing::info!(company = %company_id, "company created");
        Ok(CreatedCompany {
            api_key: key.created(None),
            company,
            user,
        })
    }

    /// Companies with counts, oldest first.
    pub async fn list_companies(&self) -> AdminResult<Vec<CompanySummary>> {
        let db = self.store.control();
        let companies = control::list_companies(db).await?;
        let users: std::collections::HashMap<String, u64> =
            control::count_users_by_company(db).await?.into_iter().collect();
        let mut out = Vec::with_capacity(companies.len());
        for company in companies {
            let user_count = users.get(&company.id).copied().unwrap_or(0);
            out.push(self.summary(company, user_count, false).await?);
        }
        Ok(out)
    }

    /// One company with counts.
    pub async fn get_company(&self, id: &str) -> AdminResult<CompanySummary> {
        let company = self.company(id).await?;
        let user_count = u64::try_from(control::list_users(self.store.control(), id).await?.len()).unwrap_or(u64::MAX);
        self.summary(company, user_count, true).await
    }

    /// A company's summary. `wake`: count its records even when its actor is not running (one company, asked by
    /// id); otherwise (the listing of every company) only the counts a running actor already holds are given, and
    /// no actor is asked or started. `actorRunning` is read first, so it tells whether the actor was running when asked.
    async fn summary(&self, company: Company, user_count: u64, wake: bool) -> AdminResult<CompanySummary> {
        let running = self.tenants.if_running(&company.id);
        let actor_running = running.is_some();
        let counts = match company.status {
            CompanyStatus::Active if wake => Some(self.tenants.get(&company.id).await?.counts().await?),
            // Only counts a running actor already holds: asking it for the others would queue behind its writes
            // and count as a use of it.
            CompanyStatus::Active => running.and_then(|tenant| tenant.held_counts()),
            _ => None,
        };
        Ok(CompanySummary {
            company,
            user_count,
            counts,
            actor_running,
        })
    }

    async fn company(&self, id: &str) -> AdminResult<Company> {
        control::get_company(self.store.control(), id)
            .await?
            .ok_or_else(|| AdminError::CompanyNotFound(id.to_owned()))
    }

    /// Suspends a company: its keys stop working at once and its actor stops.
    pub async fn suspend(&self, id: &str) -> AdminResult<Company> {
        let _writing = self.writing(id).await;
        let company = self.set_status(id, CompanyStatus::Suspended).await?;
        self.tenants.close(id).await;
        Ok(company)
    }

    /// Resumes a suspended company (and mirrors users added meanwhile into its database).
    pub async fn resume(&self, id: &str) -> AdminResult<Company> {
        let _writing = self.writing(id).await;
        let company = self.set_status(id, CompanyStatus::Active).await?;
        self.tenants.reopen(id);
        let tenant = self.tenants.get(id).await?;
        let users = control::list_users(self.store.control(), id).await?;
        for user in &users {
            tenant.upsert_member(user.clone()).await?;
        }
        // Users added or approved while suspended: their approval tasks follow their status now.
        let pending = users
            .into_iter()
            .filter(|u| u.status == UserStatus::PendingAuthorization)
            .collect();
        tenant.reconcile_pending_tasks(pending).await?;
        Ok(company)
    }

    async fn set_status(&self, id: &str, status: CompanyStatus) -> AdminResult<Company> {
        let company = control::set_company_status(self.store.control(), id, status)
            .await?
            .ok_or_else(|| AdminError::CompanyNotFound(id.to_owned()))?;
        self.verifier.forget_company(id);
        Ok(company)
    }

    /// Deletes a company: its users, roles and keys, and its whole database.
    pub async fn delete_company(&self, id: &str) -> AdminResult<()> {
        let _writing = self.writing(id).await;
        let company = self.company(id).await?;
        self.verifier.forget_company(id);
        self.tenants.close(id).await;
        control::delete_company(self.store.control(), id).await?;
        self.verifier.forget_company(id);
        let uuid = uuid::Uuid::parse_str(&company.id).map_err(|_| AdminError::CompanyNotFound(id.to_owned()))?;
        self.store.remove_tenant_db(&company::database_name(&uuid)).await?;
        tracing::info!(company = %id, "company deleted");
        Ok(())
    }

    /// Adds a user to a company (active and Admin unless the request says otherwise).
    pub async fn create_user(&self, company_id: &str, request: &NewUserRequest) -> AdminResult<User> {
        let _writing = self.writing(company_id).await;
        let company = self.company(company_id).await?;
        let new_user = parse_user(&request.email, &request.first_name, &request.last_name, "")?;
        let db = self.store.control();
        let status = request.status.unwrap_or(UserStatus::Active);
        let role = match &request.role_id {
            Some(Some(role_id)) => Some(control::get_role(db, role_id).await?),
            Some(None) => None,
            None if status == UserStatus::PendingAuthorization => None,
            None => Some(control::system_role(db, company_id).await?),
        };
        let role_id = match role {
            None => None,
            Some(Some(role)) if control::role_company(db, &role.id).await?.as_deref() == Some(company_id) => {
                Some(role.id)
            }
            Some(_) => {
                return Err(AdminError::Validation(vec![detail(
                    "roleId",
                    "is not a role of this company",
                )]));
            }
        };
        let user_id = uuid::Uuid::new_v4().to_string();
        let user = control::create_user(db, &company.id, &user_id, &new_user, role_id.as_deref(), status)
            .await
            .map_err(email_taken(&new_user.email))?;
        if company.status == CompanyStatus::Active {
            let tenant = self.tenants.get(company_id).await?;
            tenant.upsert_member(user.clone()).await?;
            if user.status == UserStatus::PendingAuthorization
                && let Err(error) = tenant.open_pending_task(user.clone()).await
            {
                // The user exists now; the task is reconciled when the company is next resumed.
                tracing::warn!(user = %user.id, error = %error, "could not open the approval task");
            }
        }
        Ok(user)
    }

    /// One user.
    pub async fn user(&self, id: &str) -> AdminResult<User> {
        control::get_user(self.store.control(), id)
            .await?
            .ok_or_else(|| AdminError::UserNotFound(id.to_owned()))
    }
}
