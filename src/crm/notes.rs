//! Notes: stored as markdown. Input is markdown, or a Tiptap (ProseMirror) JSON document — as an object or as
//! a string holding one — which is converted to markdown by emitting CommonMark events and letting
//! `pulldown-cmark-to-cmark` write them (it knows the escaping rules).

use pulldown_cmark::{CodeBlockKind, CowStr, Event, HeadingLevel, LinkType, Tag, TagEnd};
use serde_json::Value;

/// Longest markdown accepted, in characters.
pub const MAX_MARKDOWN: usize = 65_535;
/// Longest Tiptap JSON accepted, in characters of its serialisation.
pub const MAX_JSON: usize = 262_144;

/// The reference's message for a document that is not valid Tiptap JSON.
pub const INVALID: &str = "Invalid notes format. Must be valid Tiptap JSON or markdown text";
/// The reference's message for oversized notes.
pub const TOO_LONG: &str = "Notes content exceeds maximum length";

/// Normalises a notes value: `null` → cleared (`None`), a string → markdown (or a JSON document inside it),
/// an object → a Tiptap document. Blank text also clears.
pub fn parse(value: &Value) -> Result<Option<String>, &'static str> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => {
            let trimmed = text.trim();
            if trimmed.starts_with('{') {
                match serde_json::from_str::<Value>(trimmed) {
                    Ok(doc @ Value::Object(_)) if doc.get("type").and_then(Value::as_str) == Some("doc") => {
                        return from_tiptap(&doc);
                    }
                    // A document nested deeper than the JSON reader goes (128 levels) is refused, as the same
                    // document sent as an object is, rather than kept as its JSON text.
                    Err(error) if error.to_string().contains("recursion limit") && trimmed.contains("\"doc\"") => {
                        return Err(INVALID);
                    }
                    _ => {}
                }
            }
            if trimmed.is_empty() {
                return Ok(None);
            }
            if text.chars().count() > MAX_MARKDOWN {
                return Err(TOO_LONG);
            }
            Ok(Some(text.clone()))
        }
        Value::Object(_) => from_tiptap(value),
        _ => Err(INVALID),
    }
}

/// Converts a Tiptap document to markdown.
pub fn from_tiptap(doc: &Value) -> Result<Option<String>, &'static str> {
    if serde_json::to_string(doc).map_or(usize::MAX, |s| s.chars().count()) > MAX_JSON {
        return Err(TOO_LONG);
    }
    if doc.get("type").and_then(Value::as_str) != Some("doc") {
        return Err(INVALID);
    }
    let mut events = Vec::new();
    for node in children(doc)? {
        block(node, &mut events)?;
    }
    let mut out = String::new();
    let options = pulldown_cmark::Options::ENABLE_STRIKETHROUGH | pulldown_cmark::Options::ENABLE_TASKLISTS;
    pulldown_cmark_to_cmark::cmark(events, &mut out, options).map_err(|_| INVALID)?;
    let out = out.trim().to_owned();
    if out.chars().count() > MAX_MARKDOWN {
        return Err(TOO_LONG);
    }
    Ok(if out.is_empty() { None } else { Some(out) })
}

fn children(node: &Value) -> Result<&[Value], &'static str> {
    match node.get("content") {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(INVALID),
    }
}

fn kind(node: &Value) -> Result<&str, &'static str> {
    node.get("type").and_then(Value::as_str).ok_or(INVALID)
}

fn attr<'a>(node: &'a Value, name: &str) -> Option<&'a Value> {
    node.get("attrs").and_then(|a| a.get(name)).filter(|v| !v.is_null())
}

fn wrap<'a>(
    tag: Tag<'a>,
    end: TagEnd,
    node: &'a Value,
    events: &mut Vec<Event<'a>>,
    inner: Inner,
) -> Result<(), &'static str> {
    events.push(Event::Start(tag));
    for child in children(node)? {
        match inner {
            Inner::Blocks => block(child, events)?,
            Inner::Inline => inline(child, events)?,
        }
    }
    if let Inner::Inline = inner {
        drop_trailing_space(events);
    }
    events.push(Event::End(end));
    Ok(())
}

/// Removes the whitespace-only texts that end a line: markdown drops them anyway, and the writer fails on one that
/// follows a closing mark (`**here** ` at the end of a paragraph).
fn drop_trailing_space(events: &mut Vec<Event<'_>>) {
    while let Some(Event::Text(text)) = events.last()
        && text.trim().is_empty()
    {
        events.pop();
    }
}

/// Whether the next inline event starts a line (of a paragraph, heading or item, or after a hard break).
fn at_line_start(events: &[Event<'_>]) -> bool {
    matches!(
        events.last(),
        None | Some(
            Event::Start(Tag::Paragraph | Tag::Heading { .. } | Tag::Item)
                | Event::HardBreak
                | Event::TaskListMarker(_)
        )
    )
}

#[derive(Clone, Copy)]
enum Inner {
    Blocks,
    Inline,
}

fn block<'a>(node: &'a Value, events: &mut Vec<Event<'a>>) -> Result<(), &'static str> {
    match kind(node)? {
        "paragraph" => wrap(Tag::Paragraph, TagEnd::Paragraph, node, events, Inner::Inline),
        "heading" => {
            // A number or a numeric string, taken to the nearest of 1–6; none is 1.
            let level = attr(node, "level")
                .and_then(|v| match v {
                    Value::String(s) => s.trim().parse::<f64>().ok(),
                    other => other.as_f64(),
                })
                .filter(|l| !l.is_nan())
                .map_or(1.0, |l| l.round().clamp(1.0, 6.0));
            let level = HeadingLevel::try_from(level as usize).unwrap_or(HeadingLevel::H1);
            let tag = Tag::Heading {
                level,
                id: None,
                classes: Vec::new(),
                attrs: Vec::new(),
            };
            wrap(tag, TagEnd::Heading(level), node, events, Inner::Inline)
        }
        "blockquote" => wrap(
            Tag::BlockQuote(None),
            TagEnd::BlockQuote(None),
            node,
            events,
            Inner::Blocks,
        ),
        "bulletList" | "taskList" => wrap(Tag::List(None), TagEnd::List(false), node, events, Inner::Blocks),
        "orderedList" => {
            let start = attr(node, "start").and_then(Value::as_u64).unwrap_or(1);
            wrap(Tag::List(Some(start)), TagEnd::List(true), node, events, Inner::Blocks)
        }
        "listItem" | "taskItem" => {
            events.push(Event::Start(Tag::Item));
            if kind(node)? == "taskItem" {
                events.push(Event::TaskListMarker(
                    attr(node, "checked").and_then(Value::as_bool).unwrap_or(false),
                ));
            }
            // Items are written tight: a paragraph's text goes straight into the item.
            let mut first = true;
            for child in children(node)? {
                if kind(child)? == "paragraph" {
                    if !first {
                        events.push(Event::HardBreak);
                    }
                    for text in children(child)? {
                        inline(text, events)?;
                    }
                    drop_trailing_space(events);
                } else {
                    block(child, events)?;
                }
                first = false;
            }
            events.push(Event::End(TagEnd::Item));
            Ok(())
        }
        "codeBlock" => {
            let language = attr(node, "language").and_then(Value::as_str).unwrap_or_default();
            events.push(Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(CowStr::from(
                language,
            )))));
            let mut text = String::new();
            for child in children(node)? {
                text.push_str(child.get("text").and_then(Value::as_str).ok_or(INVALID)?);
            }
            if !text.ends_with('\n') {
                text.push('\n');
            }
            events.push(Event::Text(CowStr::from(text)));
            events.push(Event::End(TagEnd::CodeBlock));
            Ok(())
        }
        "horizontalRule" => {
            events.push(Event::Rule);
            Ok(())
        }
        _ => Err(INVALID),
    }
}

fn inline<'a>(node: &'a Value, events: &mut Vec<Event<'a>>) -> Result<(), &'static str> {
    match kind(node)? {
        "hardBreak" => {
            drop_trailing_space(events);
            events.push(Event::HardBreak);
            Ok(())
        }
        "text" => {
            let text = node.get("text").and_then(Value::as_str).ok_or(INVALID)?;
            let marks = match node.get("marks") {
                None | Some(Value::Null) => &[][..],
                Some(Value::Array(marks)) => marks.as_slice(),
                Some(_) => return Err(INVALID),
            };
            let mut tags = Vec::new();
            let mut code = false;
            for mark in marks {
                match kind(mark)? {
                    "bold" => tags.push((Tag::Strong, TagEnd::Strong)),
                    "italic" => tags.push((Tag::Emphasis, TagEnd::Emphasis)),
                    "strike" => tags.push((Tag::Strikethrough, TagEnd::Strikethrough)),
                    "link" => {
                        let href = attr(mark, "href").and_then(Value::as_str).unwrap_or_default();
                        let tag = Tag::Link {
                            link_type: LinkType::Inline,
                            dest_url: CowStr::from(href),
                            title: CowStr::from(""),
                            id: CowStr::from(""),
                        };
                        tags.push((tag, TagEnd::Link));
                    }
                    "code" => code = true,
                    "underline" | "textStyle" | "highlight" => {}
                    _ => return Err(INVALID),
                }
            }
            let piece = |text: &'a str| {
                if code {
                    Event::Code(CowStr::from(text))
                } else {
                    Event::Text(CowStr::from(text))
                }
            };
            if tags.is_empty() {
                events.push(piece(text));
                return Ok(());
            }
            // Whitespace at the edges of a marked text goes outside its marks, as Tiptap's own markdown writer does:
            // `**world **` is not emphasis in CommonMark, and the writer could only escape its way around it
            // (`Hell&#111;**&#32;world**`). Whitespace alone loses its marks; at the start of a line, where the
            // writer would keep it as `&#32;`, it is dropped.
            let core = text.trim();
            let start = text.len() - text.trim_start().len();
            let (before, after) = if core.is_empty() {
                (text, "")
            } else {
                (&text[..start], &text[start + core.len()..])
            };
            if !before.is_empty() && !at_line_start(events) {
                events.push(Event::Text(CowStr::from(before)));
            }
            if core.is_empty() {
                return Ok(());
            }
            let mut closing = Vec::with_capacity(tags.len());
            for (tag, end) in tags {
                events.push(Event::Start(tag));
                closing.push(end);
            }
            events.push(piece(core));
            events.extend(closing.into_iter().rev().map(Event::End));
            if !after.is_empty() {
                events.push(Event::Text(CowStr::from(after)));
            }
            Ok(())
        }
        _ => Err(INVALID),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc(content: Value) -> Value {
        json!({"type": "doc", "content": content})
    }

    #[test]
    fn markdown_is_kept_and_blank_clears() {
        assert_eq!(parse(&json!("**hi**")).unwrap().as_deref(), Some("**hi**"));
        assert_eq!(parse(&json!("   ")).unwrap(), None);
        assert_eq!(parse(&Value::Null).unwrap(), None);
        assert_eq!(parse(&json!("x".repeat(MAX_MARKDOWN + 1))).unwrap_err(), TOO_LONG);
    }

    #[test]
    fn a_tiptap_document_becomes_markdown() {
        let document = doc(json!([
            {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Plan"}]},
            {"type": "paragraph", "content": [
                {"type": "text", "text": "Call "},
                {"type": "text", "text": "Ada", "marks": [{"type": "bold"}]},
                {"type": "text", "text": " at "},
                {"type": "text", "text": "site", "marks": [{"type": "link", "attrs": {"href": "https://a.example"}}]}
            ]},
            {"type": "bulletList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "one"}]}]}
            ]},
            {"type": "codeBlock", "attrs": {"language": "sh"}, "content": [{"type": "text", "text": "ls"}]}
        ]));
        let markdown = parse(&document).unwrap().unwrap();
        assert!(markdown.contains("## Plan"), "{markdown}");
        assert!(
            markdown.contains("Call **Ada** at [site](https://a.example)"),
            "{markdown}"
        );
        assert!(markdown.contains("* one"), "{markdown}");
        assert!(markdown.contains("```sh\nls\n```"), "{markdown}");
    }

    /// Tiptap puts the spaces between words inside marked texts all the time (`Hello ` + bold `world ` + `!`).
    #[test]
    fn whitespace_at_the_edges_of_marks_goes_outside_them() {
        let text = |text: &str, marks: Value| json!({"type": "text", "text": text, "marks": marks});
        let bold = json!([{"type": "bold"}]);
        let italic = json!([{"type": "italic"}]);
        let cases = [
            (
                vec![
                    text("Hello ", json!(null)),
                    text("world ", bold.clone()),
                    text("!", json!(null)),
                ],
                "Hello **world** !",
            ),
            (
                vec![text("Hello", json!(null)), text(" world", bold.clone())],
                "Hello **world**",
            ),
            (
                vec![
                    text("end", bold.clone()),
                    text(" ", json!(null)),
                    json!({"type": "hardBreak"}),
                    text("next", json!(null)),
                ],
                "**end**  \nnext",
            ),
            (
                vec![
                    text("a", json!(null)),
                    text(" ", italic.clone()),
                    text("b", json!(null)),
                ],
                "a b",
            ),
            (
                vec![
                    text("see", json!(null)),
                    text("  here ", json!([{"type": "bold"}, {"type": "italic"}])),
                ],
                "see  **_here_**",
            ),
            (vec![text(" world", bold.clone())], "**world**"),
            (
                vec![
                    text("a", json!(null)),
                    json!({"type": "hardBreak"}),
                    text(" b", italic.clone()),
                ],
                "a  \n*b*",
            ),
        ];
        for (content, expected) in cases {
            let markdown = parse(&doc(json!([{"type": "paragraph", "content": content}]))).expect(expected);
            assert_eq!(markdown.as_deref(), Some(expected));
        }
    }

    /// A document's markdown has the limit of markdown sent as such.
    #[test]
    fn a_document_longer_than_the_markdown_limit_is_refused() {
        let long =
            doc(json!([{"type": "paragraph", "content": [{"type": "text", "text": "x".repeat(MAX_MARKDOWN + 1)}]}]));
        assert_eq!(parse(&long).unwrap_err(), TOO_LONG);
    }

    #[test]
    fn a_json_string_holding_a_document_is_treated_as_json() {
        let text = doc(json!([{"type": "paragraph", "content": [{"type": "text", "text": "a*b"}]}])).to_string();
        assert_eq!(parse(&json!(text)).unwrap().as_deref(), Some("a\\*b"));
    }

    /// A heading's level is a number or a numeric string, taken to the nearest of 1–6.
    #[test]
    fn heading_levels_are_taken_to_the_nearest() {
        for (level, hashes) in [
            (json!(0), "#"),
            (json!(2), "##"),
            (json!("3"), "###"),
            (json!(7), "######"),
            (json!(null), "#"),
        ] {
            let heading = doc(
                json!([{"type": "heading", "attrs": {"level": level}, "content": [{"type": "text", "text": "T"}]}]),
            );
            assert_eq!(parse(&heading).unwrap(), Some(format!("{hashes} T")), "{level}");
        }
    }

    /// A document string nested past the JSON reader's 128 levels is refused, not stored as its own JSON text
    /// (the same document as an object is refused when the request body is read).
    #[test]
    fn a_document_string_too_deep_to_read_is_refused() {
        let mut node = json!({"type": "paragraph", "content": [{"type": "text", "text": "deep"}]});
        for _ in 0..70 {
            node = json!({"type": "bulletList", "content": [{"type": "listItem", "content": [node]}]});
        }
        let text = doc(json!([node])).to_string();
        assert!(
            serde_json::from_str::<Value>(&text).is_err(),
            "deeper than the reader goes"
        );
        assert_eq!(parse(&json!(text)).unwrap_err(), INVALID);
        assert_eq!(
            parse(&json!("{ not json, just braces }")).unwrap().as_deref(),
            Some("{ not json, just braces }")
        );
    }

    #[test]
    fn unknown_nodes_and_shapes_are_rejected() {
        assert_eq!(parse(&doc(json!([{"type": "video"}]))).unwrap_err(), INVALID);
        let odd_mark =
            json!([{"type": "paragraph", "content": [{"type": "text", "text": " ", "marks": [{"type": "blink"}]}]}]);
        assert_eq!(parse(&doc(odd_mark)).unwrap_err(), INVALID);
        assert_eq!(parse(&json!({"type": "paragraph"})).unwrap_err(), INVALID);
        assert_eq!(parse(&json!(42)).unwrap_err(), INVALID);
        assert_eq!(parse(&doc(json!("nope"))).unwrap_err(), INVALID);
    }
}
