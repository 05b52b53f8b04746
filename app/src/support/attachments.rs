//! Ticket attachments. Server-only.
//!
//! Uploads stream to the data directory under a random, server-made name,
//! counting bytes; past the limit the upload stops, the partial file is
//! removed and the answer says what the limit is. Each upload becomes a
//! comment linking to it (internal when staff mark it so), so visibility,
//! live pages and e-mail follow the comment rules. Downloads are always
//! `application/octet-stream` with `Content-Disposition: attachment`,
//! `nosniff` and `Content-Security-Policy: sandbox`: nothing uploaded is ever
//! rendered from Portico's origin.

use std::path::PathBuf;

use axum::body::Body;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Response};
use entity::ticket_attachment;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::ssr::{post_attachment, post_mail, visible, StoredFile};
use crate::auth::ssr::session;
use crate::core::actor::Actor;
use crate::core::state::AppState;
use crate::error::AppError;

/// A display name safe in a header, a Markdown link and a file system:
/// the last path component, letters, digits and `. _ - ( )` and spaces, at
/// most 120 characters; anything else becomes `_`.
pub fn clean_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let mut out: String = last
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || " ._-()".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    out = out.trim().trim_start_matches('.').to_string();
    if out.chars().count() > 120 {
        out = out.chars().take(120).collect();
    }
    if out.is_empty() {
        "attachment".into()
    } else {
        out
    }
}

/// Removes a stored file unless kept: an upload abandoned half-way (client
/// gone, database error) leaves nothing behind.
struct Pending(Option<PathBuf>);

impl Pending {
    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A new file's name on disk: random, never the uploader's.
fn storage_name() -> String {
    use rand::RngCore as _;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// The most files one message by mail may bring.
pub const MAIL_FILES: usize = 20;

/// One file that arrived whole (a mail attachment): its name and bytes.
pub struct Arrived<'a> {
    pub name: &'a str,
    pub bytes: &'a [u8],
}

/// Checks `files` against the limits for one message — at most
/// [`MAIL_FILES`], none empty, all together within the attachment size
/// limit — and names what to fix when they are not met. Nothing is stored.
pub fn check_arrived(state: &AppState, files: &[Arrived<'_>]) -> Result<(), AppError> {
    let limit = state.settings.attachment_max_bytes;
    if files.len() > MAIL_FILES {
        return Err(AppError::invalid(
            "file",
            format!(
                "The message has {} attachments; at most {MAIL_FILES} are taken from one message.",
                files.len()
            ),
        ));
    }
    if let Some(f) = files.iter().find(|f| f.bytes.is_empty()) {
        let name = clean_name(f.name);
        return Err(AppError::invalid("file", format!("{name} is empty")));
    }
    let total: u64 = files.iter().map(|f| f.bytes.len() as u64).sum();
    if total > limit {
        return Err(AppError::invalid(
            "file",
            format!(
                "The attachments come to {} together; at most {} are taken from one message.",
                human(total),
                human(limit)
            ),
        ));
    }
    Ok(())
}

/// How many more bytes ticket `t` takes now, refusing when it holds its
/// quota of files or (for customers) its organization uploaded its day's
/// quota already.
async fn room(state: &AppState, t: &entity::ticket::Model, staff: bool) -> Result<u64, AppError> {
    room_in(state, Some(t.id), t.organization_id, staff, 1).await
}

/// Refuses `files` for a new ticket of organization `org_id` (by mail) when
/// they would not fit what its people may still upload today.
pub async fn fits_new_ticket(
    state: &AppState,
    org_id: i32,
    files: &[Arrived<'_>],
) -> Result<(), AppError> {
    if files.is_empty() {
        return Ok(());
    }
    let left = room_in(state, None, org_id, false, files.len() as u64).await?;
    let total: u64 = files.iter().map(|f| f.bytes.len() as u64).sum();
    if total > left {
        return Err(AppError::invalid(
            "file",
            "The organization's uploads for today have no room for these files.",
        ));
    }
    Ok(())
}

/// [`room`] for `adding` more files, on ticket `ticket_id` (`None`: a new one).
async fn room_in(
    state: &AppState,
    ticket_id: Option<i32>,
    org_id: i32,
    staff: bool,
    adding: u64,
) -> Result<u64, AppError> {
    let q = &state.settings.quotas;
    let files = match ticket_id {
        Some(id) => {
            ticket_attachment::Entity::find()
                .filter(ticket_attachment::Column::TicketId.eq(id))
                .count(&state.db)
                .await?
        }
        None => 0,
    };
    if !staff && files + adding > q.files_per_ticket {
        return Err(AppError::invalid(
            "file",
            format!("This ticket holds {files} files, and one ticket takes at most {}. Put them in an archive, or open a new ticket.", q.files_per_ticket),
        ));
    }
    if staff {
        return Ok(u64::MAX);
    }
    let since = chrono::Utc::now() - chrono::Duration::days(1);
    let today: Vec<i64> = ticket_attachment::Entity::find()
        .select_only()
        .column(ticket_attachment::Column::SizeBytes)
        .filter(ticket_attachment::Column::CreatedAt.gt(since))
        .filter(
            ticket_attachment::Column::TicketId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(entity::ticket::Column::Id)
                    .from(entity::ticket::Entity)
                    .and_where(entity::ticket::Column::OrganizationId.eq(org_id))
                    .to_owned(),
            ),
        )
        // What staff attach is not the customer's upload.
        .filter(
            ticket_attachment::Column::UploaderUserId.not_in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(entity::user::Column::Id)
                    .from(entity::user::Entity)
                    .and_where(entity::user::Column::StaffRole.is_not_null())
                    .to_owned(),
            ),
        )
        .into_tuple()
        .all(&state.db)
        .await?;
    let used: u64 = today.iter().map(|b| (*b).max(0) as u64).sum();
    let left = q.upload_bytes_per_day.saturating_sub(used);
    if left == 0 {
        return Err(AppError::invalid(
            "file",
            format!("Your organization uploaded {} in the last 24 hours, the most Portico takes in a day. Try again tomorrow, or ask your Portico contact.", human(used)),
        ));
    }
    Ok(left)
}

/// Stores `files` (already [`check_arrived`]) on ticket `t` with `text`, as
/// one comment by `actor` linking to each: one message, one comment.
pub async fn attach_arrived(
    state: &AppState,
    actor: &Actor,
    t: entity::ticket::Model,
    staff: bool,
    text: String,
    files: &[Arrived<'_>],
) -> Result<(), AppError> {
    check_arrived(state, files)?;
    if !files.is_empty() {
        let adding = files.len() as u64;
        let left = room_in(state, Some(t.id), t.organization_id, staff, adding).await?;
        let total: u64 = files.iter().map(|f| f.bytes.len() as u64).sum();
        if total > left {
            return Err(AppError::invalid(
                "file",
                "The ticket or the organization's uploads for today have no room for these files.",
            ));
        }
    }
    let io = |e: std::io::Error| {
        tracing::error!(error = %e, "attachment file");
        AppError::Internal
    };
    let mut stored = Vec::new();
    let mut pending = Vec::new();
    if !files.is_empty() {
        tokio::fs::create_dir_all(dir(state)).await.map_err(io)?;
    }
    for f in files {
        let storage = storage_name();
        let path = dir(state).join(&storage);
        pending.push(Pending(Some(path.clone())));
        let mut out = tokio::fs::File::create(&path).await.map_err(io)?;
        out.write_all(f.bytes).await.map_err(io)?;
        out.flush().await.map_err(io)?;
        persist(state, &out).await.map_err(io)?;
        stored.push(StoredFile {
            name: clean_name(f.name),
            storage,
            size: f.bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(f.bytes)),
        });
    }
    post_mail(state, actor, t, staff, text, stored).await?;
    pending.into_iter().for_each(Pending::keep);
    Ok(())
}

fn dir(state: &AppState) -> PathBuf {
    state.settings.data_dir.join("attachments")
}

/// On disk before its row commits (a power cut after the commit must not
/// leave a row without its file): the file's bytes, and its name in the folder.
async fn persist(state: &AppState, file: &tokio::fs::File) -> std::io::Result<()> {
    file.sync_all().await?;
    tokio::fs::File::open(dir(state)).await?.sync_all().await
}

pub(super) fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}

fn error(e: AppError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, e.to_string()).into_response()
}

async fn actor_of(state: &AppState, headers: &HeaderMap) -> Result<Actor, AppError> {
    let token =
        session::token_from_headers(&state.settings, headers).ok_or(AppError::Unauthenticated)?;
    session::resolve(&state.db, &state.settings, &token)
        .await?
        .ok_or(AppError::Unauthenticated)
}

/// Whether the request came from a plain HTML form (redirect back) or a script (JSON).
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// `POST /tickets/{id}/attachments` (multipart: `file`, optional `internal`).
pub async fn upload(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Response {
    let Ok(id) = id.parse::<i32>() else {
        return error(AppError::NotFound);
    };
    let result = async {
        let actor = actor_of(&state, &headers).await?;
        let (t, staff) = visible(&state.db, &actor, id).await?;
        if t.status == "closed" {
            return Err(AppError::invalid("file", "This ticket is closed. Open a new ticket and attach the file there."));
        }
        let room = room(&state, &t, staff).await?;
        let limit = room.min(state.settings.attachment_max_bytes);
        let mut internal = false;
        let mut stored: Option<(String, String, u64, String)> = None;
        let mut pending: Option<Pending> = None;
        tokio::fs::create_dir_all(dir(&state)).await.map_err(|e| {
            tracing::error!(error = %e, "attachment directory");
            AppError::Internal
        })?;
        while let Some(mut field) = form
            .next_field()
            .await
            .map_err(|_| AppError::invalid("file", "The upload was interrupted or malformed; try again."))?
        {
            match field.name() {
                Some("internal") => internal = true,
                Some("file") if stored.is_none() => {
                    let name = clean_name(field.file_name().unwrap_or(""));
                    let storage = storage_name();
                    let path = dir(&state).join(&storage);
                    pending = Some(Pending(Some(path.clone())));
                    let mut file = tokio::fs::File::create(&path).await.map_err(|e| {
                        tracing::error!(error = %e, "attachment file");
                        AppError::Internal
                    })?;
                    let mut size: u64 = 0;
                    let mut hash = Sha256::new();
                    let outcome: Result<(), AppError> = async {
                        while let Some(chunk) = field
                            .chunk()
                            .await
                            .map_err(|_| AppError::invalid("file", "The upload was interrupted; try again."))?
                        {
                            size += chunk.len() as u64;
                            if size > limit {
                                return Err(AppError::invalid(
                                    "file",
                                    if limit < state.settings.attachment_max_bytes {
                                        format!("Your organization can upload {} more today; attach a smaller file, or tomorrow.", human(limit))
                                    } else {
                                        format!("The file is larger than {}; attach a smaller file (or compress it).", human(limit))
                                    },
                                ));
                            }
                            hash.update(&chunk);
                            file.write_all(&chunk).await.map_err(|_| AppError::Internal)?;
                        }
                        file.flush().await.map_err(|_| AppError::Internal)?;
                        persist(&state, &file).await.map_err(|_| AppError::Internal)?;
                        Ok(())
                    }
                    .await;
                    if let Err(e) = outcome {
                        let _ = tokio::fs::remove_file(&path).await;
                        return Err(e);
                    }
                    if size == 0 {
                        let _ = tokio::fs::remove_file(&path).await;
                        return Err(AppError::invalid("file", "Choose a file to attach (this one is empty)."));
                    }
                    stored = Some((name, storage, size, hex::encode(hash.finalize())));
                }
                _ => {}
            }
        }
        let (name, storage, size, sha) =
            stored.ok_or_else(|| AppError::invalid("file", "Choose a file to attach."))?;
        if internal && !staff {
            let _ = tokio::fs::remove_file(dir(&state).join(&storage)).await;
            return Err(AppError::invalid("internal", "Only staff attach internal files."));
        }
        let ticket_id = t.id;
        let file = StoredFile { name, storage, size, sha256: sha };
        let attachment = post_attachment(&state, &actor, t, staff, file, internal).await?;
        if let Some(p) = pending {
            p.keep();
        }
        Ok::<_, AppError>((ticket_id, attachment, staff))
    }
    .await;
    match result {
        Ok((ticket, attachment, staff)) => {
            if wants_html(&headers) {
                let portal = if staff { "staff" } else { "support" };
                Response::builder()
                    .status(StatusCode::SEE_OTHER)
                    .header(
                        header::LOCATION,
                        format!("/{portal}/tickets/{ticket}?done=attached"),
                    )
                    .body(Body::empty())
                    .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
            } else {
                (StatusCode::OK, axum::Json(attachment)).into_response()
            }
        }
        Err(e) => error(e),
    }
}

/// `GET /tickets/{id}/attachments/{attachment}`: for whoever may see the
/// ticket (internal files: staff only), never rendered inline.
pub async fn download(
    State(state): State<AppState>,
    Path((id, attachment)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (Ok(id), Ok(attachment)) = (id.parse::<i32>(), attachment.parse::<i32>()) else {
        return error(AppError::NotFound);
    };
    let result = async {
        let actor = actor_of(&state, &headers).await?;
        let (_, staff) = visible(&state.db, &actor, id).await?;
        let a = ticket_attachment::Entity::find_by_id(attachment)
            .filter(ticket_attachment::Column::TicketId.eq(id))
            .one(&state.db)
            .await?
            .filter(|a| staff || !a.internal)
            .ok_or(AppError::NotFound)?;
        let file = tokio::fs::File::open(dir(&state).join(&a.storage_name))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, attachment = a.id, "attachment file missing");
                AppError::NotFound
            })?;
        Ok::<_, AppError>((a, file))
    }
    .await;
    match result {
        Ok((a, file)) => {
            // Streamed in 64 KB pieces: a large file is never held in memory.
            let chunks = futures::stream::unfold(file, |mut f| async move {
                use tokio::io::AsyncReadExt as _;
                let mut buf = vec![0u8; 64 * 1024];
                match f.read(&mut buf).await {
                    Ok(0) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        Some((Ok::<_, std::io::Error>(buf), f))
                    }
                    Err(e) => Some((Err(e), f)),
                }
            });
            let mut res = Response::new(Body::from_stream(chunks));
            h_len(&mut res, a.size_bytes);
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            // The name is already plain (see `clean_name`); the RFC 5987 form carries it whole.
            let ascii: String = a
                .file_name
                .chars()
                .map(|c| if c.is_ascii() { c } else { '_' })
                .collect();
            let encoded: String = a
                .file_name
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            if let Ok(v) = HeaderValue::from_str(&format!(
                "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
            )) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("sandbox; default-src 'none'"),
            );
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            res
        }
        Err(e) => error(e),
    }
}

fn h_len(res: &mut Response, len: i64) {
    if let Ok(v) = HeaderValue::from_str(&len.to_string()) {
        res.headers_mut().insert(header::CONTENT_LENGTH, v);
    }
}

#[cfg(test)]
mod tests {
    use super::clean_name;

    #[test]
    fn names_are_made_harmless() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\\\Users\\\\x\\\\report.pdf"), "report.pdf");
        assert_eq!(
            clean_name("a\r\nSet-Cookie: x=1.txt"),
            "a__Set-Cookie_ x=1.txt".replace('=', "_")
        );
        assert_eq!(clean_name("\"quoted\";.html"), "_quoted__.html");
        assert_eq!(clean_name(".htaccess"), "htaccess");
        assert_eq!(clean_name(""), "attachment");
        assert_eq!(clean_name("..."), "attachment");
        assert_eq!(clean_name("año [1].log"), "año _1_.log");
        assert_eq!(clean_name(&"x".repeat(500)).len(), 120);
    }
}
