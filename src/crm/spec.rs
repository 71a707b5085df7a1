//! What each entity is made of: its table, plural name, permission resource, scalar fields, graph relations,
//! sortable fields and the SurrealQL projection of its DTO. Everything generic in `crm` is driven by this.

use serde_json::{Map, Value, json};

use crate::domain::Resource;

use super::Entity;

/// The far end of a relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// Another CRM record.
    Entity(Entity),
    /// A user of the company (assignment).
    User,
}

impl Target {
    /// The table of the far end.
    #[must_use]
    pub fn table(self) -> &'static str {
        match self {
            Self::Entity(entity) => entity.table(),
            Self::User => "member",
        }
    }

    /// The permission resource that decides whether the far end is visible.
    #[must_use]
    pub fn resource(self) -> Resource {
        match self {
            Self::Entity(entity) => entity.resource(),
            Self::User => Resource::Users,
        }
    }

    /// The reference shape embedded in DTOs.
    fn projection(self) -> &'static str {
        match self {
            Self::Entity(Entity::Contact) => "{id: record::id(id), firstName, lastName}",
            Self::Entity(Entity::Service) => "{id: record::id(id), name, amount}",
            Self::Entity(Entity::Task) => "{id: record::id(id), name, type}",
            Self::Entity(_) => "{id: record::id(id), name}",
            Self::User => "{id: record::id(id), firstName, lastName, email, avatarUrl: NONE}",
        }
    }
}

/// A many-to-many link kind as seen from one entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relation {
    /// Input and filter key, e.g. `organizationIds`.
    pub field: &'static str,
    /// DTO key, e.g. `organizations`.
    pub dto: &'static str,
    /// The far end.
    pub target: Target,
    /// The edge table.
    pub edge: &'static str,
    /// `true` when the edge points from this entity to the target (`self->edge->target`).
    pub outgoing: bool,
}

impl Relation {
    /// SurrealQL arrow path from a record of this entity to its targets, e.g. `->works_at->organization`.
    #[must_use]
    pub fn path(&self) -> String {
        let table = self.target.table();
        if self.outgoing {
            format!("->{}->{table}", self.edge)
        } else {
            format!("<-{}<-{table}", self.edge)
        }
    }

    /// Arrow path from a target back to records of this entity, e.g. `<-works_at<-contact`.
    #[must_use]
    pub fn reverse_path(&self, entity: Entity) -> String {
        let table = entity.table();
        if self.outgoing {
            format!("<-{}<-{table}", self.edge)
        } else {
            format!("->{}->{table}", self.edge)
        }
    }

    /// How a page of this entity's records linked to one target is read from the edge table, when the edge
    /// keeps its ends' default sort keys (`schema/tenant/070_edge_order.surql`): the edge end pinned to the
    /// target, the end holding the listed records, and the field with their sort key.
    #[must_use]
    pub fn ordered_edge(&self) -> Option<OrderedEdge> {
        if !ORDERED_EDGES.contains(&self.edge) {
            return None;
        }
        let (pinned, member) = if self.outgoing { ("out", "in") } else { ("in", "out") };
        Some(OrderedEdge {
            edge: self.edge,
            pinned,
            member,
        })
    }

    /// The DTO projection of this relation.
    #[must_use]
    pub fn dto_projection(&self) -> String {
        if self.edge == "deal_service" && self.outgoing {
            // Deal service lines carry the quantity from the edge.
            return format!(
                "->deal_service.{{id: record::id(out), name: out.name, amount: out.amount, quantity}} AS {}",
                self.dto
            );
        }
        format!("{}.{} AS {}", self.path(), self.target.projection(), self.dto)
    }
}

/// Edge tables whose records carry both ends' default sort keys (between two of contact, organization, deal
/// and service, whose default sort is by name and never changes with a write of the edge).
pub const ORDERED_EDGES: &[&str] = &["works_at", "contact_deal", "organization_deal", "deal_service"];

/// An edge table read in the order of one end's default sort key (see [`Relation::ordered_edge`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderedEdge {
    /// The edge table.
    pub edge: &'static str,
    /// `in` or `out`: the end holding the target the filter names.
    pub pinned: &'static str,
    /// The other end: the listed records.
    pub member: &'static str,
}

impl OrderedEdge {
    /// The edge fields holding the member end's default sort columns, then the member end itself: the order of
    /// the index after the pinned end, and of the page (`schema/tenant/070_edge_order.surql`).
    #[must_use]
    pub fn order_fields(&self, member: Entity) -> Vec<String> {
        let mut fields: Vec<String> = (0..member.default_sort_columns().len())
            .map(|i| format!("{}Sort{i}", self.member))
            .collect();
        fields.push(self.member.to_owned());
        fields
    }
}

const fn rel(field: &'static str, dto: &'static str, target: Target, edge: &'static str, outgoing: bool) -> Relation {
    Relation {
        field,
        dto,
        target,
        edge,
        outgoing,
    }
}

const USERS: Relation = rel("userIds", "users", Target::User, "assigned", false);

const CONTACT: &[Relation] = &[
    rel(
        "organizationIds",
        "organizations",
        Target::Entity(Entity::Organization),
        "works_at",
        true,
    ),
    rel("dealIds", "deals", Target::Entity(Entity::Deal), "contact_deal", true),
    rel("taskIds", "tasks", Target::Entity(Entity::Task), "task_link", false),
    USERS,
];
const ORGANIZATION: &[Relation] = &[
    rel(
        "contactIds",
        "contacts",
        Target::Entity(Entity::Contact),
        "works_at",
        false,
    ),
    rel(
        "dealIds",
        "deals",
        Target::Entity(Entity::Deal),
        "organization_deal",
        true,
    ),
    rel("taskIds", "tasks", Target::Entity(Entity::Task), "task_link", false),
    USERS,
];
const DEAL: &[Relation] = &[
    rel(
        "contactIds",
        "contacts",
        Target::Entity(Entity::Contact),
        "contact_deal",
        false,
    ),
    rel(
        "organizationIds",
        "organizations",
        Target::Entity(Entity::Organization),
        "organization_deal",
        false,
    ),
    rel(
        "serviceIds",
        "services",
        Target::Entity(Entity::Service),
        "deal_service",
        true,
    ),
    rel("taskIds", "tasks", Target::Entity(Entity::Task), "task_link", false),
    USERS,
];
const SERVICE: &[Relation] = &[
    rel("dealIds", "deals", Target::Entity(Entity::Deal), "deal_service", false),
    rel("taskIds", "tasks", Target::Entity(Entity::Task), "task_link", false),
    USERS,
];
const TASK: &[Relation] = &[
    rel(
        "contactIds",
        "contacts",
        Target::Entity(Entity::Contact),
        "task_link",
        true,
    ),
    rel(
        "organizationIds",
        "organizations",
        Target::Entity(Entity::Organization),
        "task_link",
        true,
    ),
    rel("dealIds", "deals", Target::Entity(Entity::Deal), "task_link", true),
    rel(
        "serviceIds",
        "services",
        Target::Entity(Entity::Service),
        "task_link",
        true,
    ),
    USERS,
];

impl Entity {
    /// Every entity, in the reference's order.
    pub const ALL: [Self; 5] = [Self::Contact, Self::Organization, Self::Deal, Self::Service, Self::Task];

    /// The plural wire name (`contacts`), also the REST path segment and the batch key.
    #[must_use]
    pub fn plural(self) -> &'static str {
        match self {
            Self::Contact => "contacts",
            Self::Organization => "organizations",
            Self::Deal => "deals",
            Self::Service => "services",
            Self::Task => "tasks",
        }
    }

    /// Capitalised singular for messages (`Contact`).
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Self::Contact => "Contact",
            Self::Organization => "Organization",
            Self::Deal => "Deal",
            Self::Service => "Service",
            Self::Task => "Task",
        }
    }

    /// Parses the singular wire name.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.table() == name)
    }

    /// The permission resource guarding this entity.
    #[must_use]
    pub fn resource(self) -> Resource {
        match self {
            Self::Contact => Resource::Contacts,
            Self::Organization => Resource::Organizations,
            Self::Deal => Resource::Deals,
            Self::Service => Resource::Services,
            Self::Task => Resource::Tasks,
        }
    }

    /// The entity's relations in the reference's filter order (users last).
    #[must_use]
    pub fn relations(self) -> &'static [Relation] {
        match self {
            Self::Contact => CONTACT,
            Self::Organization => ORGANIZATION,
            Self::Deal => DEAL,
            Self::Service => SERVICE,
            Self::Task => TASK,
        }
    }

    /// The relation with this input/filter key.
    #[must_use]
    pub fn relation(self, field: &str) -> Option<&'static Relation> {
        self.relations().iter().find(|r| r.field == field)
    }

    /// Scalar fields of the DTO, in order.
    #[must_use]
    pub fn scalar_fields(self) -> &'static [&'static str] {
        match self {
            Self::Contact => &["firstName", "lastName", "emails"],
            Self::Organization => &["name"],
            Self::Deal => &["name", "totalValue", "totalQuantity"],
            Self::Service => &["name", "amount"],
            Self::Task => &["name", "type"],
        }
    }

    /// Built-in sortable fields and the columns each sorts by.
    #[must_use]
    pub fn sortable(self) -> &'static [(&'static str, &'static [&'static str])] {
        const DATES: [(&str, &[&str]); 2] = [("createdAt", &["createdAt"]), ("updatedAt", &["updatedAt"])];
        match self {
            Self::Contact => &[("name", &["firstName", "lastName"]), DATES[0], DATES[1]],
            Self::Organization => &[("name", &["name"]), DATES[0], DATES[1]],
            Self::Deal => &[
                ("name", &["name"]),
                ("totalValue", &["totalValue"]),
                ("totalQuantity", &["totalQuantity"]),
                DATES[0],
                DATES[1],
            ],
            Self::Service => &[("name", &["name"]), ("amount", &["amount"]), DATES[0], DATES[1]],
            Self::Task => &DATES,
        }
    }

    /// The default sort: (field, descending).
    #[must_use]
    pub fn default_sort(self) -> (&'static str, bool) {
        match self {
            Self::Task => ("updatedAt", true),
            _ => ("name", false),
        }
    }

    /// The columns of the default sort (ascending for every entity but tasks).
    #[must_use]
    pub fn default_sort_columns(self) -> &'static [&'static str] {
        let (field, _) = self.default_sort();
        self.sortable()
            .iter()
            .find(|(f, _)| *f == field)
            .map_or(&[], |(_, columns)| *columns)
    }

    /// Fields of the record itself that `searchTerm` looks in (each a string or an array of strings).
    #[must_use]
    pub fn search_fields(self) -> &'static [&'static str] {
        match self {
            Self::Contact => &["firstName", "lastName", "emails"],
            _ => &["name"],
        }
    }

    /// Linked records whose names `searchTerm` also matches: (their entity, their fields, the path from them to
    /// records of this entity). Contacts match their organizations' names; organizations their contacts' names.
    #[must_use]
    pub fn search_via(self) -> Option<(Self, &'static [&'static str], &'static str)> {
        match self {
            Self::Contact => Some((Self::Organization, &["name"], "<-works_at<-contact")),
            Self::Organization => Some((Self::Contact, &["firstName", "lastName"], "->works_at->organization")),
            _ => None,
        }
    }

    /// A projection of only the id and the name fields, for lists of `{id, name}`.
    #[must_use]
    pub fn brief_projection(self) -> String {
        match self {
            Self::Contact => "record::id(id) AS uid, firstName, lastName".into(),
            Self::Task => "record::id(id) AS uid, name, type".into(),
            _ => "record::id(id) AS uid, name".into(),
        }
    }

    /// The SurrealQL projection building the raw DTO (the key comes back as `uid`).
    #[must_use]
    pub fn projection(self) -> String {
        self.projection_with(Relation::dto_projection)
    }

    /// What the DTO projection reads from a record just created with `content` (its stored fields, the defaults of
    /// [`Self::stored_default`] included) and linked to nothing, with `createdAt` and `updatedAt` at `stamp`. (A test
    /// checks it against the record read back, for every entity.)
    #[must_use]
    pub fn new_record_row(self, id: &str, content: &Map<String, Value>, stamp: &str) -> Value {
        let mut row = Map::new();
        row.insert("uid".into(), json!(id));
        for field in self.scalar_fields() {
            row.insert((*field).to_owned(), content.get(*field).cloned().unwrap_or(Value::Null));
        }
        row.insert("notes".into(), content.get("notes").cloned().unwrap_or(Value::Null));
        row.insert("createdAt".into(), json!(stamp));
        row.insert("updatedAt".into(), json!(stamp));
        for relation in self.relations() {
            row.insert(relation.dto.to_owned(), json!([]));
        }
        row.insert(
            "customFields".into(),
            content.get("customFields").cloned().unwrap_or_else(|| json!({})),
        );
        Value::Object(row)
    }

    /// The default `schema/tenant/010_entities.surql` gives a field a record is created without, if it has one.
    #[must_use]
    pub fn stored_default(self, field: &str) -> Option<Value> {
        match (self, field) {
            (Self::Contact, "lastName") => Some(json!("")),
            (Self::Contact, "emails") => Some(json!([])),
            (Self::Deal, "totalValue" | "totalQuantity") => Some(json!(0.0)),
            (Self::Task, "type") => Some(json!("custom")),
            _ => None,
        }
    }

    fn projection_with(self, relation_projection: impl Fn(&Relation) -> String) -> String {
        let mut parts = vec!["record::id(id) AS uid".to_owned()];
        parts.extend(self.scalar_fields().iter().map(|f| (*f).to_owned()));
        parts.extend(["notes".to_owned(), "createdAt".to_owned(), "updatedAt".to_owned()]);
        parts.extend(self.relations().iter().map(relation_projection));
        parts.push("customFields".to_owned());
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_of_each_edge_agree_on_its_direction() {
        for entity in Entity::ALL {
            for relation in entity.relations() {
                let Target::Entity(other) = relation.target else {
                    continue;
                };
                let back = other
                    .relations()
                    .iter()
                    .find(|r| r.edge == relation.edge && r.target == Target::Entity(entity))
                    .unwrap_or_else(|| panic!("{entity:?}.{} has no way back", relation.field));
                assert_ne!(back.outgoing, relation.outgoing, "{entity:?}.{}", relation.field);
            }
        }
    }

    #[test]
    fn the_stored_edge_keys_are_the_default_sorts_of_their_ends() {
        let schema = include_str!("../../schema/tenant/070_edge_order.surql");
        let indexes = include_str!("../../schema/tenant/indexes/050_edge_order.surql");
        let mut seen = 0;
        for entity in Entity::ALL {
            for relation in entity.relations() {
                let Some(ordered) = relation.ordered_edge() else {
                    continue;
                };
                seen += 1;
                assert!(
                    !entity.default_sort().1,
                    "{entity:?}: ordered edges assume an ascending default sort"
                );
                for (i, column) in entity.default_sort_columns().iter().enumerate() {
                    let definition = format!(
                        "DEFINE FIELD OVERWRITE {}Sort{i} ON {} TYPE any VALUE {}.{column};",
                        ordered.member, ordered.edge, ordered.member
                    );
                    assert!(schema.contains(&definition), "{entity:?}: expected {definition}");
                }
                let index = format!(
                    "ON {} FIELDS {}, {};",
                    ordered.edge,
                    ordered.pinned,
                    ordered.order_fields(entity).join(", ")
                );
                assert!(indexes.contains(&index), "{entity:?}: expected an index {index}");
            }
        }
        assert_eq!(seen, 2 * ORDERED_EDGES.len(), "both ends of every ordered edge");
    }

    #[test]
    fn paths_read_from_the_record_and_back() {
        let orgs = Entity::Contact.relation("organizationIds").unwrap();
        assert_eq!(orgs.path(), "->works_at->organization");
        assert_eq!(orgs.reverse_path(Entity::Contact), "<-works_at<-contact");
        let tasks = Entity::Contact.relation("taskIds").unwrap();
        assert_eq!(tasks.path(), "<-task_link<-task");
    }

    /// The defaults the write path stores itself are the ones the schema gives a record created without them.
    #[tokio::test]
    async fn stored_defaults_are_the_schema_defaults() {
        let db = crate::crm::access::fixtures::tenant_db().await;
        for entity in Entity::ALL {
            let required = match entity {
                Entity::Contact => json!({"firstName": "Ann"}),
                Entity::Service => json!({"name": "Setup", "amount": 1.0}),
                _ => json!({"name": "Acme"}),
            };
            let sql = "CREATE ONLY type::table($table) CONTENT $required";
            let stored = crate::store::run(&db, sql, json!({"table": entity.table(), "required": required}))
                .await
                .unwrap()
                .pop()
                .unwrap();
            for field in entity.scalar_fields() {
                if required.get(*field).is_none() {
                    let expected = entity.stored_default(field).unwrap_or(Value::Null);
                    assert_eq!(stored[*field], expected, "{entity:?}.{field}");
                }
            }
            for field in ["listed", "searchText"] {
                assert!(!stored[field].is_null(), "{entity:?}.{field} has a default");
            }
        }
    }
}
