//! Custom columns: the ten types, their options, and the value rules. Values live in each record's
//! `customFields` object under the column id, as strings.

use chrono::{DateTime, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::Entity;

/// The ten column types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ColumnType {
    /// A number (negative and 0 allowed), in the column's currency.
    Currency,
    /// `YYYY-MM-DD` or an ISO UTC datetime.
    Date,
    /// `start,end` dates, start ≤ end.
    DateRange,
    /// An ISO datetime ending in `Z`.
    DateTime,
    /// `start,end` datetimes, start ≤ end.
    DateTimeRange,
    /// An email (comma list when `allowMultiple`).
    Email,
    /// Any text.
    Plain,
    /// A URL: http, https, mailto or tel (comma list when `allowMultiple`).
    Link,
    /// An E.164 phone number (comma list when `allowMultiple`).
    Phone,
    /// One of the column's option ids.
    SingleSelect,
}

impl ColumnType {
    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Currency => "currency",
            Self::Date => "date",
            Self::DateRange => "dateRange",
            Self::DateTime => "dateTime",
            Self::DateTimeRange => "dateTimeRange",
            Self::Email => "email",
            Self::Plain => "plain",
            Self::Link => "link",
            Self::Phone => "phone",
            Self::SingleSelect => "singleSelect",
        }
    }

    /// The MCP tool suffix (`single_select`, `datetime_range`, …).
    #[must_use]
    pub fn tool_name(self) -> &'static str {
        match self {
            Self::Currency => "currency",
            Self::Date => "date",
            Self::DateRange => "date_range",
            Self::DateTime => "datetime",
            Self::DateTimeRange => "datetime_range",
            Self::Email => "email",
            Self::Plain => "plain",
            Self::Link => "link",
            Self::Phone => "phone",
            Self::SingleSelect => "single_select",
        }
    }

    /// Filter operators allowed on a column of this type.
    #[must_use]
    pub fn operators(self) -> &'static [&'static str] {
        match self {
            Self::SingleSelect => &["in", "notIn", "isNull", "isNotNull"],
            Self::Currency => &["equals", "gt", "gte", "lt", "lte", "isNull", "isNotNull"],
            Self::Date | Self::DateTime => &["gt", "gte", "lt", "lte", "between", "isNull", "isNotNull"],
            Self::DateRange | Self::DateTimeRange => {
                &["contains", "gt", "gte", "lt", "lte", "between", "isNull", "isNotNull"]
            }
            Self::Plain | Self::Email | Self::Phone | Self::Link => &["equals", "contains", "isNull", "isNotNull"],
        }
    }
}

/// Chip colours of select options and list columns.
pub const CHIP_COLORS: [&str; 6] = ["default", "secondary", "destructive", "success", "warning", "info"];
/// Date display formats.
pub const DISPLAY_FORMATS: [&str; 5] = [
    "numericalLong",
    "numericalShort",
    "descriptiveShort",
    "descriptiveLong",
    "relative",
];
/// Supported currencies.
pub const CURRENCIES: [&str; 27] = [
    "eur", "usd", "gbp", "jpy", "cny", "inr", "brl", "cad", "aud", "chf", "sek", "nok", "dkk", "pln", "czk", "huf",
    "try", "twd", "zar", "mxn", "krw", "hkd", "sgd", "nzd", "aed", "sar", "ils",
];

/// A custom column.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Column {
    /// Column id (UUID).
    #[serde(alias = "uid")]
    pub id: String,
    /// Display label.
    pub label: String,
    /// The entity whose records carry it.
    pub entity_type: Entity,
    /// The value type.
    #[serde(rename = "type")]
    pub kind: ColumnType,
    /// Type-specific options.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub options: Option<Value>,
}

impl Column {
    /// `Label (id)` for messages.
    #[must_use]
    pub fn describe(&self) -> String {
        format!("{} ({})", self.label, self.id)
    }

    fn allow_multiple(&self) -> bool {
        self.options
            .as_ref()
            .and_then(|o| o.get("allowMultiple"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// The single-select options as (value, label).
    #[must_use]
    pub fn select_options(&self) -> Vec<(String, String)> {
        self.option_items()
            .iter()
            .filter_map(|o| {
                Some((
                    o.get("value")?.as_str()?.to_owned(),
                    o.get("label")?.as_str()?.to_owned(),
                ))
            })
            .collect()
    }

    /// The single-select options as stored (none for other types).
    fn option_items(&self) -> &[Value] {
        self.options
            .as_ref()
            .and_then(|o| o.get("options"))
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// A single-select column's options in their order, as `{value: rank}`: by `index`, then by their place in
    /// the list (what a sort by the column follows: `Lead`, `Customer`, `Lost` as the column lists them, not the
    /// order of their ids).
    #[must_use]
    pub fn option_ranks(&self) -> serde_json::Map<String, Value> {
        let mut options: Vec<(u64, usize, String)> = self
            .option_items()
            .iter()
            .enumerate()
            .filter_map(|(place, o)| {
                let value = o.get("value")?.as_str()?.to_owned();
                let index = o.get("index").and_then(Value::as_u64).unwrap_or(u64::MAX);
                Some((index, place, value))
            })
            .collect();
        options.sort();
        options
            .into_iter()
            .enumerate()
            .map(|(rank, (_, _, value))| (value, Value::from(rank)))
            .collect()
    }

    /// The default single-select option, if any (the first flagged one).
    #[must_use]
    pub fn default_option(&self) -> Option<String> {
        self.option_items()
            .iter()
            .find(|o| o.get("isDefault").and_then(Value::as_bool) == Some(true))
            .and_then(|o| o.get("value")?.as_str().map(str::to_owned))
    }

    /// Checks a value for this column and returns its stored form; the error is the reference's message.
    pub fn check_value(&self, raw: &str) -> Result<String, String> {
        let value = raw.trim();
        // Every change event carries the record's values (twice for a changed one): an unbounded value made
        // one page of events tens of megabytes.
        if value.chars().count() > MAX_VALUE {
            return Err(format!("The value is longer than {MAX_VALUE} characters."));
        }
        let parts = |v: &str| -> Vec<String> {
            if self.allow_multiple() {
                // Every part is checked: an empty one (`a@b.example,`) is not a value.
                v.split(',').map(|p| p.trim().to_owned()).collect()
            } else {
                vec![v.to_owned()]
            }
        };
        if self.kind == ColumnType::Link && !self.allow_multiple() && several_links(value) {
            return Err("The URL value holds several URLs, and this column takes one (allowMultiple is off).".into());
        }
        let ok = match self.kind {
            ColumnType::Plain => true,
            ColumnType::Email => parts(value).iter().all(|p| crate::domain::user::is_email(p)),
            ColumnType::Phone => parts(value).iter().all(|p| is_e164(p)),
            ColumnType::Link => parts(value).iter().all(|p| is_link(p)),
            ColumnType::Currency => value.parse::<f64>().is_ok_and(f64::is_finite),
            ColumnType::SingleSelect => self.select_options().iter().any(|(v, _)| v == value),
            ColumnType::Date => is_date(value) || is_datetime(value),
            ColumnType::DateTime => is_datetime(value),
            ColumnType::DateRange => range(value, |p| is_date(p) || is_datetime(p)),
            ColumnType::DateTimeRange => range(value, is_datetime),
        };
        if !ok {
            return Err(self.invalid_message());
        }
        // Date-like values are stored in one canonical form so that text order is time order.
        Ok(match self.kind {
            ColumnType::Date | ColumnType::DateTime => canonical(value),
            ColumnType::DateRange | ColumnType::DateTimeRange => value
                .split(',')
                .map(|p| canonical(p.trim()))
                .collect::<Vec<_>>()
                .join(","),
            _ => value.to_owned(),
        })
    }

    /// The reference's message for an invalid value of this column.
    #[must_use]
    pub fn invalid_message(&self) -> String {
        match self.kind {
            ColumnType::Plain => String::new(),
            ColumnType::Email => "The email value is invalid. Must be a valid email address format (e.g., user@example.com). For multiple emails, separate by comma (e.g., user1@example.com, user2@example.com).".into(),
            ColumnType::Phone => "The phone value is invalid. Must be in E.164 format (e.g., +491234567890). For multiple phone numbers, separate by comma (e.g., +491234567890, +499876543210).".into(),
            ColumnType::Link => "The URL value is invalid. Must be a valid URL format (e.g., https://example.com). For multiple URLs, separate by comma (e.g., https://example.com, https://example.org).".into(),
            ColumnType::Currency => "The currency value is invalid. Must be a valid number.".into(),
            ColumnType::SingleSelect => {
                let options: Vec<String> = self.select_options().iter().map(|(v, l)| format!("{l} ({v})")).collect();
                format!("The single select value is invalid. Must be one of the allowed options: {}.", options.join(", "))
            }
            ColumnType::Date => "The date value is invalid. Must be in ISO 8601 date format (e.g., 2024-01-15) or ISO 8601 datetime format (e.g., 2024-01-15T00:00:00Z).".into(),
            ColumnType::DateTime => "The date-time value is invalid. Must be in ISO 8601 datetime format with time (e.g., 2024-01-15T10:30:00Z).".into(),
            ColumnType::DateRange => "The date range is invalid. Must be two ISO 8601 dates separated by a comma, with start on or before end (e.g., 2024-01-15,2024-01-22).".into(),
            ColumnType::DateTimeRange => "The date-time range is invalid. Must be two ISO 8601 datetimes separated by a comma, with start on or before end (e.g., 2024-01-15T09:00:00Z,2024-01-15T17:00:00Z).".into(),
        }
    }
}

/// A custom column id as stored (a lowercase, hyphenated UUID) when `raw` is a UUID in any form the `uuid` crate
/// reads (upper case, without hyphens, braced), else `raw` unchanged: a column is found by the same id in a path, a
/// filter, a sort and a custom value.
#[must_use]
pub fn column_key(raw: &str) -> std::borrow::Cow<'_, str> {
    match uuid::Uuid::parse_str(raw) {
        Ok(id) if id.to_string() != raw => std::borrow::Cow::Owned(id.to_string()),
        _ => std::borrow::Cow::Borrowed(raw),
    }
}

/// The single-select defaults of an entity's columns, as `(column id, option id)`: what a new record gets when
/// its input leaves those columns unset.
#[must_use]
pub fn defaults(columns: &[Column], entity: Entity) -> Vec<(String, String)> {
    columns
        .iter()
        .filter(|c| c.entity_type == entity && c.kind == ColumnType::SingleSelect)
        .filter_map(|c| c.default_option().map(|d| (c.id.clone(), d)))
        .collect()
}

/// `+` then 7–15 digits.
#[must_use]
pub fn is_e164(text: &str) -> bool {
    text.strip_prefix('+')
        .is_some_and(|d| (7..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether a link value reads as several URLs: two or more comma-separated parts, each a URL. In a column that takes
/// several that is a list; in one that takes one it is refused rather than stored as one URL (a URL may hold a
/// comma, `https://example.com/a,b`, so a comma alone does not make a list).
#[must_use]
pub fn several_links(text: &str) -> bool {
    let (count, all) = text
        .split(',')
        .map(str::trim)
        .fold((0, true), |(n, all), p| (n + 1, all && is_link(p)));
    count > 1 && all
}

/// A URL with protocol http, https, mailto or tel.
#[must_use]
pub fn is_link(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https" | "mailto" | "tel") && (u.scheme().starts_with("http") == u.has_host())
    })
}

/// `YYYY-MM-DD`.
#[must_use]
pub fn is_date(text: &str) -> bool {
    // The shape first: chrono alone also reads `2024- 1-01` and `+999-01-01`, which the database cannot.
    let shape = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    shape && NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
}

/// An RFC 3339 datetime in UTC, ending in `Z` (seconds optional).
#[must_use]
pub fn is_datetime(text: &str) -> bool {
    // No leap second (`23:59:60Z`): chrono reads it, the database's datetimes do not.
    text.ends_with('Z') && instant(text).is_some_and(|t| t.timestamp_subsec_nanos() < 1_000_000_000)
}

/// A date stays `YYYY-MM-DD`; a datetime becomes RFC 3339 UTC with `Z` and seconds.
fn canonical(text: &str) -> String {
    if is_date(text) {
        return text.to_owned();
    }
    instant(text).map_or_else(
        || text.to_owned(),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
    )
}

/// The instant a date or datetime text stands for (dates at midnight UTC), for comparisons.
#[must_use]
pub fn instant(text: &str) -> Option<DateTime<chrono::Utc>> {
    if is_date(text) {
        return NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc());
    }
    let full = if text.len() == 17 {
        format!("{}:00Z", &text[..16])
    } else {
        text.to_owned()
    };
    DateTime::parse_from_rfc3339(&full)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

fn range(text: &str, part: impl Fn(&str) -> bool) -> bool {
    let pieces: Vec<&str> = text.split(',').map(str::trim).collect();
    match pieces.as_slice() {
        [start, end] if part(start) && part(end) => instant(start) <= instant(end),
        _ => false,
    }
}

/// A column to create, before checking.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewColumn {
    /// The entity whose records carry it.
    pub entity_type: Entity,
    /// The value type (immutable).
    #[serde(rename = "type")]
    pub kind: ColumnType,
    /// Display label (1–100 characters).
    pub label: String,
    /// Type-specific options: date types `{displayFormat?}`; currency `{currency}`; link/email/phone
    /// `{color, allowMultiple}`; singleSelect `{options: [{label, color, isDefault, index, value?}]}`.
    #[schema(value_type = Option<Object>)]
    pub options: Option<Value>,
}

/// Changes to a column: label and options (type and entity type are fixed).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ColumnChange {
    /// New label.
    pub label: Option<String>,
    /// New options (for singleSelect they replace the list; options without `value` are new).
    #[schema(value_type = Option<Object>)]
    pub options: Option<Value>,
}

/// Checks a label.
pub fn check_label(label: &str) -> Result<String, String> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 100 {
        return Err("must be 1 to 100 characters".into());
    }
    Ok(label.to_owned())
}

/// Checks and normalises the options of a column type; `previous` are the stored options (single-select
/// option values are kept when given, new options get fresh ids). Errors are (path under `options`, message).
pub fn check_options(
    kind: ColumnType,
    options: Option<&Value>,
    previous: Option<&Value>,
) -> Result<Option<Value>, (String, String)> {
    let bad = |path: &str, message: &str| Err((path.to_owned(), message.to_owned()));
    let one_of = |v: Option<&Value>, allowed: &[&str]| v.and_then(Value::as_str).is_some_and(|s| allowed.contains(&s));
    // A key no column of this type has is refused, not dropped (a misspelt `allowMultiple` would otherwise be lost).
    let keys: &[&str] = match kind {
        ColumnType::Plain => &[],
        ColumnType::Date | ColumnType::DateTime | ColumnType::DateRange | ColumnType::DateTimeRange => {
            &["displayFormat"]
        }
        ColumnType::Currency => &["currency"],
        ColumnType::Link | ColumnType::Email | ColumnType::Phone => &["color", "allowMultiple"],
        ColumnType::SingleSelect => &["options"],
    };
    if let Some(Value::Object(map)) = options
        && let Some(unknown) = map.keys().find(|k| !keys.contains(&k.as_str()))
        && kind != ColumnType::Plain
    {
        return bad(
            &format!("options.{unknown}"),
            &format!(
                "is not an option of {} columns (they take: {})",
                kind.as_str(),
                keys.join(", ")
            ),
        );
    }
    match kind {
        ColumnType::Plain => match options {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) if map.is_empty() => Ok(None),
            Some(_) => bad("options", "plain columns take no options"),
        },
        ColumnType::Date | ColumnType::DateTime | ColumnType::DateRange | ColumnType::DateTimeRange => match options {
            None | Some(Value::Null) => Ok(previous.cloned()),
            Some(Value::Object(map)) => match map.get("displayFormat") {
                None | Some(Value::Null) => Ok(previous.cloned()),
                Some(format) if one_of(Some(format), &DISPLAY_FORMATS) => Ok(Some(json!({"displayFormat": format}))),
                Some(_) => bad(
                    "options.displayFormat",
                    &format!("must be one of: {}", DISPLAY_FORMATS.join(", ")),
                ),
            },
            Some(_) => bad("options", "must be an object"),
        },
        ColumnType::Currency => {
            let currency = options.and_then(|o| o.get("currency"));
            if one_of(currency, &CURRENCIES) {
                Ok(Some(json!({"currency": currency})))
            } else {
                bad(
                    "options.currency",
                    &format!("must be one of: {}", CURRENCIES.join(", ")),
                )
            }
        }
        ColumnType::Link | ColumnType::Email | ColumnType::Phone => {
            let color = options.and_then(|o| o.get("color"));
            let multiple = options.and_then(|o| o.get("allowMultiple"));
            if !one_of(color, &CHIP_COLORS) {
                return bad("options.color", &format!("must be one of: {}", CHIP_COLORS.join(", ")));
            }
            let Some(Value::Bool(multiple)) = multiple else {
                return bad("options.allowMultiple", "must be true or false");
            };
            Ok(Some(json!({"color": color, "allowMultiple": multiple})))
        }
        ColumnType::SingleSelect => check_select_options(options, previous),
    }
}

/// The longest custom value, in characters.
pub const MAX_VALUE: usize = 10_000;

/// The most options of a single-select column.
const MAX_OPTIONS: usize = 1_000;

fn check_select_options(options: Option<&Value>, previous: Option<&Value>) -> Result<Option<Value>, (String, String)> {
    let items = options.and_then(|o| o.get("options")).and_then(Value::as_array);
    let Some(items) = items.filter(|i| !i.is_empty()) else {
        return Err(("options.options".into(), "must hold at least one option".into()));
    };
    if items.len() > MAX_OPTIONS {
        return Err((
            "options.options".into(),
            format!("must hold at most {MAX_OPTIONS} options ({} given)", items.len()),
        ));
    }
    let known: Vec<&str> = previous
        .and_then(|p| p.get("options"))
        .and_then(Value::as_array)
        .map(|o| o.iter().filter_map(|x| x.get("value")?.as_str()).collect())
        .unwrap_or_default();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = |f: &str| format!("options.options[{i}].{f}");
        let Some(fields) = item.as_object() else {
            return Err((
                format!("options.options[{i}]"),
                "must be an object {label, color, isDefault, index, value}".into(),
            ));
        };
        if let Some(unknown) = fields
            .keys()
            .find(|k| !matches!(k.as_str(), "label" | "color" | "isDefault" | "index" | "value"))
        {
            return Err((
                at(unknown),
                "is not a property of an option (label, color, isDefault, index, value)".into(),
            ));
        }
        let label = match item.get("label") {
            Some(Value::String(label)) => label.trim(),
            _ => return Err((at("label"), "must be a text of 1 to 100 characters".into())),
        };
        if label.is_empty() || label.chars().count() > 100 {
            return Err((at("label"), "must be a text of 1 to 100 characters".into()));
        }
        // An absent (or null) property takes its default; one of the wrong type is an error, not the default.
        let given = |f: &str| item.get(f).filter(|v| !v.is_null());
        let color = match given("color") {
            None => "default",
            Some(Value::String(c)) if CHIP_COLORS.contains(&c.as_str()) => c.as_str(),
            Some(_) => return Err((at("color"), format!("must be one of: {}", CHIP_COLORS.join(", ")))),
        };
        let value = match given("value") {
            Some(Value::String(v)) if known.contains(&v.as_str()) => v.clone(),
            Some(v) => {
                return Err((
                    at("value"),
                    format!("{v} is not an option of this column; omit `value` to add a new option"),
                ));
            }
            None => uuid::Uuid::new_v4().to_string(),
        };
        if out.iter().any(|o: &Value| o["value"] == value.as_str()) {
            return Err((at("value"), "is the value of another option".into()));
        }
        let is_default = match given("isDefault") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err((at("isDefault"), "must be true or false".into())),
        };
        if is_default && out.iter().any(|o: &Value| o["isDefault"] == Value::Bool(true)) {
            return Err((at("isDefault"), "only one option can be the default".into()));
        }
        let index = match given("index") {
            None => i as u64,
            Some(n) => n
                .as_u64()
                .ok_or_else(|| (at("index"), "must be a whole number, 0 or more".to_owned()))?,
        };
        out.push(json!({"value": value, "label": label, "color": color, "isDefault": is_default, "index": index}));
    }
    Ok(Some(json!({"options": out})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(kind: ColumnType, options: Option<Value>) -> Column {
        Column {
            id: "c".into(),
            label: "L".into(),
            entity_type: Entity::Contact,
            kind,
            options,
        }
    }

    #[test]
    fn each_type_accepts_and_rejects_the_right_values() {
        let multi = Some(json!({"color": "info", "allowMultiple": true}));
        let single = Some(json!({"color": "info", "allowMultiple": false}));
        let select = Some(json!({"options": [{"value": "v1", "label": "One"}]}));
        let (longest, too_long) = ("x".repeat(MAX_VALUE), "x".repeat(MAX_VALUE + 1));
        let cases: Vec<(ColumnType, Option<Value>, &str, bool)> = vec![
            (ColumnType::Plain, None, "anything", true),
            (ColumnType::Email, single.clone(), "a@b.example", true),
            (ColumnType::Email, single.clone(), "a@b.example, c@d.example", false),
            (ColumnType::Email, multi.clone(), "a@b.example, c@d.example", true),
            (ColumnType::Email, multi.clone(), "a@b.example,", false),
            (ColumnType::Plain, None, longest.as_str(), true),
            (ColumnType::Plain, None, too_long.as_str(), false),
            (ColumnType::Phone, multi.clone(), "+491234567890,,+491234567891", false),
            (ColumnType::Phone, multi.clone(), ",", false),
            (ColumnType::Phone, single.clone(), "+491234567890", true),
            (ColumnType::Phone, single.clone(), "0049123", false),
            (ColumnType::Link, single.clone(), "https://example.com", true),
            (ColumnType::Link, single.clone(), "mailto:a@b.example", true),
            (ColumnType::Link, single.clone(), "ftp://example.com", false),
            (ColumnType::Link, multi, "https://a.example, tel:+4912345", true),
            (ColumnType::Currency, None, "-12.5", true),
            (ColumnType::Currency, None, "12,5", false),
            (ColumnType::SingleSelect, select.clone(), "v1", true),
            (ColumnType::SingleSelect, select, "v2", false),
            (ColumnType::Date, None, "2024-01-15", true),
            (ColumnType::Date, None, "2024-01-15T10:00:00Z", true),
            (ColumnType::Date, None, "15.01.2024", false),
            (ColumnType::DateTime, None, "2024-01-15T10:30:00Z", true),
            (ColumnType::DateTime, None, "2024-01-15T10:30:00+02:00", false),
            (ColumnType::DateTime, None, "2024-01-15", false),
            (ColumnType::DateRange, None, "2024-01-15,2024-01-22", true),
            (ColumnType::DateRange, None, "2024-01-22,2024-01-15", false),
            (ColumnType::DateRange, None, "2024-01-22", false),
            (
                ColumnType::DateTimeRange,
                None,
                "2024-01-15T09:00:00Z,2024-01-15T17:00:00Z",
                true,
            ),
            (ColumnType::DateTimeRange, None, "2024-01-15,2024-01-16", false),
        ];
        for (kind, options, value, ok) in cases {
            assert_eq!(
                column(kind, options).check_value(value).is_ok(),
                ok,
                "{kind:?} {value:?}"
            );
        }
        let _ = single;
    }

    #[test]
    fn select_options_get_ids_and_keep_known_ones() {
        let created = check_options(
            ColumnType::SingleSelect,
            Some(&json!({"options": [{"label": "New", "isDefault": true}]})),
            None,
        )
        .unwrap()
        .unwrap();
        let value = created["options"][0]["value"].as_str().unwrap().to_owned();
        let updated = check_options(
            ColumnType::SingleSelect,
            Some(&json!({"options": [{"label": "Renamed", "value": value}, {"label": "Second"}]})),
            Some(&created),
        )
        .unwrap()
        .unwrap();
        assert_eq!(updated["options"][0]["value"], value.as_str());
        assert_ne!(updated["options"][1]["value"], value.as_str());
        assert!(
            check_options(
                ColumnType::SingleSelect,
                Some(&json!({"options": [{"label": "X", "value": "forged"}]})),
                Some(&created)
            )
            .is_err()
        );
    }

    #[test]
    fn options_are_checked_per_type() {
        assert!(check_options(ColumnType::Currency, Some(&json!({"currency": "eur"})), None).is_ok());
        assert!(check_options(ColumnType::Currency, Some(&json!({"currency": "xyz"})), None).is_err());
        assert!(check_options(ColumnType::Email, Some(&json!({"color": "info"})), None).is_err());
        assert!(check_options(ColumnType::Plain, Some(&json!({"x": 1})), None).is_err());
        assert!(check_options(ColumnType::Date, Some(&json!({"displayFormat": "relative"})), None).is_ok());
    }

    /// A select option's property of the wrong type is an error at its path, not silently its default.
    #[test]
    fn select_option_properties_of_the_wrong_type_are_refused() {
        let select = |option: Value| check_options(ColumnType::SingleSelect, Some(&json!({"options": [option]})), None);
        let defaults = select(json!({"label": "A", "color": null, "isDefault": null, "index": null}))
            .unwrap()
            .unwrap();
        let option = &defaults["options"][0];
        assert_eq!(
            (&option["color"], &option["isDefault"], &option["index"]),
            (&json!("default"), &json!(false), &json!(0)),
            "{option}"
        );
        for (option, path) in [
            (json!({"label": "A", "color": {"x": 1}}), "options.options[0].color"),
            (
                json!({"label": "A", "isDefault": "zzz"}),
                "options.options[0].isDefault",
            ),
            (json!({"label": "A", "index": [1]}), "options.options[0].index"),
            (json!({"label": "A", "index": -1}), "options.options[0].index"),
            (json!({"label": "A", "value": 5}), "options.options[0].value"),
            (json!({"label": "A", "colour": "red"}), "options.options[0].colour"),
            (json!({"label": 5}), "options.options[0].label"),
            (json!({"label": "x".repeat(101)}), "options.options[0].label"),
            (json!("A"), "options.options[0]"),
        ] {
            assert_eq!(select(option.clone()).unwrap_err().0, path, "{option}");
        }
        let created = check_options(
            ColumnType::SingleSelect,
            Some(&json!({"options": [{"label": "A"}]})),
            None,
        )
        .unwrap()
        .unwrap();
        let value = created["options"][0]["value"].clone();
        let twice = json!({"options": [{"label": "A", "value": value}, {"label": "B", "value": value}]});
        let error = check_options(ColumnType::SingleSelect, Some(&twice), Some(&created)).unwrap_err();
        assert_eq!(error.0, "options.options[1].value");
        let two_defaults = json!({"options": [{"label": "A", "isDefault": true}, {"label": "B", "isDefault": true}]});
        let error = check_options(ColumnType::SingleSelect, Some(&two_defaults), None).unwrap_err();
        assert_eq!(error.0, "options.options[1].isDefault");
        let many: Vec<Value> = (0..=MAX_OPTIONS).map(|i| json!({"label": format!("o{i}")})).collect();
        let error = check_options(ColumnType::SingleSelect, Some(&json!({"options": many})), None).unwrap_err();
        assert_eq!(error.0, "options.options");
    }
}
