//! The index on its own: confinement, restricted text, replacing, counting, snippets, two openers.

use super::*;

fn entry(kind: &'static str, id: i32, org: i32, title: &str, body: &str) -> Entry {
    Entry {
        kind,
        id,
        org: Some(org),
        people: vec![id * 10],
        status: "open".into(),
        title: title.into(),
        body: body.into(),
        restricted: format!("secret{id}"),
    }
}

fn find<'a>(words: &'a [String], kinds: &'a [&'static str]) -> Find<'a> {
    Find {
        words,
        kinds,
        restricted: false,
        org: None,
        person: None,
        status: None,
        offset: 0,
        limit: 10,
    }
}

#[test]
fn words_fold_as_the_index_does() {
    assert_eq!(words("Łódź  SERVER-12 server"), ["lodz", "server", "12"]);
    assert!(words("  ,; ").is_empty());
    assert_eq!(words(&"w ".repeat(3)).len(), 1);
    let many: String = (0..40).map(|i| format!("w{i} ")).collect();
    assert_eq!(words(&many).len(), MAX_WORDS);
}

#[test]
fn finds_within_its_confinement_only() {
    let dir = std::env::temp_dir().join(format!("portico-search-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let s = Opened::open(&dir).unwrap();
    assert!(s.writes());
    assert!(!s.is_complete());
    s.write(
        &[],
        vec![
            entry(
                "ticket",
                1,
                1,
                "Disk full on Łódź node",
                "the backup failed",
            ),
            entry("ticket", 2, 2, "Backup slow", "disk is fine"),
            entry("organization", 1, 1, "Acme", "disk"),
        ],
        r#"{"complete":true}"#,
    )
    .unwrap();
    assert!(s.is_complete());
    let w = words("disk");
    let all = s.find(&find(&w, &["ticket", "organization"])).unwrap();
    assert_eq!(all.total, 3);
    // The title weighs most.
    assert_eq!(all.hits[0], ("ticket".into(), 1));
    let tickets = s.find(&find(&w, &["ticket"])).unwrap();
    assert_eq!(tickets.total, 2);
    let org2 = s
        .find(&Find {
            org: Some(2),
            ..find(&w, &["ticket"])
        })
        .unwrap();
    assert_eq!(org2.hits, [("ticket".to_string(), 2)]);
    let person = s
        .find(&Find {
            person: Some(10),
            ..find(&w, &["ticket"])
        })
        .unwrap();
    assert_eq!(person.hits, [("ticket".to_string(), 1)]);
    // Every word must occur; restricted text only when asked.
    assert_eq!(
        s.find(&find(&words("disk lodz"), &["ticket"]))
            .unwrap()
            .total,
        1
    );
    let secret = words("secret1");
    assert_eq!(s.find(&find(&secret, &["ticket"])).unwrap().total, 0);
    let asked = Find {
        restricted: true,
        ..find(&secret, &["ticket"])
    };
    assert_eq!(s.find(&asked).unwrap().total, 1);
    // Replacing an entry drops its old words.
    let done = r#"{"complete": true}"#;
    s.write(
        &[("organization", 1)],
        vec![entry("ticket", 2, 2, "Slow", "")],
        done,
    )
    .unwrap();
    assert_eq!(
        s.find(&find(&w, &["ticket", "organization"]))
            .unwrap()
            .total,
        1
    );
    let slow = words("slow");
    let counted = s
        .find_counting(&find(&slow, &["ticket"]), &["ticket", "organization"])
        .unwrap();
    assert_eq!(counted.by_kind, [("ticket", 1), ("organization", 0)]);
    assert_eq!(counted.total, 1);
    let dw = words("disk");
    let both = s
        .find_counting(&find(&dw, &["organization"]), &["ticket", "organization"])
        .unwrap();
    assert_eq!(both.by_kind, [("ticket", 1), ("organization", 0)]);
    assert_eq!((both.total, both.hits.len()), (0, 0), "counted, not found");
    let snip = s
        .snippet(&words("backup"), Text::Body, "so the Backup failed", 100)
        .unwrap();
    assert_eq!(&snip.text[snip.marks[0].clone()], "Backup");
    assert!(!snip.cut_before && !snip.cut_after, "{snip:?}");
    let long = format!("{} backup {}", "before ".repeat(40), "after ".repeat(40));
    let snip = s.snippet(&words("backup"), Text::Body, &long, 60).unwrap();
    assert!(snip.cut_before && snip.cut_after, "{snip:?}");
    assert!(s
        .snippet(&words("zzz"), Text::Body, "nothing", 100)
        .is_none());
    // A second opener of the same directory reads what the first writes.
    let other = Opened::open(&dir).unwrap();
    assert!(!other.writes());
    assert!(other.is_complete());
    assert!(!other.try_to_write(), "the first still writes");
    // When the writer goes, the reader takes over.
    drop(s);
    assert!(other.try_to_write());
    other
        .write(&[], vec![entry("ticket", 9, 1, "Taken over", "")], done)
        .unwrap();
    assert_eq!(
        other
            .find(&find(&words("taken"), &["ticket"]))
            .unwrap()
            .total,
        1
    );
    drop(other);
    let _ = std::fs::remove_dir_all(&dir);
}
