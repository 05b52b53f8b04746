//! `server backup --to FOLDER`: a consistent copy of everything Portico
//! keeps, taken while it runs.
//!
//! The database first, as one snapshot (SQLite `VACUUM INTO`, PostgreSQL
//! `pg_dump`, both a single read transaction), then the uploaded files.
//! An attachment's file is written before its row is committed and never
//! changed afterwards, so every file the copied database names is there.

use std::path::Path;

use anyhow::Context as _;
use sea_orm::ConnectionTrait;

use crate::config::Config;

/// Takes the backup; returns what was written, for the operator.
pub async fn run(config: &Config, to: &Path) -> anyhow::Result<String> {
    anyhow::ensure!(
        !to.exists(),
        "{} already exists: name a new folder for the backup",
        to.display()
    );
    std::fs::create_dir_all(to)
        .with_context(|| format!("creating the backup folder {}", to.display()))?;
    let url = config.database_url();
    let database = if url.starts_with("sqlite:") {
        let target = to.join("portico.db");
        let path = target
            .to_str()
            .context("the backup folder's path must be valid UTF-8")?;
        let db = crate::connect(&url).await?;
        db.execute_unprepared(&format!("VACUUM INTO '{}'", path.replace('\'', "''")))
            .await
            .context("copying the SQLite database")?;
        let _ = db.close().await;
        target
    } else {
        let target = to.join("portico.pgdump");
        let (url, password) = without_password(&url);
        let mut dump = tokio::process::Command::new("pg_dump");
        dump.args(["--format=custom", "--no-owner", "--file"])
            .arg(&target)
            .arg(format!("--dbname={url}"));
        // Not on the command line, where any local user could read it.
        if let Some(p) = password {
            dump.env("PGPASSWORD", p);
        }
        let status = dump
            .status()
            .await
            .context("running pg_dump (install PostgreSQL's client tools)")?;
        anyhow::ensure!(status.success(), "pg_dump failed ({status})");
        target
    };
    let files = copy_files(
        &config.data_dir.join("attachments"),
        &to.join("attachments"),
    )?;
    Ok(format!(
        "Backed up the database to {} and {files} uploaded file(s) to {}",
        database.display(),
        to.join("attachments").display()
    ))
}

/// Copies the files of `from` (a flat folder; absent means none) into `to`.
fn copy_files(from: &Path, to: &Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(to)?;
    let entries = match std::fs::read_dir(from) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).with_context(|| format!("reading {}", from.display())),
    };
    let mut n = 0;
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))
                .with_context(|| format!("copying {}", entry.path().display()))?;
            n += 1;
        }
    }
    Ok(n)
}

/// `postgres://user:secret@host/db` → (`postgres://user@host/db`, `secret`).
fn without_password(url: &str) -> (String, Option<String>) {
    if let (Some(s), Some(at)) = (url.find("://"), url.rfind('@')) {
        if at > s {
            let creds = &url[s + 3..at];
            if let Some(c) = creds.find(':') {
                let user = &creds[..c];
                let password = &creds[c + 1..];
                return (
                    format!("{}{user}{}", &url[..s + 3], &url[at..]),
                    Some(password.to_owned()),
                );
            }
        }
    }
    (url.to_owned(), None)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_password_leaves_the_url() {
        assert_eq!(
            super::without_password("postgres://u:s3cr@t@h:5432/db"),
            ("postgres://u@h:5432/db".into(), Some("s3cr@t".into()))
        );
        assert_eq!(
            super::without_password("postgres://u@h/db"),
            ("postgres://u@h/db".into(), None)
        );
    }
}
