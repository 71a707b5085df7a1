//! The MCP tool surface: catalog, tool logic, TOON output, server guidance. The transport lives in
//! `http::mcp`; nothing here knows about HTTP.

pub mod catalog;
pub mod tools;

/// Protocol versions served with the `initialize` handshake, newest first.
pub const HANDSHAKE_VERSIONS: [&str; 4] = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
/// The per-request protocol version (no handshake; `server/discover`, `_meta`, `Mcp-Method`/`Mcp-Name`).
pub const MODERN_VERSION: &str = "2026-07-28";

/// Safety rules sent as `instructions` in every handshake.
pub const INSTRUCTIONS: &str = "Customermates CRM. Entities: contact, organization, deal, service, task, linked to each other and assigned to users. \
Rules: (1) Call get_entity_configuration before creating, updating, filtering or sorting an entity, to learn its custom columns and filterable fields. \
(2) Never send null for a relationship array (organizationIds, contactIds, dealIds, serviceIds, taskIds, userIds, services): omit it to keep the links, pass [] to clear them. \
(3) Prefer link_entities / unlink_entities to add or remove single links; relationship arrays in update tools REPLACE the visible links. \
(4) Custom fields merge per column: only listed columns change; {columnId, value: null} clears one. Use the per-type custom column tool that matches the column's type. \
(5) Confirm with the user before any IRREVERSIBLE tool (delete_entities, delete_custom_column). \
(6) Use search_all_entities when you do not know a record's type. Dates are ISO 8601 UTC.";

/// The setup prompt offered through `prompts/get`.
pub const SETUP_PROMPT: &str = "You are connected to the user's Customermates CRM through MCP.\n\n\
The CRM holds five entity types: contacts (people), organizations (companies), deals (sales opportunities with service lines), services (products or services with an amount) and tasks. Records link to each other (contacts work at organizations, deals involve contacts and organizations and contain services with quantities, tasks relate to any of them) and can be assigned to users.\n\n\
First, ask the user for their name, their role, and what they mainly use the CRM for.\n\n\
Safety rules:\n\
- Never send null on a relationship array (organizationIds, contactIds, dealIds, serviceIds, taskIds, userIds, services). Omit it to keep existing links, pass [] to clear them explicitly, or use unlink_entities to remove specific ids.\n\
- Prefer link_entities and unlink_entities for adding or removing single links; relationship arrays in update tools replace all visible links.\n\
- Custom fields merge per column: only the listed columns change, and {columnId, value: null} clears one. Use the custom column tool that matches the column's type (for example update_single_select_custom_column for a single-select column).\n\
- Call get_entity_configuration before any create or update, to learn the custom columns and the filterable and sortable fields.\n\
- Confirm destructive, IRREVERSIBLE actions with the user before running them, naming the tool and its arguments.\n\n\
Good first moves: get_current_user and get_company; count_entity for all five types; list_custom_columns.\n\n\
Style: short paragraphs; name destructive tools and their arguments before running them; use search_all_entities when the entity type is unknown. Dates are ISO 8601 (UTC).";

/// Encodes a tool result as TOON (token-efficient for agents); falls back to JSON if encoding fails.
#[must_use]
pub fn toon(value: &serde_json::Value) -> String {
    toon_format::encode(value, &toon_format::EncodeOptions::default()).unwrap_or_else(|_| value.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn toon_matches_the_reference_example() {
        let value = json!({"items": [
            {"id": "11111111-1111-4111-8111-111111111111", "name": "Max Mustermann"},
            {"id": "22222222-2222-4222-8222-222222222222", "name": "Ada Lovelace"}
        ], "total": 2, "page": 1});
        assert_eq!(
            toon(&value),
            "items[2]{id,name}:\n  11111111-1111-4111-8111-111111111111,Max Mustermann\n  22222222-2222-4222-8222-222222222222,Ada Lovelace\ntotal: 2\npage: 1"
        );
    }

    #[test]
    fn toon_quotes_what_needs_quoting() {
        let text = toon(&json!({"a": "x, y", "b": "123", "c": [], "d": ["p", "q"]}));
        assert!(text.contains("a: \"x, y\""), "{text}");
        assert!(text.contains("b: \"123\""), "{text}");
        assert!(text.contains("d[2]: p,q"), "{text}");
    }
}
