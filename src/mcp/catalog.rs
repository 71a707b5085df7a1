//! The tool catalog: the reference's 49 input schemas (names, argument shapes, limits, annotations), our own
//! descriptions, all four annotation hints, an output schema per tool. Built once and serialised once.

use serde_json::{Map, Value, json};

/// The reference's input schemas and annotations (widget and webhook tools come with their own issues).
const SCHEMAS: &str = include_str!("tool_schemas.json");

const ENTITY: &str = "entity (one of: contact, organization, deal, service, task)";
const DATES: &str = "Dates are ISO 8601 (UTC).";
const FILTER_EXAMPLE: &str = r#"AND-combined filters. Call get_entity_configuration first for the fields and operators. Example: [{"field": "organizationIds", "operator": "in", "value": ["<organization-uuid>"]}, {"field": "createdAt", "operator": "gte", "value": "2024-01-01"}, {"field": "<custom-column-uuid>", "operator": "isNotNull"}]. Operators: equals, contains, gt, gte, lt, lte (one string value); in, notIn, between, hasNone, hasSome (array value; hasNone/hasSome without a value mean "no links"/"at least one link"); isNull, isNotNull (no value); inLastDays (positive integer)."#;
const REPLACES: &str = "WARNING: a relationship array (organizationIds, contactIds, dealIds, serviceIds, taskIds, userIds, services) REPLACES the record's visible links; omit it to keep them, pass [] to clear, never null. To add or remove single links use link_entities / unlink_entities.";
const MERGE: &str =
    "customFieldValues merge per column: only the listed columns change; {columnId, value: null} clears one.";

/// Our description of a tool.
fn description(name: &str) -> String {
    let entity_create = |plural: &str, required: &str, optional: &str| {
        format!(
            "Create 1-100 {plural} in one all-or-nothing transaction. Required per item: {required}. Optional: {optional}, notes (markdown), customFieldValues [{{columnId, value}}]. Linked ids must exist. Call get_entity_configuration first for custom columns. Returns {{items: [{{id, name}}]}}."
        )
    };
    let entity_update = |plural: &str, fields: &str| {
        format!(
            "Update 1-100 {plural} in one all-or-nothing transaction. Required per item: id. Optional: {fields}, notes (markdown), customFieldValues. {REPLACES} {MERGE} Returns a count."
        )
    };
    let custom_create = |kind: &str, extra: &str| {
        format!(
            "Create a {kind} custom column. Required: entityType (one of: contact, organization, deal, service, task), label.{extra} Needs create permission on the entity. Returns {{id, label, message}}."
        )
    };
    let custom_update = |kind: &str, extra: &str| {
        format!(
            "Change a {kind} custom column. Required: id, label.{extra} The type and entity type cannot change (delete and recreate instead); a column of another type is refused with the name of the right tool. Returns {{id, label, message}}."
        )
    };
    let date_format = " Optional: displayFormat (one of: numericalLong, numericalShort, descriptiveShort, descriptiveLong, relative).";
    let list_opts = " Required: color (one of: default, secondary, destructive, success, warning, info), allowMultiple (true = comma-separated list).";
    match name {
        "get_entity_configuration" => format!("Read one entity type's custom columns, filterable fields with their operators, sortable fields, and the filter and sort syntax. Call this before any create, update, filter, sort or count. Required: {ENTITY}."),
        "filter_entity" => format!("Search, filter and sort one entity type; returns {{items: [{{id, name}}], total, page}}. Required: {ENTITY}. Optional: searchTerm (words matched in names and, for contacts, emails), filters, sortDescriptor {{field, direction (one of: asc, desc)}} (default: name ascending; tasks: updatedAt descending), page (>= 1, default 1), pageSize (one of: 5, 10, 25, 100; default 10). {DATES}"),
        "count_entity" => format!("Count the records of one entity type that match filters. Required: {ENTITY}. Optional: filters, sortDescriptor (validated, irrelevant to the count). Returns {{total, filters}}."),
        "search_all_entities" => "Search several entity types at once by name when you do not know the type. Required: searchTerm. Optional: entities (array of: contact, organization, deal, service, task; default all five), limitPerEntity (1-100, default 5). Returns {searchTerm, results: [{entity, items: [{id, name}], total}]}.".into(),
        "get_entities" => format!("Read full records by id, of mixed types. Required: items [{{entity (one of: contact, organization, deal, service, task), id, include (one of: masterData, withNotes; default masterData)}}]. Returns one element per item in order: {{<entity>: record}} (plus notes as markdown with withNotes) or {{error}}. {DATES}"),
        "update_entity_notes" => format!("Replace the notes of 1-100 records of one type. Required: {ENTITY}, items [{{id, notes (markdown; empty clears)}}]. WARNING: replaces the existing notes; to add text use append_entity_notes. Returns a count."),
        "append_entity_notes" => format!("Append markdown to the notes of 1-100 records of one type (joined with a blank line). Required: {ENTITY}, items [{{id, notes (markdown, non-empty)}}]. Returns a count."),
        "delete_entities" => format!("IRREVERSIBLE. Delete 1-100 records of one type and all their links, in one transaction. Confirm with the user first. Required: {ENTITY}, ids (array of UUIDs). System tasks cannot be deleted. Returns a count."),
        "update_entity_custom_fields" => format!("Set custom column values on 1-100 records of one type. Required: {ENTITY}, items [{{id, customFieldValues [{{columnId, value}}]}}]. {MERGE} Values are checked against the column type (see get_entity_configuration). Returns a count."),
        "link_entities" => format!("Add links from one record to others without touching existing links (safe alternative to relationship arrays in update tools). Required: {ENTITY}, sourceId, relation (one of: organizations, contacts, deals, services, tasks, users — as allowed for the entity), ids. Deal service links get quantity 1. Returns the link counts."),
        "unlink_entities" => format!("Remove links from one record to others without touching other links; never deletes records. Required: {ENTITY}, sourceId, relation (one of: organizations, contacts, deals, services, tasks, users — as allowed for the entity), ids. Returns the link counts."),
        "create_contacts" => entity_create("contacts", "firstName, lastName (may be empty)", "emails, organizationIds, userIds, dealIds, taskIds"),
        "update_contacts" => entity_update("contacts", "firstName, lastName, emails (replaces the list), organizationIds, userIds, dealIds, taskIds"),
        "create_organizations" => entity_create("organizations", "name", "contactIds, userIds, dealIds, taskIds"),
        "update_organizations" => entity_update("organizations", "name, contactIds, userIds, dealIds, taskIds"),
        "create_deals" => entity_create("deals", "name", "organizationIds, userIds, contactIds, services [{serviceId, quantity (>= 0, default 1)}], taskIds; totalValue and totalQuantity are computed from the service lines"),
        "update_deals" => entity_update("deals", "name, organizationIds, userIds, contactIds, services [{serviceId, quantity}] (replaces all visible lines and quantities), taskIds"),
        "create_services" => entity_create("services", "name, amount (> 0)", "userIds, dealIds (new deal links get quantity 1), taskIds"),
        "update_services" => entity_update("services", "name, amount (> 0; linked deal totals are recomputed), userIds, dealIds, taskIds"),
        "create_tasks" => entity_create("tasks", "name", "userIds, contactIds, organizationIds, dealIds, serviceIds"),
        "update_tasks" => entity_update("tasks", "name, userIds, contactIds, organizationIds, dealIds, serviceIds"),
        "get_current_user" => "Read the calling user: {id, firstName, lastName, country, avatarUrl, roleId, roleName}. No arguments.".into(),
        "update_my_profile" => "Update the calling user's profile. Required: firstName, lastName, country (lowercase ISO 3166 alpha-2, e.g. de, us). Optional: avatarUrl (http/https URL; omit to keep, \"\" or null to clear). Returns {firstName, lastName, message}.".into(),
        "list_users" => "List the company's users: {items: [{id, firstName, lastName}], total}, sorted by name. No arguments.".into(),
        "get_company" => format!("Read the company profile: {{id, name, street, city, postalCode, country, currency, createdAt, updatedAt}}. No arguments. {DATES}"),
        "update_company" => "Update the company profile. Required: name, street, city, postalCode, country (lowercase ISO 3166 alpha-2). Optional: currency (lowercase ISO 4217, e.g. eur, usd; omit to keep). Returns {name, message}.".into(),
        "list_roles" => "List the company's roles with their permissions: {items: [{id, name, description, isSystemRole, permissions: [{resource, action}]}], total}. No arguments.".into(),
        "list_custom_columns" => "List custom columns, optionally of one entity type. Optional: entityType (one of: contact, organization, deal, service, task). Returns {items: [{id, label, entityType, type, options}]}.".into(),
        "delete_custom_column" => "IRREVERSIBLE. Delete a custom column and every value stored in it. Confirm with the user first. Required: id. Needs delete permission on the column's entity.".into(),
        "create_plain_custom_column" => custom_create("plain text", ""),
        "update_plain_custom_column" => custom_update("plain text", ""),
        "create_date_custom_column" => custom_create("date (YYYY-MM-DD or ISO datetime)", date_format),
        "update_date_custom_column" => custom_update("date", date_format),
        "create_datetime_custom_column" => custom_create("date-time (ISO 8601 ending in Z)", date_format),
        "update_datetime_custom_column" => custom_update("date-time", date_format),
        "create_date_range_custom_column" => custom_create("date range (\"start,end\", start <= end)", date_format),
        "update_date_range_custom_column" => custom_update("date range", date_format),
        "create_datetime_range_custom_column" => custom_create("date-time range (\"start,end\" ISO datetimes)", date_format),
        "update_datetime_range_custom_column" => custom_update("date-time range", date_format),
        "create_currency_custom_column" => custom_create("currency (a number)", " Required: currency (lowercase ISO 4217, e.g. eur, usd)."),
        "update_currency_custom_column" => custom_update("currency", " Required: currency (lowercase ISO 4217)."),
        "create_single_select_custom_column" => custom_create("single-select", " Required: options [{label, color (one of: default, secondary, destructive, success, warning, info), isDefault, index}] (at least one); each option gets an id, which is the stored value. A default option is filled into every record without a value."),
        "update_single_select_custom_column" => custom_update("single-select", " Required: options [{value (omit for a new option), label, color, isDefault, index}]. WARNING: the list REPLACES the options; values of removed options move to the default option or are cleared."),
        "create_link_custom_column" => custom_create("link (http, https, mailto or tel URL)", list_opts),
        "update_link_custom_column" => custom_update("link", list_opts),
        "create_email_custom_column" => custom_create("email", list_opts),
        "update_email_custom_column" => custom_update("email", list_opts),
        "create_phone_custom_column" => custom_create("phone (E.164, e.g. +491234567890)", list_opts),
        "update_phone_custom_column" => custom_update("phone", list_opts),
        other => format!("{other}."),
    }
}

/// Adds descriptions to the `filters` properties and fills in the annotation hints.
fn finish(mut tool: Value) -> Value {
    let name = tool["name"].as_str().unwrap_or_default().to_owned();
    tool["description"] = json!(description(&name));
    if let Some(filters) = tool.pointer_mut("/inputSchema/properties/filters") {
        filters["description"] = json!(FILTER_EXAMPLE);
    }
    let read_only = tool["annotations"]["readOnlyHint"].as_bool().unwrap_or(false);
    let destructive = name.starts_with("delete_");
    let annotations = &mut tool["annotations"];
    annotations["readOnlyHint"] = json!(read_only);
    annotations["destructiveHint"] = json!(destructive);
    if annotations.get("idempotentHint").is_none() {
        annotations["idempotentHint"] = json!(read_only);
    }
    annotations["openWorldHint"] = json!(false);
    tool["outputSchema"] = json!({"type": "object"});
    tool
}

/// The tools in the reference's order, serialised once as the `tools/list` result.
pub struct Catalog {
    /// Tool names, in order.
    pub names: Vec<String>,
    /// `{"tools": [...]}`.
    pub list: Value,
}

impl Catalog {
    /// Builds the catalog.
    #[must_use]
    pub fn build() -> Self {
        let tools: Vec<Value> = serde_json::from_str::<Vec<Value>>(SCHEMAS)
            .unwrap_or_default()
            .into_iter()
            .map(finish)
            .collect();
        let names = tools
            .iter()
            .filter_map(|t| t["name"].as_str().map(str::to_owned))
            .collect();
        let mut list = Map::new();
        list.insert("tools".into(), Value::Array(tools));
        Self {
            names,
            list: Value::Object(list),
        }
    }

    /// Whether a tool exists.
    #[must_use]
    pub fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_has_the_49_tools_with_descriptions_and_all_hints() {
        let catalog = Catalog::build();
        assert_eq!(catalog.names.len(), 49);
        for tool in catalog.list["tools"].as_array().unwrap() {
            let name = tool["name"].as_str().unwrap();
            let description = tool["description"].as_str().unwrap();
            assert!(description.len() > 20, "{name}");
            for hint in ["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"] {
                assert!(tool["annotations"][hint].is_boolean(), "{name} {hint}");
            }
            if name.starts_with("delete_") {
                assert!(description.starts_with("IRREVERSIBLE."), "{name}");
                assert_eq!(tool["annotations"]["destructiveHint"], true);
            }
            assert_eq!(tool["inputSchema"]["type"], "object");
        }
        let filter = catalog.list["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "filter_entity")
            .unwrap();
        assert!(
            filter["inputSchema"]["properties"]["filters"]["description"]
                .as_str()
                .unwrap()
                .contains("\"operator\": \"in\"")
        );
    }
}
