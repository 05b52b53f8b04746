//! Comments and descriptions are Markdown, rendered on the server and
//! sanitised twice: raw HTML in the source is shown as text (never passed
//! through), and the produced HTML goes through ammonia's allow-list (no
//! scripts, styles, event handlers, frames, svg or math; links only to
//! http, https and mailto, opened with `rel="noopener noreferrer nofollow"`).

use pulldown_cmark::{html, Event, Options, Parser};

pub fn render(source: &str) -> String {
    let parser = Parser::new_ext(
        source,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .map(|event| match event {
        // Raw HTML becomes visible text.
        Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
        e => e,
    });
    let mut out = String::with_capacity(source.len() * 2);
    html::push_html(&mut out, parser);
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
    use super::{assert_harmless, render, XSS_CORPUS};

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
    fn nothing_in_the_corpus_survives() {
        for input in XSS_CORPUS {
            assert_harmless(&render(input));
        }
    }
}
