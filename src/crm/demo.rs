//! The demo data set of a new company (service business): pipeline and status columns, five organizations,
//! eight contacts, three services, six deals with service lines, seven tasks — all assigned to one user.

use serde_json::{Value, json};
use surrealdb::Surreal;
use surrealdb::engine::any::Any;

use super::{Entity, count_all};
use crate::domain::User;
use crate::store::{StoreResult, run};

const ORGANIZATIONS: [&str; 5] = [
    "North Light Group",
    "Marlowe & Cole",
    "Harbor & Line",
    "Kestrel Studios",
    "Atlas Mobility",
];

/// (first, last, email, organization index)
const CONTACTS: [(&str, &str, &str, usize); 8] = [
    ("Alex", "Murphy", "alex.murphy@northlight.example", 0),
    ("Priya", "Iyer", "priya.iyer@northlight.example", 0),
    ("Marius", "Becker", "marius.becker@marlowecole.example", 1),
    ("Elena", "Costa", "elena.costa@harborline.example", 2),
    ("Tomas", "Lindberg", "tomas.lindberg@harborline.example", 2),
    ("Linnea", "Holm", "linnea.holm@kestrelstudios.example", 3),
    ("Rashid", "Khan", "rashid.khan@atlasmobility.example", 4),
    ("Sara", "Romero", "sara.romero@atlasmobility.example", 4),
];

/// (name, amount, billable hours)
const SERVICES: [(&str, f64, &str); 3] = [
    ("Discovery", 1200.0, "10"),
    ("Implementation", 6400.0, "60"),
    ("Retainer", 2400.0, "150"),
];

/// Pipeline stages: (label, colour).
const STAGES: [(&str, &str); 5] = [
    ("New", "secondary"),
    ("Qualified", "info"),
    ("Quoted", "warning"),
    ("Won", "success"),
    ("Lost", "destructive"),
];

/// Task statuses: (label, colour).
const STATUSES: [(&str, &str); 6] = [
    ("Open", "secondary"),
    ("In Progress", "warning"),
    ("Blocked", "destructive"),
    ("On Hold", "secondary"),
    ("Done", "success"),
    ("Archived", "secondary"),
];

/// (name, organization, contacts, [(service, quantity)], stage)
type DealRow = (&'static str, usize, &'static [usize], &'static [(usize, f64)], usize);
const DEALS: [DealRow; 6] = [
    ("North Light discovery", 0, &[0, 1], &[(0, 20.0)], 0),
    ("Marlowe full implementation", 1, &[2], &[(1, 4.0)], 1),
    ("Harbor scoping workshop", 2, &[3], &[(0, 5.0), (1, 3.0)], 2),
    ("Kestrel implementation + retainer", 3, &[5], &[(1, 1.0), (2, 9.0)], 3),
    ("Atlas discovery sprint", 4, &[6], &[(0, 18.0)], 4),
    ("Atlas ongoing retainer", 4, &[7], &[(2, 12.0)], 1),
];

/// (name, status, contacts, organizations, deals, services)
type TaskRow = (
    &'static str,
    usize,
    &'static [usize],
    &'static [usize],
    &'static [usize],
    &'static [usize],
);
const TASKS: [TaskRow; 10] = [
    ("Intro call", 0, &[0], &[0], &[], &[]),
    ("Send quote", 1, &[2], &[], &[], &[]),
    ("Prep kickoff materials", 0, &[3, 4], &[2], &[], &[]),
    ("Write project post-mortem", 4, &[5], &[3], &[], &[]),
    ("Follow up after pause", 0, &[6], &[], &[], &[]),
    ("Review expansion contract", 1, &[7], &[4], &[], &[]),
    ("Gather requirements", 0, &[1], &[0], &[], &[]),
    ("Run discovery workshop", 0, &[], &[], &[0], &[0]),
    ("Draft implementation plan", 1, &[], &[], &[1], &[1]),
    ("Schedule retainer check-in", 0, &[], &[], &[3], &[2]),
];

const SEED: &str = "BEGIN TRANSACTION;
LET $m = type::record('member', $member);
FOR $c IN $columns {
    CREATE type::record('custom_column', $c.id) SET label = $c.label, entityType = $c.entityType, type = $c.type,
        options = $c.options;
};
FOR $o IN $organizations {
    LET $r = type::record('organization', $o.id);
    CREATE $r SET name = $o.name;
    RELATE $m->assigned->$r;
};
FOR $c IN $contacts {
    LET $r = type::record('contact', $c.id);
    CREATE $r SET firstName = $c.firstName, lastName = $c.lastName, emails = $c.emails;
    RELATE $m->assigned->$r;
    RELATE $r->works_at->(type::record('organization', $c.organization));
};
FOR $s IN $services {
    LET $r = type::record('service', $s.id);
    CREATE $r SET name = $s.name, amount = $s.amount, customFields = $s.customFields;
    RELATE $m->assigned->$r;
};
FOR $d IN $deals {
    LET $r = type::record('deal', $d.id);
    CREATE $r SET name = $d.name, customFields = $d.customFields, totalValue = $d.totalValue,
        totalQuantity = $d.totalQuantity;
    RELATE $m->assigned->$r;
    RELATE (type::record('organization', $d.organization))->organization_deal->$r;
    FOR $c IN $d.contacts { RELATE (type::record('contact', $c))->contact_deal->$r; };
    FOR $l IN $d.lines { RELATE $r->deal_service->(type::record('service', $l.service)) SET quantity = $l.quantity; };
};
FOR $t IN $tasks {
    LET $r = type::record('task', $t.id);
    CREATE $r SET name = $t.name, type = 'custom', customFields = $t.customFields;
    RELATE $m->assigned->$r;
    FOR $l IN $t.links { RELATE $r->task_link->(type::record($l.table, $l.id)); };
};
COMMIT TRANSACTION;";

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn select_column(label: &str, entity: &str, options: &[(&str, &str)]) -> (Value, Vec<String>) {
    let ids: Vec<String> = options.iter().map(|_| new_id()).collect();
    let opts: Vec<Value> = options
        .iter()
        .zip(&ids)
        .enumerate()
        .map(|(index, ((label, color), id))| {
            json!({"value": id, "label": label, "color": color, "isDefault": index == 0, "index": index})
        })
        .collect();
    let column = json!({"id": new_id(), "label": label, "entityType": entity, "type": "singleSelect", "options": {"options": opts}});
    (column, ids)
}

/// Seeds the data set in one transaction; returns `false` (and writes nothing) when the company has deals already.
pub async fn seed(db: &Surreal<Any>, user: &User) -> StoreResult<bool> {
    if count_all(db, Entity::Deal).await? > 0 {
        return Ok(false);
    }
    super::upsert_member(db, user).await?;
    let (pipeline, stage_ids) = select_column("Sales pipeline", "deal", &STAGES);
    let (status, status_ids) = select_column("Status", "task", &STATUSES);
    let hours = json!({"id": new_id(), "label": "Billable hours", "entityType": "service", "type": "plain"});
    let column_id = |c: &Value| c["id"].as_str().unwrap_or_default().to_owned();
    let (pipeline_id, status_id, hours_id) = (column_id(&pipeline), column_id(&status), column_id(&hours));

    let org_ids: Vec<String> = ORGANIZATIONS.iter().map(|_| new_id()).collect();
    let contact_ids: Vec<String> = CONTACTS.iter().map(|_| new_id()).collect();
    let service_ids: Vec<String> = SERVICES.iter().map(|_| new_id()).collect();
    let deal_ids: Vec<String> = DEALS.iter().map(|_| new_id()).collect();

    let organizations: Vec<Value> = ORGANIZATIONS
        .iter()
        .zip(&org_ids)
        .map(|(name, id)| json!({"id": id, "name": name}))
        .collect();
    let contacts: Vec<Value> = CONTACTS
        .iter()
        .zip(&contact_ids)
        .map(|((first, last, email, org), id)| {
            json!({"id": id, "firstName": first, "lastName": last, "emails": [email], "organization": org_ids[*org]})
        })
        .collect();
    let services: Vec<Value> = SERVICES
        .iter()
        .zip(&service_ids)
        .map(|((name, amount, hours), id)| {
            json!({"id": id, "name": name, "amount": amount, "customFields": {hours_id.clone(): hours}})
        })
        .collect();
    let deals: Vec<Value> = DEALS
        .iter()
        .zip(&deal_ids)
        .map(|((name, org, people, lines, stage), id)| {
            let total_value: f64 = lines.iter().map(|(s, q)| SERVICES[*s].1 * q).sum();
            let total_quantity: f64 = lines.iter().map(|(_, q)| q).sum();
            json!({
                "id": id, "name": name, "organization": org_ids[*org],
                "contacts": people.iter().map(|c| &contact_ids[*c]).collect::<Vec<_>>(),
                "lines": lines.iter().map(|(s, q)| json!({"service": service_ids[*s], "quantity": q})).collect::<Vec<_>>(),
                "customFields": {pipeline_id.clone(): stage_ids[*stage]},
                "totalValue": total_value, "totalQuantity": total_quantity,
            })
        })
        .collect();
    let tasks: Vec<Value> = TASKS
        .iter()
        .map(|(name, state, people, orgs, deal_links, service_links)| {
            let link = |table: &str, ids: &[String], picks: &[usize]| -> Vec<Value> {
                picks.iter().map(|i| json!({"table": table, "id": ids[*i]})).collect()
            };
            let mut links = link("contact", &contact_ids, people);
            links.extend(link("organization", &org_ids, orgs));
            links.extend(link("deal", &deal_ids, deal_links));
            links.extend(link("service", &service_ids, service_links));
            json!({"id": new_id(), "name": name, "links": links, "customFields": {status_id.clone(): status_ids[*state]}})
        })
        .collect();

    let vars = json!({
        "member": user.id, "columns": [pipeline, status, hours], "organizations": organizations,
        "contacts": contacts, "services": services, "deals": deals, "tasks": tasks,
    });
    run(db, SEED, vars).await?;
    Ok(true)
}
