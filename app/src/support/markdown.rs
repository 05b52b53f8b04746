//! Comments and descriptions are Markdown, rendered on the server and
//! sanitised twice: raw HTML in the source is shown as text (never passed
//! through), and the produced HTML goes through ammonia's allow-list (no
//! scripts, styles, event handlers, frames, svg or math; links only to
//! http, https and mailto, opened with `rel="noopener noreferrer nofollow"`).

use pulldown_cmark::{html, Event, Options, Parser, Tag};

/// The most one text renders to, counted before escaping. Markdown can
/// multiply its size (every table cell or list item is tags around little
/// text; pulldown-cmark itself bounds link-reference expansion), and every
/// page and live message carries the result.
const MAX_RENDERED: usize = 256 * 1024;

/// Shown where a text was cut at [`MAX_RENDERED`].
const CUT: &str = "<p><em>(The rest is too long to show.)</em></p>";

pub fn render(source: &str) -> String {
    let mut budget = MAX_RENDERED;
    let mut events = Vec::new();
    // Ends of the elements open so far: a cut closes them, so the notice
    // lands after the text and not inside (or, for tables, before) it.
    let mut open = Vec::new();
    let mut cut = false;
    for event in Parser::new_ext(
        source,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    ) {
        let event = match event {
            // Raw HTML becomes visible text.
            Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
            e => e,
        };
        let cost = match &event {
            Event::Text(t) | Event::Code(t) => t.len(),
            Event::Start(Tag::Link {
                dest_url, title, ..
            })
            | Event::Start(Tag::Image {
                dest_url, title, ..
            }) => dest_url.len() + title.len() + 32,
            _ => 16,
        };
        if cost > budget {
            cut = true;
            break;
        }
        budget -= cost;
        match &event {
            Event::Start(tag) => open.push(tag.to_end()),
            Event::End(_) => {
                open.pop();
            }
            _ => {}
        }
        events.push(event);
    }
    events.extend(open.into_iter().rev().map(Event::End));
    let mut out = String::with_capacity(source.len() * 2);
    html::push_html(&mut out, events.into_iter());
    if cut {
        out.push_str(CUT);
    }
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&out)
        .to_string()
}

/// Markup that must never come out of [`render`] able to run (tests use it).
pub const XSS_CORPUS: &[&str] = &[
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><circle/></svg>",
    "<math><mtext><script>alert(1)</script></mtext></math>",
    "<iframe src=\"https://evil.example\"></iframe>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![img](javascript:alert(1))",
    "<style>body{display:none}</style>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<object data=\"x.swf\"></object><embed src=\"x.swf\">",
    "<form action=\"https://evil.example\"><input name=p></form>",
    "<p onclick=\"alert(1)\">x</p>",
    "[x](vbscript:msgbox(1))",
    "<details open ontoggle=alert(1)>",
    "`<script>alert(1)</script>`",
    "<<script>script>alert(1)<</script>/script>",
    "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example\">",
];

/// Checks every live tag of `html` (text is escaped, so every `<` starts one)
/// and panics on anything that could run. For tests.
pub fn assert_harmless(html: &str) {
    for tag in html
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or("").to_lowercase())
    {
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        assert!(
            ![
                "script", "svg", "math", "iframe", "style", "object", "embed", "form", "input",
                "meta", "img"
            ]
            .contains(&name.as_str())
                || (name == "img" && !tag.contains("javascript:")),
            "<{tag}> survived in {html}"
        );
        for attr in tag.split_whitespace().skip(1) {
            assert!(
                !attr.starts_with("on") && !attr.starts_with("style"),
                "attribute {attr} survived in {html}"
            );
            for scheme in ["javascript:", "vbscript:", "data:"] {
                assert!(!attr.contains(scheme), "{scheme} survived in {html}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{assert_harmless, render, CUT, MAX_RENDERED, XSS_CORPUS};

    #[test]
    fn markdown_is_rendered() {
        let h = render("**bold** and `code`\n\n- a\n- b\n\n[docs](https://example.com/x)");
        assert!(h.contains("<strong>bold</strong>") && h.contains("<code>code</code>"));
        assert!(h.contains("<li>a</li>"));
        assert!(
            h.contains(
                r#"<a href="https://example.com/x" rel="noopener noreferrer nofollow">docs</a>"#
            ),
            "{h}"
        );
    }

    #[test]
    fn a_text_that_multiplies_when_rendered_is_cut() {
        // 50,000 characters (the longest comment) of table rows: tags
        // around one letter each, ~5x the source when rendered whole.
        let source = format!("|a|\n|-|\n{}", "|b|\n".repeat(12_000));
        assert!(source.len() <= 50_000);
        let h = render(&source);
        assert!(h.len() < 2 * MAX_RENDERED, "{} bytes", h.len());
        assert!(h.ends_with(CUT), "the cut is said");
        assert!(
            h.starts_with("<table><thead><tr><th>a</th>"),
            "the start is rendered"
        );
        // Ordinary texts are whole, long ones included.
        assert!(!render("**fine**").contains("too long"));
        let prose = "A sentence of a long but ordinary comment. ".repeat(1_100);
        assert!(!render(&prose).contains("too long"));
        // pulldown-cmark already bounds link-reference expansion.
        let url = format!("https://example.com/{}", "x".repeat(20_000));
        let refs = format!("[a]: {url}\n\n{}", "[a] ".repeat(7_400));
        assert!(render(&refs).len() < 2 * MAX_RENDERED);
    }

    #[test]
    fn nothing_in_the_corpus_survives() {
        for input in XSS_CORPUS {
            assert_harmless(&render(input));
        }
    }
}
