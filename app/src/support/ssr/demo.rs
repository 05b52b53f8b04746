//! Demo data: a few tickets for the demo organization, opened and answered
//! through the paths customers and staff use (clocks, events, mail, search),
//! so a first look at the Support Portal, the queue, the dashboards and
//! search shows something.

use super::*;

/// The active account `email` as an actor (no session).
async fn person(state: &AppState, email: &str) -> Result<Actor, AppError> {
    let u = user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let role = crate::auth::ssr::session::role_of(&state.db, &state.settings, &u)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Actor {
        user_id: u.id,
        session_id_hash: String::new(),
        name: u.name,
        email: u.email,
        role,
    })
}

async fn reply(
    state: &AppState,
    who: &Actor,
    id: i32,
    body: &str,
    internal: bool,
    status: Option<&str>,
) -> Result<(), AppError> {
    let t = ticket::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let staff = who.staff_role().is_some();
    post_comment(
        state,
        who,
        t,
        staff,
        body.into(),
        internal,
        status.map(str::to_owned),
    )
    .await
}

/// Three tickets of Acme Corp: one waiting on the customer (with an
/// internal note), one solved, one new.
pub async fn load_demo_tickets(state: &AppState) -> Result<(), AppError> {
    let tech1 = person(state, "tech1@acme.example").await?;
    let tech2 = person(state, "tech2@acme.example").await?;
    let agent = person(state, "agent@example.com").await?;
    let form = |subject: &str, description: &str, severity: &str| TicketForm {
        subject: subject.into(),
        description: description.into(),
        severity: severity.into(),
        release: String::new(),
        servers: Vec::new(),
    };
    let lagging = open_ticket_counted(
        state,
        &tech1,
        form(
            "Replica falls behind after the upgrade",
            "Since the upgrade the replica on `db2` falls further behind every hour; \
             replication restarts do not help.",
            "2",
        ),
        false,
    )
    .await?;
    reply(
        state,
        &agent,
        lagging,
        "Thanks — could you send the replication log from both nodes for the last hour?",
        false,
        Some("waiting"),
    )
    .await?;
    reply(
        state,
        &agent,
        lagging,
        "Looks like the known checkpoint issue fixed in the next maintenance release.",
        true,
        None,
    )
    .await?;
    let certificate = open_ticket_counted(
        state,
        &tech2,
        form(
            "Which files does a certificate renewal replace?",
            "Our TLS certificate expires next month. Which files do we replace, and is a restart needed?",
            "4",
        ),
        false,
    )
    .await?;
    reply(
        state,
        &agent,
        certificate,
        "Replace `server.crt` and `server.key` in the configuration folder, then reload; no restart is needed.",
        false,
        Some("solved"),
    )
    .await?;
    open_ticket_counted(
        state,
        &tech1,
        form(
            "Sign-in page slow under load",
            "At 09:00 when everyone signs in, the sign-in page takes 5–8 seconds.",
            "3",
        ),
        false,
    )
    .await?;
    Ok(())
}
