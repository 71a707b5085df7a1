//! Domain values shared by every surface: companies, users, roles, permissions.

pub mod access;
pub mod company;
pub mod user;

pub use access::{Action, Permission, Resource, Role};
pub use company::{Company, CompanyStatus};
pub use user::{User, UserStatus};
