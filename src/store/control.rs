//! Queries on the control database: companies, users, roles, API keys, the admin token.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use surrealdb::Surreal;
use surrealdb::engine::any::Any;
use utoipa::ToSchema;

use super::{StoreResult, one, rows, run};
use crate::domain::user::NewUser;
use crate::domain::{Company, CompanyStatus, Role, User, UserStatus};

const COMPANY_FIELDS: &str =
    "record::id(id) AS id, name, status, country, currency, createdAt, updatedAt, lastActivityAt";
const USER_FIELDS: &str = "record::id(id) AS id, companyId, email, firstName, lastName, roleId, status, country, \
                           avatarUrl, createdAt, updatedAt";
const ROLE_FIELDS: &str = "record::id(id) AS id, name, description, isSystemRole, permissions";
const KEY_FIELDS: &str =
    "record::id(id) AS id, userId, companyId, name, prefix, createdAt, expiresAt, revokedAt, lastUsedAt";

/// An API key as listed: never the key itself, never its hash.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyInfo {
    /// Key id (UUID).
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// Owner's company.
    pub company_id: String,
    /// Label given at creation.
    pub name: String,
    /// First 8 characters of the key.
    pub prefix: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Last authenticated use (updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The stored parts of a new key.
pub struct NewKeyRow<'a> {
    /// Key id.
    pub id: &'a str,
    /// Label.
    pub name: &'a str,
    /// Display prefix.
    pub prefix: &'a str,
    /// SHA-256 hex.
    pub hash: &'a str,
    /// Optional expiry.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Ids chosen for a new company's first records.
pub struct NewCompanyIds<'a> {
    /// Company id.
    pub company: &'a str,
    /// Its system role.
    pub role: &'a str,
    /// Its first user.
    pub user: &'a str,
}

const CREATE_COMPANY: &str = "BEGIN TRANSACTION;
CREATE type::record('company', $company) SET name = $name, status = 'active';
CREATE type::record('role', $role) SET companyId = $company, name = $roleName, description = $roleDescription,
    isSystemRole = true, permissions = [];
CREATE type::record('user', $user) SET companyId = $company, email = $email, firstName = $firstName,
    lastName = $lastName, roleId = $role, status = 'active';
CREATE type::record('api_key', $key) SET userId = $user, companyId = $company, name = $keyName, prefix = $prefix,
    hash = $hash, expiresAt = <option<datetime>> $expiresAt;
COMMIT TRANSACTION;";

/// Creates a company with its system role, first (active, Admin) user and first API key, atomically.
pub async fn create_company(
    db: &Surreal<Any>,
    ids: &NewCompanyIds<'_>,
    name: &str,
    admin: &NewUser,
    key: &NewKeyRow<'_>,
) -> StoreResult<()> {
    let mut vars = json!({
        "company": ids.company, "name": name, "role": ids.role,
        "roleName": crate::domain::access::SYSTEM_ROLE_NAME,
        "roleDescription": crate::domain::access::SYSTEM_ROLE_DESCRIPTION,
        "user": ids.user, "email": admin.email, "firstName": admin.first_name, "lastName": admin.last_name,
        "key": key.id, "keyName": key.name, "prefix": key.prefix, "hash": key.hash,
    });
    if let Some(at) = key.expires_at {
        vars["expiresAt"] = json!(at.to_rfc3339());
    }
    run(db, CREATE_COMPANY, vars).await?;
    Ok(())
}

/// Every company, oldest first.
pub async fn list_companies(db: &Surreal<Any>) -> StoreResult<Vec<Company>> {
    rows(
        db,
        &format!("SELECT {COMPANY_FIELDS} FROM company ORDER BY createdAt"),
        json!({}),
    )
    .await
}

/// One company.
pub async fn get_company(db: &Surreal<Any>, id: &str) -> StoreResult<Option<Company>> {
    one(
        db,
        &format!("SELECT {COMPANY_FIELDS} FROM ONLY type::record('company', $id)"),
        json!({"id": id}),
    )
    .await
}

/// Sets a company's status; `None` when it does not exist.
pub async fn set_company_status(db: &Surreal<Any>, id: &str, status: CompanyStatus) -> StoreResult<Option<Company>> {
    let sql = format!(
        "UPDATE type::record('company', $id) SET status = $status, updatedAt = time::now() WHERE id != NONE;
         SELECT {COMPANY_FIELDS} FROM ONLY type::record('company', $id)"
    );
    one(db, &sql, json!({"id": id, "status": status})).await
}

/// Deletes a company's control records (keys, users, roles, the company itself).
pub async fn delete_company(db: &Surreal<Any>, id: &str) -> StoreResult<()> {
    const SQL: &str = "BEGIN TRANSACTION;
        DELETE api_key WHERE companyId = $id;
        DELETE user WHERE companyId = $id;
        DELETE role WHERE companyId = $id;
        DELETE type::record('company', $id);
        COMMIT TRANSACTION;";
    run(db, SQL, json!({"id": id})).await?;
    Ok(())
}

/// Stamps a company's last activity.
pub async fn touch_company(db: &Surreal<Any>, id: &str) -> StoreResult<()> {
    run(
        db,
        "UPDATE type::record('company', $id) SET lastActivityAt = time::now() WHERE id != NONE",
        json!({"id": id}),
    )
    .await?;
    Ok(())
}

/// Creates a user in a company.
pub async fn create_user(
    db: &Surreal<Any>,
    company_id: &str,
    user_id: &str,
    user: &NewUser,
    role_id: Option<&str>,
    status: UserStatus,
) -> StoreResult<User> {
    let sql = format!(
        "CREATE type::record('user', $id) SET companyId = $company, email = $email, firstName = $firstName,
             lastName = $lastName, roleId = <option<string>> $role, status = $status;
         SELECT {USER_FIELDS} FROM ONLY type::record('user', $id)"
    );
    let mut vars = json!({"id": user_id, "company": company_id, "email": user.email, "firstName": user.first_name,
        "lastName": user.last_name, "status": status});
    if let Some(role) = role_id {
        vars["role"] = json!(role);
    }
    let created: Option<User> = one(db, &sql, vars).await?;
    created.ok_or(super::StoreError::Duplicate)
}

/// One user.
pub async fn get_user(db: &Surreal<Any>, id: &str) -> StoreResult<Option<User>> {
    one(
        db,
        &format!("SELECT {USER_FIELDS} FROM ONLY type::record('user', $id)"),
        json!({"id": id}),
    )
    .await
}

/// A company's users, by creation.
pub async fn list_users(db: &Surreal<Any>, company_id: &str) -> StoreResult<Vec<User>> {
    let sql = format!("SELECT {USER_FIELDS} FROM user WHERE companyId = $company ORDER BY createdAt");
    rows(db, &sql, json!({"company": company_id})).await
}

/// Number of users per company, in one pass.
pub async fn count_users_by_company(db: &Surreal<Any>) -> StoreResult<Vec<(String, u64)>> {
    #[derive(Deserialize)]
    struct Row {
        #[serde(rename = "companyId")]
        company_id: String,
        count: u64,
    }
    let found: Vec<Row> = rows(
        db,
        "SELECT companyId, count() AS count FROM user GROUP BY companyId",
        json!({}),
    )
    .await?;
    Ok(found.into_iter().map(|r| (r.company_id, r.count)).collect())
}

/// One role.
pub async fn get_role(db: &Surreal<Any>, id: &str) -> StoreResult<Option<Role>> {
    one(
        db,
        &format!("SELECT {ROLE_FIELDS} FROM ONLY type::record('role', $id)"),
        json!({"id": id}),
    )
    .await
}

/// A company's system role.
pub async fn system_role(db: &Surreal<Any>, company_id: &str) -> StoreResult<Option<Role>> {
    let sql = format!("SELECT {ROLE_FIELDS} FROM role WHERE companyId = $company AND isSystemRole = true LIMIT 1");
    one(db, &sql, json!({"company": company_id})).await
}

/// Creates an API key for a user.
pub async fn create_key(db: &Surreal<Any>, user: &User, key: &NewKeyRow<'_>) -> StoreResult<ApiKeyInfo> {
    insert_key(db, user, key, None).await
}

/// Creates a key in place of another, in one transaction: the old key is revoked exactly when the new one exists
/// (a failure in between used to leave both live).
pub async fn rotate_key(db: &Surreal<Any>, user: &User, key: &NewKeyRow<'_>, old: &str) -> StoreResult<ApiKeyInfo> {
    insert_key(db, user, key, Some(old)).await
}

/// What a rotation of a key that is no longer live answers.
pub const ALREADY_REVOKED: &str = "the key is already revoked; create a new one";

async fn insert_key(db: &Surreal<Any>, user: &User, key: &NewKeyRow<'_>, old: Option<&str>) -> StoreResult<ApiKeyInfo> {
    // The old key must still be live when the transaction runs (another process may have rotated it meanwhile).
    let revoke = if old.is_some() {
        format!(
            "LET $revoked = (UPDATE type::record('api_key', $old) SET revokedAt = time::now()
                 WHERE id != NONE AND revokedAt = NONE RETURN id);
             IF array::len($revoked) = 0 {{ THROW '{ALREADY_REVOKED}' }};"
        )
    } else {
        String::new()
    };
    let sql = format!(
        "BEGIN TRANSACTION;
         {revoke}
         CREATE type::record('api_key', $id) SET userId = $user, companyId = $company, name = $name, prefix = $prefix,
             hash = $hash, expiresAt = <option<datetime>> $expiresAt;
         COMMIT TRANSACTION;
         SELECT {KEY_FIELDS} FROM ONLY type::record('api_key', $id)"
    );
    let mut vars = json!({"id": key.id, "user": user.id, "company": user.company_id, "name": key.name,
        "prefix": key.prefix, "hash": key.hash, "old": old});
    if let Some(at) = key.expires_at {
        vars["expiresAt"] = json!(at.to_rfc3339());
    }
    let created: Option<ApiKeyInfo> = one(db, &sql, vars).await?;
    created.ok_or(super::StoreError::Duplicate)
}

/// A user's keys, newest first.
pub async fn list_keys(db: &Surreal<Any>, user_id: &str) -> StoreResult<Vec<ApiKeyInfo>> {
    let sql = format!("SELECT {KEY_FIELDS} FROM api_key WHERE userId = $user ORDER BY createdAt DESC");
    rows(db, &sql, json!({"user": user_id})).await
}

/// One key with its hash (for cache invalidation).
pub async fn get_key(db: &Surreal<Any>, id: &str) -> StoreResult<Option<(ApiKeyInfo, String)>> {
    #[derive(Deserialize)]
    struct Row {
        #[serde(flatten)]
        info: ApiKeyInfo,
        hash: String,
    }
    let sql = format!("SELECT {KEY_FIELDS}, hash FROM ONLY type::record('api_key', $id)");
    let found: Option<Row> = one(db, &sql, json!({"id": id})).await?;
    Ok(found.map(|r| (r.info, r.hash)))
}

/// The key with this hash, if any (an index lookup).
pub async fn find_key_by_hash(db: &Surreal<Any>, hash: &str) -> StoreResult<Option<ApiKeyInfo>> {
    let sql = format!("SELECT {KEY_FIELDS} FROM api_key WHERE hash = $hash LIMIT 1");
    one(db, &sql, json!({"hash": hash})).await
}

/// Marks a key revoked (idempotent).
pub async fn revoke_key(db: &Surreal<Any>, id: &str) -> StoreResult<()> {
    let sql = "UPDATE type::record('api_key', $id) SET revokedAt = time::now() WHERE id != NONE AND revokedAt = NONE";
    run(db, sql, json!({"id": id})).await?;
    Ok(())
}

/// Hashes of a company's keys (to drop them from the cache).
pub async fn key_hashes_of_company(db: &Surreal<Any>, company_id: &str) -> StoreResult<Vec<String>> {
    rows(
        db,
        "SELECT VALUE hash FROM api_key WHERE companyId = $company",
        json!({"company": company_id}),
    )
    .await
}

/// Stamps a key's last use.
pub async fn touch_key(db: &Surreal<Any>, id: &str) -> StoreResult<()> {
    run(
        db,
        "UPDATE type::record('api_key', $id) SET lastUsedAt = time::now() WHERE id != NONE",
        json!({"id": id}),
    )
    .await?;
    Ok(())
}

/// The stored hash of the generated admin token, if one was generated.
pub async fn admin_token_hash(db: &Surreal<Any>) -> StoreResult<Option<String>> {
    one(db, "SELECT VALUE hash FROM ONLY admin_token:current", json!({})).await
}

/// Stores the hash of a newly generated admin token.
pub async fn set_admin_token_hash(db: &Surreal<Any>, hash: &str) -> StoreResult<()> {
    run(
        db,
        "UPSERT admin_token:current SET hash = $hash, createdAt = time::now()",
        json!({"hash": hash}),
    )
    .await?;
    Ok(())
}

/// The company a role belongs to.
pub async fn role_company(db: &Surreal<Any>, role_id: &str) -> StoreResult<Option<String>> {
    one(
        db,
        "SELECT VALUE companyId FROM ONLY type::record('role', $id)",
        json!({"id": role_id}),
    )
    .await
}

/// A company's roles: the system role first, then by name.
pub async fn list_roles(db: &Surreal<Any>, company_id: &str) -> StoreResult<Vec<Value>> {
    let sql = "SELECT record::id(id) AS id, name, description, isSystemRole, permissions, createdAt, updatedAt
               FROM role WHERE companyId = $company ORDER BY isSystemRole DESC, name";
    rows(db, sql, json!({"company": company_id})).await
}

/// One role as a DTO, with its company.
pub async fn role_dto(db: &Surreal<Any>, id: &str) -> StoreResult<Option<Value>> {
    let sql =
        "SELECT record::id(id) AS id, companyId, name, description, isSystemRole, permissions, createdAt, updatedAt
               FROM ONLY type::record('role', $id)";
    one(db, sql, json!({"id": id})).await
}

/// Creates or replaces a custom role's name, description and permissions.
pub async fn save_role(
    db: &Surreal<Any>,
    company_id: &str,
    id: &str,
    name: &str,
    description: &str,
    permissions: &[crate::domain::Permission],
) -> StoreResult<()> {
    let sql = "UPSERT type::record('role', $id) SET companyId = $company, name = $name, description = $description,
               isSystemRole = false, permissions = $permissions, updatedAt = time::now()";
    run(
        db,
        sql,
        json!({"id": id, "company": company_id, "name": name, "description": description, "permissions": permissions}),
    )
    .await?;
    Ok(())
}

/// Deletes a role.
pub async fn delete_role(db: &Surreal<Any>, id: &str) -> StoreResult<()> {
    run(db, "DELETE type::record('role', $id)", json!({"id": id})).await?;
    Ok(())
}

/// Users holding a role.
pub async fn users_with_role(db: &Surreal<Any>, role_id: &str) -> StoreResult<Vec<User>> {
    let sql = format!("SELECT {USER_FIELDS} FROM user WHERE roleId = $role");
    rows(db, &sql, json!({"role": role_id})).await
}

/// Sets a user's role and status.
pub async fn set_user_access(
    db: &Surreal<Any>,
    id: &str,
    role_id: Option<&str>,
    status: UserStatus,
) -> StoreResult<Option<User>> {
    let mut vars = json!({"id": id, "status": status});
    if let Some(role) = role_id {
        vars["role"] = json!(role);
    }
    let sql = format!(
        "UPDATE type::record('user', $id) SET roleId = <option<string>> $role, status = $status, updatedAt = time::now() WHERE id != NONE;
         SELECT {USER_FIELDS} FROM ONLY type::record('user', $id)"
    );
    one(db, &sql, vars).await
}

/// A company's profile for the `get_company` tool.
pub async fn company_profile(db: &Surreal<Any>, id: &str) -> StoreResult<Option<Value>> {
    let sql = "SELECT record::id(id) AS id, name, street, city, postalCode, country, currency, createdAt, updatedAt
               FROM ONLY type::record('company', $id)";
    one(db, sql, json!({"id": id})).await
}

/// Updates a company's profile.
pub async fn set_company_profile(db: &Surreal<Any>, id: &str, profile: &Value) -> StoreResult<()> {
    let sql = "UPDATE type::record('company', $id) MERGE $profile WHERE id != NONE;
               UPDATE type::record('company', $id) SET updatedAt = time::now() WHERE id != NONE;";
    run(db, sql, json!({"id": id, "profile": profile})).await?;
    Ok(())
}

/// Updates a user's own profile fields.
pub async fn set_user_profile(
    db: &Surreal<Any>,
    id: &str,
    first: &str,
    last: &str,
    country: &str,
    avatar: Option<&str>,
) -> StoreResult<Option<User>> {
    let mut vars = json!({"id": id, "first": first, "last": last, "country": country});
    if let Some(avatar) = avatar {
        vars["avatar"] = json!(avatar);
    }
    let sql = format!(
        "UPDATE type::record('user', $id) SET firstName = $first, lastName = $last, country = $country,
             avatarUrl = <option<string>> $avatar, updatedAt = time::now() WHERE id != NONE;
         SELECT {USER_FIELDS} FROM ONLY type::record('user', $id)"
    );
    one(db, &sql, vars).await
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::config::DatabaseSettings;
    use crate::domain::user::NewUser;

    /// A key row whose hash is 64 hex characters made from `seed`.
    fn row(id: &str, seed: char) -> (String, String) {
        (id.to_owned(), seed.to_string().repeat(64))
    }

    fn key<'a>((id, hash): &'a (String, String)) -> NewKeyRow<'a> {
        NewKeyRow {
            id,
            name: "k",
            prefix: "cm_abcde",
            hash,
            expires_at: None,
        }
    }

    /// A rotation revokes the old key and creates the new one together, and refuses (creating nothing) when the
    /// old key is no longer live, as when another process rotated it first.
    #[tokio::test]
    async fn a_rotation_is_one_transaction_and_needs_a_live_key() {
        let settings = DatabaseSettings {
            url: "mem://".into(),
            namespace: "t".into(),
            username: String::new(),
            password: SecretString::from(""),
        };
        let store = crate::store::Store::connect(&settings).await.unwrap();
        let db = store.control();
        let user = create_user(
            db,
            "c1",
            "u1",
            &NewUser::parse("u@example.com", "U", "").unwrap(),
            None,
            UserStatus::Active,
        )
        .await
        .unwrap();
        let (k1, k2, k3) = (row("k1", 'a'), row("k2", 'b'), row("k3", 'c'));
        create_key(db, &user, &key(&k1)).await.unwrap();
        rotate_key(db, &user, &key(&k2), "k1").await.unwrap();
        let revoked =
            |id: &'static str| async move { get_key(db, id).await.unwrap().map(|(k, _)| k.revoked_at.is_some()) };
        assert_eq!((revoked("k1").await, revoked("k2").await), (Some(true), Some(false)));

        let error = rotate_key(db, &user, &key(&k3), "k1").await.unwrap_err();
        assert!(error.to_string().contains("already revoked"), "{error}");
        assert_eq!(revoked("k3").await, None, "nothing was created");
    }
}
