//! The PDF of a document, drawn from the same [`DocumentView`] the page
//! shows, so numbers and totals cannot disagree. A small, dependency-free
//! PDF 1.4 writer: A4 pages, the standard Helvetica fonts (not embedded),
//! WinAnsi text, page breaks, and a correct cross-reference table.

use super::{label_of, DocumentView, STATUSES};

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 50.0;

#[derive(Clone, Copy)]
enum Font {
    Regular,
    Bold,
}

struct Page {
    ops: String,
}

struct Writer {
    pages: Vec<Page>,
    y: f32,
}

/// Text as WinAnsi bytes inside a PDF string literal.
fn pdf_string(s: &str) -> Vec<u8> {
    let mut out = vec![b'('];
    for ch in s.chars() {
        let b: u8 = match ch {
            '(' | ')' | '\\' => {
                out.push(b'\\');
                ch as u8
            }
            ' '..='~' => ch as u8,
            '\u{a0}'..='\u{ff}' => ch as u32 as u8,
            '€' => 0x80,
            '—' => 0x97,
            '–' => 0x96,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '…' => 0x85,
            '\t' => b' ',
            _ => b'?',
        };
        out.push(b);
    }
    out.push(b')');
    out
}

/// Helvetica's average advance is about half the size; good enough to wrap.
fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    let max = ((width / (size * 0.5)) as usize).max(10);
    let mut lines = Vec::new();
    for para in text.lines() {
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > max {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}

impl Writer {
    fn new() -> Self {
        Writer {
            pages: vec![Page { ops: String::new() }],
            y: HEIGHT - MARGIN,
        }
    }

    fn need(&mut self, height: f32) {
        if self.y - height < MARGIN {
            self.pages.push(Page { ops: String::new() });
            self.y = HEIGHT - MARGIN;
        }
    }

    fn text_at(&mut self, x: f32, font: Font, size: f32, s: &str) {
        let f = match font {
            Font::Regular => "F1",
            Font::Bold => "F2",
        };
        let y = self.y;
        let page = self.pages.last_mut().expect("a page");
        page.ops
            .push_str(&format!("BT /{f} {size} Tf {x:.1} {y:.1} Td "));
        // One char per WinAnsi byte; `finish` writes them back as bytes.
        page.ops.extend(pdf_string(s).into_iter().map(char::from));
        page.ops.push_str(" Tj ET\n");
    }

    /// Right-aligned at `right`, using the same width estimate as `wrap`.
    fn text_right(&mut self, right: f32, font: Font, size: f32, s: &str) {
        let w = s.chars().count() as f32 * size * 0.52;
        self.text_at(right - w, font, size, s);
    }

    fn line(&mut self, font: Font, size: f32, s: &str) {
        for l in wrap(s, size, WIDTH - 2.0 * MARGIN) {
            self.need(size + 4.0);
            self.y -= size + 4.0;
            self.text_at(MARGIN, font, size, &l);
        }
    }

    fn gap(&mut self, h: f32) {
        self.y -= h;
    }

    fn rule(&mut self) {
        self.need(8.0);
        self.y -= 6.0;
        let y = self.y;
        let page = self.pages.last_mut().expect("a page");
        page.ops.push_str(&format!(
            "0.6 w {MARGIN:.1} {y:.1} m {:.1} {y:.1} l S\n",
            WIDTH - MARGIN
        ));
    }

    fn row(&mut self, font: Font, cells: [&str; 5]) {
        let size = 9.0;
        let desc = wrap(cells[0], size, 240.0);
        for (i, d) in desc.iter().enumerate() {
            self.need(size + 4.0);
            self.y -= size + 4.0;
            self.text_at(MARGIN, font, size, d);
            if i == 0 {
                self.text_right(340.0, font, size, cells[1]);
                self.text_right(420.0, font, size, cells[2]);
                self.text_right(465.0, font, size, cells[3]);
                self.text_right(WIDTH - MARGIN, font, size, cells[4]);
            }
        }
    }

    fn pair(&mut self, font: Font, label: &str, value: &str) {
        self.need(14.0);
        self.y -= 14.0;
        self.text_right(430.0, font, 10.0, label);
        self.text_right(WIDTH - MARGIN, font, 10.0, value);
    }

    /// Serialises the pages into a PDF file.
    fn finish(self) -> Vec<u8> {
        // Objects: 1 catalog, 2 page tree, 3 Helvetica, 4 Helvetica-Bold,
        // then a page and its content stream per page.
        let n = self.pages.len();
        let mut objects: Vec<Vec<u8>> = Vec::new();
        objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
        let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 5 + 2 * i)).collect();
        objects
            .push(format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")).into_bytes());
        objects.push(
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
                .to_vec(),
        );
        objects.push(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".to_vec());
        for (i, p) in self.pages.iter().enumerate() {
            objects.push(
                format!(
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {WIDTH} {HEIGHT}] \
                     /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
                    6 + 2 * i
                )
                .into_bytes(),
            );
            // Every char is a single byte (ASCII operators, WinAnsi text).
            let body: Vec<u8> = p.ops.chars().map(|c| c as u32 as u8).collect();
            let mut s = format!("<< /Length {} >>\nstream\n", body.len()).into_bytes();
            s.extend_from_slice(&body);
            s.extend_from_slice(b"\nendstream");
            objects.push(s);
        }
        let mut out: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::with_capacity(objects.len());
        for (i, o) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            out.extend_from_slice(o);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
        );
        for off in offsets {
            out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        out
    }
}

pub fn render(v: &DocumentView) -> Vec<u8> {
    let mut w = Writer::new();
    w.line(Font::Bold, 18.0, &v.title);
    w.line(
        Font::Regular,
        10.0,
        &format!("Status: {}", label_of(STATUSES, &v.status)),
    );
    w.gap(8.0);
    w.line(Font::Bold, 11.0, &v.organization);
    if v.legal_name != v.organization {
        w.line(Font::Regular, 10.0, &v.legal_name);
    }
    for l in v.address.lines() {
        w.line(Font::Regular, 10.0, l);
    }
    if let Some(vat) = &v.vat_id {
        w.line(Font::Regular, 10.0, &format!("VAT ID: {vat}"));
    }
    w.gap(8.0);
    let mut facts = Vec::new();
    if let Some(d) = &v.issue_date {
        facts.push(format!("Issued: {d}"));
    }
    if let Some(d) = &v.due_date {
        facts.push(format!("Due: {d} ({} days)", v.payment_terms_days));
    }
    if let Some(d) = &v.valid_until {
        facts.push(format!("Valid until: {d}"));
    }
    if let Some(po) = &v.purchase_order {
        facts.push(format!("Purchase order: {po}"));
    }
    facts.push(format!("Currency: {}", v.currency));
    w.line(Font::Regular, 10.0, &facts.join("   "));
    if !v.narrative.is_empty() {
        w.gap(8.0);
        w.line(Font::Regular, 10.0, &v.narrative);
    }
    w.gap(10.0);
    w.row(
        Font::Bold,
        ["Description", "Quantity", "Unit price", "Tax", "Amount"],
    );
    w.rule();
    for l in &v.lines {
        w.row(
            Font::Regular,
            [
                &l.description,
                &l.quantity,
                &l.unit_price,
                &l.tax_rate,
                &l.net,
            ],
        );
    }
    w.rule();
    w.pair(Font::Regular, "Subtotal", &v.subtotal);
    if v.discount_percent != "0" {
        w.pair(
            Font::Regular,
            &format!("Discount ({}%)", v.discount_percent),
            &format!("-{}", v.discount),
        );
    }
    for t in &v.taxes {
        w.pair(
            Font::Regular,
            &format!("Tax {} on {}", t.rate, t.base),
            &t.tax,
        );
    }
    w.pair(Font::Bold, "Total", &v.total);
    if v.kind == "invoice" {
        w.pair(Font::Regular, "Paid", &v.paid);
        w.pair(Font::Bold, "Balance due", &v.balance);
    }
    if !v.payments.is_empty() {
        w.gap(10.0);
        w.line(Font::Bold, 11.0, "Payments");
        for p in &v.payments {
            w.line(
                Font::Regular,
                10.0,
                &format!("{}  {}  {}  {}", p.paid_on, p.method, p.amount, p.reference),
            );
        }
    }
    if let Some(d) = &v.decision {
        w.gap(8.0);
        w.line(Font::Regular, 10.0, d);
    }
    if !v.terms.is_empty() {
        w.gap(10.0);
        w.line(Font::Bold, 11.0, "Terms");
        w.line(Font::Regular, 10.0, &v.terms);
    }
    if !v.notes.is_empty() {
        w.gap(10.0);
        w.line(Font::Bold, 11.0, "Notes");
        w.line(Font::Regular, 10.0, &v.notes);
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w_pages(pdf: &[u8]) -> usize {
        pdf.windows(11).filter(|w| w == b"/Type /Page").count() - 1
    }

    #[test]
    fn strings_are_escaped_and_latin1() {
        assert_eq!(pdf_string("a(b)\\"), b"(a\\(b\\)\\\\)".to_vec());
        assert_eq!(pdf_string("é€✓"), vec![b'(', 0xe9, 0x80, b'?', b')']);
    }

    #[test]
    fn the_cross_reference_table_points_at_every_object() {
        let mut w = Writer::new();
        for i in 0..200 {
            w.line(Font::Regular, 10.0, &format!("line {i}"));
        }
        assert!(w.pages.len() > 1, "long documents break into pages");
        let pdf = w.finish();
        let tail = String::from_utf8_lossy(&pdf[pdf.len() - 40..]).to_string();
        let start: usize = tail
            .rsplit("startxref\n")
            .next()
            .and_then(|s| s.lines().next())
            .unwrap()
            .parse()
            .unwrap();
        let table = String::from_utf8_lossy(&pdf[start..]).to_string();
        assert!(table.starts_with("xref"));
        let entries: Vec<&str> = table
            .lines()
            .skip(3)
            .take_while(|l| l.ends_with(" n "))
            .collect();
        assert_eq!(entries.len(), 4 + 2 * w_pages(&pdf));
        for (i, line) in entries.iter().enumerate() {
            let off: usize = line[..10].parse().unwrap();
            assert!(
                pdf[off..].starts_with(format!("{} 0 obj", i + 1).as_bytes()),
                "object {} at {off}",
                i + 1
            );
        }
    }
}
