//! HTML building blocks of the console: escaping, the page frame, and the few controls every
//! page uses. Everything is text assembled here; every value that did not come from this
//! file goes through [`esc`].

use super::Session;
use serde_json::Value;
use std::fmt::Write;

/// `s` safe in HTML text and in double-quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `s` as one component of a URL's query (or path).
pub fn url(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The string at `path` (keys separated by `.`) of a JSON value, or "".
pub fn text<'a>(v: &'a Value, path: &str) -> &'a str {
    at(v, path).and_then(Value::as_str).unwrap_or("")
}

/// The value at `path`, if any.
pub fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, k| v.get(k))
}

/// The array at `path`, or an empty one.
pub fn list<'a>(v: &'a Value, path: &str) -> &'a [Value] {
    at(v, path)
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
}

/// A complete page: the frame (title, navigation with the sign-out button when signed in,
/// the flash message) around `body`.
pub fn page(title: &str, session: Option<&Session>, alert: Option<&Alert>, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 2048);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · eni console</title>\
         <link rel=\"stylesheet\" href=\"/console/assets/app.css\">\
         <script src=\"/console/assets/app.js\" defer></script></head><body>",
        esc(title)
    );
    out.push_str("<header><a class=\"brand\" href=\"/console/\">eni console</a>");
    if let Some(s) = session {
        let _ = write!(
            out,
            "<nav aria-label=\"Main\"><a href=\"/console/enis\">Network interfaces</a>\
             <a href=\"/console/instances\">Instances</a><a href=\"/console/vpcs\">VPCs</a></nav>\
             <form method=\"post\" action=\"/console/logout\" class=\"signout\">{}\
             <span class=\"who\">{}</span><button type=\"submit\">Sign out</button></form>",
            csrf_field(s),
            esc(&s.access_key_id)
        );
    }
    out.push_str("</header><main id=\"main\">");
    if let Some(a) = alert {
        out.push_str(&a.html());
    }
    out.push_str(body);
    out.push_str("</main></body></html>");
    out
}

/// A message at the top of a page: an API refusal (its code and message).
#[derive(Debug, Clone)]
pub enum Alert {
    Error { code: String, message: String },
}

impl Alert {
    pub fn api(e: &eni_types::ApiError) -> Self {
        Alert::Error {
            code: e.code().to_string(),
            message: e.to_string(),
        }
    }

    fn html(&self) -> String {
        match self {
            Alert::Error { code, message } => format!(
                "<div role=\"alert\" class=\"alert error\"><strong class=\"code\">{}</strong> \
                 <span class=\"message\">{}</span></div>",
                esc(code),
                esc(message)
            ),
        }
    }
}

/// The hidden CSRF field of every form that changes something.
pub fn csrf_field(s: &Session) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&s.csrf)
    )
}

/// A `<select>` with a label: `(value, text)` options, `selected` marked; `multiple` for a
/// multi-select; `blank` adds an empty first option with that text.
pub fn select(
    name: &str,
    label: &str,
    options: &[(String, String)],
    selected: &[&str],
    multiple: bool,
    blank: Option<&str>,
) -> String {
    let id = format!("f-{name}");
    let mut out = format!(
        "<div class=\"field\"><label for=\"{id}\">{}</label><select id=\"{id}\" name=\"{}\"{}>",
        esc(label),
        esc(name),
        if multiple { " multiple" } else { "" }
    );
    if let Some(b) = blank {
        let _ = write!(out, "<option value=\"\">{}</option>", esc(b));
    }
    for (v, t) in options {
        let sel = if selected.contains(&v.as_str()) {
            " selected"
        } else {
            ""
        };
        let _ = write!(out, "<option value=\"{}\"{sel}>{}</option>", esc(v), esc(t));
    }
    out.push_str("</select></div>");
    out
}

/// A text input with a label.
pub fn input(name: &str, label: &str, value: &str, kind: &str) -> String {
    let id = format!("f-{name}");
    format!(
        "<div class=\"field\"><label for=\"{id}\">{}</label><input id=\"{id}\" name=\"{}\" type=\"{}\" value=\"{}\"></div>",
        esc(label),
        esc(name),
        esc(kind),
        esc(value)
    )
}

/// A one-button form posting to `action` (with the CSRF field and `hidden` pairs).
pub fn button_form(
    s: &Session,
    action: &str,
    label: &str,
    hidden: &[(&str, &str)],
    class: &str,
) -> String {
    let mut out = format!(
        "<form method=\"post\" action=\"{}\" class=\"inline {}\">{}",
        esc(action),
        esc(class),
        csrf_field(s)
    );
    for (k, v) in hidden {
        let _ = write!(
            out,
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            esc(k),
            esc(v)
        );
    }
    let _ = write!(
        out,
        "<button type=\"submit\">{}</button></form>",
        esc(label)
    );
    out
}

/// A status as a badge; `data-status` lets the page's script follow a transitional one.
pub fn status(s: &str) -> String {
    let class = match s {
        "Available" | "InUse" | "Running" => "ok",
        "Attaching" | "Detaching" | "Deleting" | "Associating" | "Unassociating" | "Pending"
        | "Starting" | "Stopping" | "CreateFailed" => "busy",
        _ => "other",
    };
    format!(
        "<span class=\"badge {class}\" data-status=\"{}\">{}</span>",
        esc(s),
        esc(s)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_text_and_attributes() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(url("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn json_paths() {
        let v = serde_json::json!({"A": {"B": [1, 2], "C": "x"}});
        assert_eq!(text(&v, "A.C"), "x");
        assert_eq!(text(&v, "A.D"), "");
        assert_eq!(list(&v, "A.B").len(), 2);
        assert!(list(&v, "A.C").is_empty());
    }
}
